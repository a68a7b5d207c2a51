import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { Coordinator, loadResumeState } from '../../src/coordinator/coordinator.js';
import { worldRun } from '../../src/job/index.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { silentLogger } from '../../src/common/logger.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';
import { expectDeclaredStepRecords } from '../metrics/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-coord-'));
beforeAll(async () => {
  await chooseTensorBackend('auto');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function config(overrides: Record<string, unknown> = {}): Config {
  return v1Config({
    reward: { mode: 'pairwise' },
    training: {
      groupSize: 4,
      promptsPerStep: 2,
      steps: 6,
      evalEvery: 0,
      evalPrompts: 16,
      checkpointEvery: 3,
      videosEvery: 0,
      tracesEvery: 2,
      pipelineStaleness: 1,
      ...overrides,
    },
  });
}

async function generatorFor(c: Config, runDir: string | null): Promise<EmbeddedGenerator> {
  const resume = runDir === null ? null : loadResumeState(runDir);
  const g = await EmbeddedGenerator.create({
    config: c,
    trainer: constantTrainerOptionsFrom(c),
    ...(resume?.optimizer == null ? {} : { optimizerState: resume.optimizer }),
  });
  if (resume !== null) g.policy.setParameters(resume.lora);
  return g;
}

async function train(
  c: Config,
  runDir: string,
  judge: FakeJudge,
  steps: number,
  resume = false,
): Promise<{ generator: EmbeddedGenerator; summary: Awaited<ReturnType<Coordinator['runLoop']>> }> {
  const generator = await generatorFor(c, resume ? runDir : null);
  const coordinator = await Coordinator.create({ config: c, runDir, generator, ...worldRun(c, generator), judge, log: silentLogger(), steps, resume });
  const summary = await coordinator.runLoop();
  return { generator, summary };
}

const metricsOf = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('coordinator', () => {
  it('runs steps, writes metrics/events/traces/checkpoints, and the first update is on-policy without pipelining', async () => {
    const dir = join(root, 'basic');
    const { generator, summary } = await train(config({ pipelineStaleness: 0 }), dir, new FakeJudge(), 3);
    await generator.close();
    expect(summary.steps).toBe(3);
    expectDeclaredStepRecords(metricsOf(dir));
    const m = metricsOf(dir).filter((r) => (r.step as number) > 0);
    expect(m.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of m) {
      expect(r.onPolicyMaxRatioDeviation as number).toBeLessThan(1e-4);
      expect(r.judgments).toBe(12); // 2 groups × C(4, 2)
      expect(typeof r.goldAccuracy).toBe('number');
    }
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8');
    expect(events).toContain('"event":"start"');
    expect(events).toContain('"event":"checkpoint"');
    expect(readFileSync(join(dir, 'traces.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8'))).toEqual({ step: 3, dir: 'step-000003' });
  });

  it('masks failed judgments and drops groups without 2 valid videos — never a silent zero', async () => {
    const dir = join(root, 'mask');
    // Fail every judgment involving the first prompt's group on step 1 (its 6 comparisons), and a few others.
    const judge = new FakeJudge((call) => call < 6 || call === 7);
    const { generator } = await train(config({ pipelineStaleness: 0 }), dir, judge, 1);
    await generator.close();
    const [m] = metricsOf(dir).filter((r) => r.step === 1);
    expect(m?.failedJudgments).toBe(7);
    expect(m?.droppedGroups).toBe(1);
    expect(m?.maskedVideos).toBe(4);
    expect(m?.failuresByCode).toEqual({ JUDGE_FAILED: 7 });
    expect(typeof m?.gradNorm).toBe('number');
  });

  it('resumes exactly: 3 steps + resume + 3 steps equals 6 steps (prompts, noise, rewards, adapters)', async () => {
    const c = config();
    const full = join(root, 'full');
    const a = await train(c, full, new FakeJudge(), 6);
    const adaptersFull = a.generator.policy.parameters('lora');
    await a.generator.close();
    const split = join(root, 'split');
    const b1 = await train(c, split, new FakeJudge(), 3);
    await b1.generator.close();
    const b2 = await train(c, split, new FakeJudge(), 6, true);
    const adaptersSplit = b2.generator.policy.parameters('lora');
    await b2.generator.close();
    expect(b2.summary.firstStep).toBe(4);
    const strip = (r: Record<string, unknown>): unknown => ({ step: r.step, reward: r.reward, goldAccuracy: r.goldAccuracy, gradNorm: r.gradNorm, kl: r.kl });
    expect(metricsOf(split).map(strip)).toEqual(metricsOf(full).map(strip));
    for (const [name, values] of adaptersFull) expect(Array.from(adaptersSplit.get(name) ?? [])).toEqual(Array.from(values));
  });
});
