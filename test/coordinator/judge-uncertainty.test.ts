/**
 * Judge uncertainty in the real coordinator (embedded generator, pairwise, every pair judged in both orders): a judge
 * that prefers the redder video, except on some pairs (chosen by the pair, whichever order it is shown in) where the
 * video shown first wins — so those pairs flip with the order. With `reward.uncertainty.policy: shrink` the groups'
 * advantages shrink by their self-disagreement; with `none` they are only measured. The step lines and /metrics say so.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import type { JudgeClient } from '../../src/coordinator/reward-collector.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { worldRun } from '../../src/job/index.js';
import { CoordinatorMetrics } from '../../src/metrics/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../../src/reward-client/pool.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge, redness } from '../../src/testing/fake-judge.js';
import { framesOf } from '../../src/media/index.js';
import { parseExposition, sampleValue } from '../metrics/helpers.js';
import { v1Config } from '../world-v1.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-uncertainty-'));
beforeAll(async () => {
  await chooseTensorBackend('auto');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fake judge (redder wins), but on pairs whose redness differs by an even whole number the first shown wins. */
class PartlyPositionBiased implements JudgeClient {
  readonly #inner = new FakeJudge();
  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const r = await this.#inner.judge(request);
    const [a, b] = request.videos.map((v) => redness(framesOf(v, 'the test judge')));
    if (r.verdict.answer === null || a === undefined || b === undefined || Math.floor(Math.abs(a - b)) % 2 !== 0) return r;
    return { ...r, verdict: { ...r.verdict, answer: { ...r.verdict.answer, TA: 1, MQ: 1, VQ: 1, OA: 1 } } };
  }
}

async function run(policy: 'shrink' | 'none'): Promise<{ lines: Record<string, unknown>[]; scrape: string }> {
  const c = v1Config({
    reward: { mode: 'pairwise', plan: 'all-pairs', bothOrders: true, uncertainty: { policy } },
    training: { groupSize: 4, promptsPerStep: 2, steps: 2, evalEvery: 0, checkpointEvery: 10, videosEvery: 0, tracesEvery: 0 },
  });
  const generator = await EmbeddedGenerator.create({
    config: c,
    trainer: constantTrainerOptionsFrom(c),
  });
  const runDir = join(root, policy);
  const metrics = new CoordinatorMetrics();
  try {
    const coordinator = await Coordinator.create({
      config: c,
      runDir,
      generator,
      ...worldRun(c, generator),
      judge: new PartlyPositionBiased(),
      log: silentLogger(),
      steps: 2,
      onStep: (m) => metrics.recordStep(m),
    });
    await coordinator.runLoop();
  } finally {
    await generator.close();
  }
  const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.step === 'number' && l.step > 0);
  return { lines, scrape: (await metrics.exposition()).body };
}

describe('judge uncertainty (order flips)', () => {
  it('shrinks the advantages of groups whose pairs flip with the order, and measures them with policy none', async () => {
    const shrink = await run('shrink');
    const none = await run('none');
    // Step 1 is the same rollout judged the same way in both runs (the policy has not moved yet).
    const [s1, n1] = [shrink.lines[0], none.lines[0]];
    const u = s1?.judgeUncertainty as { measuredGroups: number; shrunkGroups: number; orderFlipShare: number; selfDisagreement: number };
    expect(u.measuredGroups).toBe(2);
    expect(u.shrunkGroups).toBeGreaterThanOrEqual(1);
    expect(u.orderFlipShare).toBeGreaterThan(0);
    expect(u.orderFlipShare).toBeLessThan(1);
    expect(n1?.judgeUncertainty).toMatchObject({ measuredGroups: 2, shrunkGroups: 0, droppedGroups: 0, orderFlipShare: u.orderFlipShare });
    expect(n1?.advantageAbsMean as number).toBeGreaterThan(0);
    expect(s1?.advantageAbsMean as number).toBeLessThan(n1?.advantageAbsMean as number);
    expect(sampleValue(parseExposition(shrink.scrape), 'vrgrpo_judge_order_flip_share', {})).toBeGreaterThan(0);
  }, 120_000);
});
