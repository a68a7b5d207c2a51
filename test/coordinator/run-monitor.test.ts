/**
 * The run monitor's drift events on planted traces (real embedded generator for the anchor set, a deterministic fake
 * judge): policy rewards that move write no `drift` event by default (`policyRewards: gauge`) and do with 'trip'; a
 * reward model that scores the anchors differently trips the anchor PSI; the checkpointed state — including one saved
 * before anchor Page-Hinkley existed — resumes, and a damaged one is refused with CHECKPOINT_INVALID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import type { Config } from '../../src/config/index.js';
import type { JudgeClient, RewardSettings } from '../../src/coordinator/reward-collector.js';
import { RunMonitor } from '../../src/coordinator/run-monitor.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { parseStepRecord } from '../../src/metrics/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../../src/reward-client/pool.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';

/** The fake judge, or — once `swapped` — another "RM" that scores every video v as v² (same order, other spread). */
class SwappableJudge implements JudgeClient {
  swapped = false;
  readonly #inner = new FakeJudge();
  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const r = await this.#inner.judge(request);
    if (!this.swapped) return r;
    const sq = (x: number | undefined): number => (x ?? NaN) ** 2;
    return {
      ...r,
      verdict: {
        ...r.verdict,
        rmVersion: 'fake-v2',
        scores: r.verdict.scores.map((s) => ({ TA: sq(s.TA), MQ: sq(s.MQ), VQ: sq(s.VQ), overall: sq(s.overall) })),
      },
    };
  }
}

const settings: RewardSettings = {
  mode: 'pointwise',
  plan: { kind: 'all-pairs' },
  bothOrders: false,
  aggregation: 'win-rate',
  weights: { TA: 1, MQ: 0.25, VQ: 0.25, overall: 0 },
  combination: 'sum-then-normalise',
  judgeOptions: {},
};

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-run-monitor-'));
let generator: EmbeddedGenerator;
const configFor = (policyRewards: 'gauge' | 'trip'): Config =>
  v1Config({
    monitoring: {
      drift: { policyRewards, referenceSteps: 2, recentSteps: 2, pageHinkley: { minSamples: 2 }, anchors: { every: 4, prompts: 3, groupSize: 4 } },
    },
  });

beforeAll(async () => {
  await chooseTensorBackend('auto');
  const config = configFor('gauge');
  generator = await EmbeddedGenerator.create({
    config,
    trainer: constantTrainerOptionsFrom(config),
  });
});
afterAll(async () => {
  await generator.close();
  rmSync(root, { recursive: true, force: true });
});

interface Event {
  readonly kind: string;
  readonly detail: Record<string, unknown>;
}

/** Starts a monitor on `runDir` (same anchor set across monitors of one run dir) and returns it with its events. */
async function monitor(runDir: string, policyRewards: 'gauge' | 'trip', judge: JudgeClient, restored: unknown = null, firstStep = 1) {
  const events: Event[] = [];
  const m = new RunMonitor({ config: configFor(policyRewards), runDir, generator, judge, settings, metrics: null, log: silentLogger() });
  await m.start({ firstStep, restored, event: (kind, detail) => events.push({ kind, detail }) });
  return { m, events };
}

/** Step s: 16 videos whose rewards rise with the step (a policy that learns fast). */
const step = (s: number, version = 'fake-v1') => {
  const rewards = Array.from({ length: 16 }, (_, i) => 0.1 * s + 0.01 * i);
  return { step: s, metrics: parseStepRecord({ step: s }), rewardsByDimension: { combined: rewards, TA: rewards }, rmVersions: [version] };
};

const drifts = (events: readonly Event[]): string[] =>
  events.filter((e) => e.kind === 'drift').map((e) => [e.detail.step, e.detail.detector, e.detail.source ?? ''].map(String).join(' '));

describe('RunMonitor drift', () => {
  it("moving policy rewards: the PSI gauge moves, no drift event with 'gauge' (default), policy trips with 'trip'", async () => {
    const gauge = await monitor(join(root, 'a'), 'gauge', new SwappableJudge());
    const trip = await monitor(join(root, 'a'), 'trip', new SwappableJudge());
    const lines: Record<string, unknown>[] = [];
    for (let s = 1; s <= 8; s++) {
      lines.push(await gauge.m.observeStep(step(s)));
      await trip.m.observeStep(step(s));
    }
    expect(drifts(gauge.events)).toEqual([]);
    const tripped = drifts(trip.events);
    expect(tripped.length).toBeGreaterThan(0);
    expect(tripped.every((t) => t.endsWith(' policy'))).toBe(true);
    const psi = lines.map((l) => (l.drift as { psi: Record<string, number> }).psi.combined ?? 0);
    expect(Math.max(...psi)).toBeGreaterThan(1);
    // The anchor passes (start, steps 4 and 8) on the unchanged judge: PSI 0 on every dimension.
    const anchors = gauge.events.filter((e) => e.kind === 'anchors');
    expect(anchors.map((e) => e.detail.step)).toEqual([0, 4, 8]);
    for (const a of anchors) expect(Object.values(a.detail.psi as Record<string, number>).every((v) => v === 0)).toBe(true);
    expect((lines[3]?.drift as Record<string, unknown>).anchor_psi).toEqual({ combined: 0, TA: 0, MQ: 0, VQ: 0, overall: 0 });
  });

  it('a changed RM on the anchors trips the anchor PSI at the version change; a resumed run (old or new state) continues', async () => {
    const judge = new SwappableJudge();
    const { m, events } = await monitor(join(root, 'b'), 'gauge', judge);
    for (let s = 1; s <= 3; s++) await m.observeStep(step(s));
    const saved = JSON.parse(JSON.stringify(m.checkpointState())) as { drift: Record<string, unknown>; lastVersions: string[] };
    judge.swapped = true;
    await m.observeStep(step(4, 'fake-v2'));
    const anchorTrips = drifts(events);
    expect(anchorTrips).toContain('4 anchor_psi anchors');
    expect(events.find((e) => e.kind === 'anchors' && e.detail.step === 4)?.detail.reason).toBe('rm_version_change');

    // Resume from the step-3 checkpoint, once as saved and once as the code before issue 21 saved it (no anchorPh):
    // both trip the anchor PSI on the changed RM at step 4, as the uninterrupted run did.
    const { anchorPh, ...old } = saved.drift;
    expect(anchorPh).toBeDefined();
    for (const restored of [saved, { ...saved, drift: old }]) {
      const r = await monitor(join(root, 'b'), 'gauge', judge, restored, 4);
      expect(r.events.filter((e) => e.kind === 'anchors')).toEqual([]); // no new first pass on resume
      await r.m.observeStep(step(4, 'fake-v2'));
      expect(drifts(r.events)).toContain('4 anchor_psi anchors');
    }
    await expect(monitor(join(root, 'b'), 'gauge', judge, { ...saved, drift: { ...saved.drift, windows: 3 } }, 4)).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
      details: { field: 'drift.windows' },
    });
  });
});
