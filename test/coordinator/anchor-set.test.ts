import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import {
  ANCHORS_DIR,
  buildAnchorSet,
  chooseAnchorPrompts,
  ensureAnchorSet,
  judgeAnchors,
  loadAnchorSet,
  saveAnchorSet,
} from '../../src/coordinator/anchor-set.js';
import type { RewardSettings } from '../../src/coordinator/reward-collector.js';
import {
  EmbeddedGenerator,
  constantTrainerOptionsFrom,
  type GenerateRequest,
  type GenerateResult,
  type RolloutAdvantages,
  type TrainableGenerator,
  type UpdateStats,
} from '../../src/generator/index.js';
import { DriftMonitor } from '../../src/metrics/drift/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge, redness } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';

/** The real embedded generator, recording every call. */
class RecordingGenerator implements TrainableGenerator {
  readonly name = 'embedded';
  readonly calls: string[] = [];
  constructor(private readonly inner: EmbeddedGenerator) {}
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const r = await this.inner.generate(request);
    this.calls.push(`generate:${r.rolloutId}`);
    return r;
  }
  update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    this.calls.push('update');
    return this.inner.update(rollouts);
  }
  async discard(ids: readonly string[]): Promise<void> {
    this.calls.push(`discard:${ids.join(',')}`);
    await this.inner.discard(ids);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-anchors-'));
let config: Config;
let generator: RecordingGenerator;
beforeAll(async () => {
  await chooseTensorBackend('auto');
  config = v1Config({ monitoring: { drift: { anchors: { prompts: 3, groupSize: 2 } } } });
  generator = new RecordingGenerator(
    await EmbeddedGenerator.create({
      config,
      trainer: constantTrainerOptionsFrom(config),
    }),
  );
});
afterAll(async () => {
  await generator.close();
  rmSync(root, { recursive: true, force: true });
});

const settings = (mode: 'pointwise' | 'pairwise'): RewardSettings => ({
  mode,
  plan: { kind: 'all-pairs' },
  bothOrders: false,
  aggregation: 'win-rate',
  weights: { TA: 1, MQ: 0.25, VQ: 0.25, overall: 0 },
  combination: 'sum-then-normalise',
  judgeOptions: {},
});

describe('anchor set', () => {
  it('is generated once with the run generator (rollout discarded, no update), saved, and reloaded byte for byte', async () => {
    const dir = join(root, 'run');
    const set = await ensureAnchorSet(dir, generator, config);
    expect(set.manifest.prompts).toEqual(chooseAnchorPrompts(config, 3));
    expect(set.manifest.videos.map((v) => v.id)).toEqual(['p0-m0', 'p0-m1', 'p1-m0', 'p1-m1', 'p2-m0', 'p2-m1']);
    expect(set.manifest.videos.every((v) => v.latent?.length === 35)).toBe(true);
    const [gen, discard, ...rest] = generator.calls;
    expect(gen).toMatch(/^generate:/);
    expect(discard).toBe(`discard:${gen?.slice('generate:'.length) ?? ''}`);
    expect(rest).toEqual([]);
    expect(existsSync(join(dir, ANCHORS_DIR, 'anchors.json'))).toBe(true);
    const loaded = loadAnchorSet(dir);
    expect(loaded?.manifest).toEqual(set.manifest);
    loaded?.videos.forEach((v, i) => expect(Buffer.from(v.data).equals(Buffer.from(set.videos[i]?.data ?? []))).toBe(true));
    // A resumed run finds the saved set and does not generate again.
    const again = await ensureAnchorSet(dir, generator, config);
    expect(generator.calls).toHaveLength(2);
    expect(again.manifest).toEqual(set.manifest);
  });

  it('is re-judged through collectGroupRewards: per-video scores by dimension, means, versions; failures are NaN and counted', async () => {
    const set = await buildAnchorSet(generator, {
      prompts: ['a red circle staying still on a gray background', 'a blue square moving up fast on a beige background'],
      groupSize: 3,
      seed: 11,
    });
    const pass = await judgeAnchors(new FakeJudge(), set, settings('pointwise'), { step: 0 });
    const norm = (x: number): number => Math.min(1, Math.max(0, (x + 255) / 510));
    expect(pass.videoIds).toEqual(set.manifest.videos.map((v) => v.id));
    expect(pass.scores.TA).toEqual(set.videos.map((v) => norm(redness(v))));
    // combined = TA + 0.25·MQ + 0.25·VQ, and the fake judge gives the same score on every dimension.
    pass.scores.combined?.forEach((c, i) => expect(c).toBeCloseTo(1.5 * (pass.scores.TA?.[i] ?? NaN), 12));
    expect(pass.means.TA).toBeCloseTo(set.videos.reduce((s, v) => s + norm(redness(v)), 0) / 6, 12);
    expect(pass).toMatchObject({ step: 0, rmVersions: ['fake-v1'], judgments: 2, failedJudgments: 0 });
    // The second group's request fails: its three videos are NaN, the mean is over the first group.
    const failing = await judgeAnchors(new FakeJudge((_call, request) => request.prompt.startsWith('a blue')), set, settings('pointwise'), { step: 5 });
    expect(failing.failedJudgments).toBe(1);
    expect(failing.scores.TA?.slice(3).every(Number.isNaN)).toBe(true);
    expect(failing.means.TA).toBeCloseTo(set.videos.slice(0, 3).reduce((s, v) => s + norm(redness(v)), 0) / 3, 12);
    // Pairwise: the same comparisons every pass (one judging seed, whatever the step), win-rates in [0, 1]; passes on
    // the same judge give the same scores (τ = 1, no shift, PSI 0, Page-Hinkley 0).
    const a = await judgeAnchors(new FakeJudge(), set, settings('pairwise'), { step: 0 });
    const b = await judgeAnchors(new FakeJudge(), set, settings('pairwise'), { step: 25 });
    expect(a.judgments).toBe(6);
    expect(b.scores).toEqual(a.scores);
    const monitor = new DriftMonitor(config.monitoring.drift);
    monitor.observeAnchors(a);
    const report = monitor.observeAnchors(b);
    expect(report.kendallTau.TA).toBe(1);
    expect(report.meanShift.TA).toBe(0);
    expect(report.psi).toEqual({ combined: 0, TA: 0, MQ: 0, VQ: 0, overall: 0 });
    expect(report.pageHinkley).toEqual({ combined: 0, TA: 0, MQ: 0, VQ: 0, overall: 0 });
    expect(report.trips).toEqual([]);
  });

  it('rejects a damaged anchor set with CHECKPOINT_INVALID', async () => {
    const dir = join(root, 'damaged');
    const set = await buildAnchorSet(generator, { prompts: ['a red circle staying still on a gray background'], groupSize: 2, seed: 3 });
    saveAnchorSet(dir, set);
    const video = join(dir, ANCHORS_DIR, 'p0-m1.rgb.gz');
    const good = readFileSync(video);
    writeFileSync(video, good.subarray(0, 100));
    expect(() => loadAnchorSet(dir)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }) as Error);
    writeFileSync(video, good);
    expect(loadAnchorSet(dir)?.videos).toHaveLength(2);
    const manifest = join(dir, ANCHORS_DIR, 'anchors.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { videos: { frameCount: number }[] };
    m.videos[0] = { ...m.videos[0], frameCount: 7 };
    writeFileSync(manifest, JSON.stringify(m));
    expect(() => loadAnchorSet(dir)).toThrow(/does not match its manifest entry/);
    writeFileSync(manifest, '{"format": 2}');
    expect(() => loadAnchorSet(dir)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_INVALID' }) as Error);
    expect(loadAnchorSet(join(root, 'none'))).toBeNull();
  });
});
