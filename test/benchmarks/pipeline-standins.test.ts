/**
 * The accelerator-bound stand-ins of bench:pipeline (bench/support/pipeline-standins.ts) behind the real generator worker
 * and reward servers on loopback, driven by the real coordinator through `generatorUrl`: every step trains through the
 * wire; pipelined, the rollout of step t+1 overlaps the judging of step t and no rollout is more than one update stale;
 * sequential, nothing overlaps. Only ordering facts from the stand-ins' own timestamps are asserted, no latencies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../src/config/index.js';
import { rolloutStaleness, runStandinJob, standinConfig, startStandinStack, type StandinStack } from '../../bench/support/pipeline-accelerator.js';
import type { StandinEvent } from '../../bench/support/pipeline-standins.js';

const STEPS = 4;
const base = loadConfig(DEFAULT_CONFIG_PATH);
const root = mkdtempSync(join(tmpdir(), 'vrgrpo-standins-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs STEPS steps of 2 prompts × 4 videos at real frame size: rollouts of 160 ms, updates of 20 ms, judgments of 100 ms. */
async function run(
  staleness: number,
): Promise<{ stack: StandinStack; steps: readonly Record<string, unknown>[]; rollouts: StandinEvent[]; updates: StandinEvent[] }> {
  const w = base.world;
  const stack = await startStandinStack(
    { size: { width: w.width, height: w.height, frameCount: w.frames, fps: w.fps }, generateMsPerVideo: 20, updateMs: 20 },
    100,
    2,
  );
  try {
    const { steps } = await runStandinJob({
      config: standinConfig(base, { staleness, checkpointEvery: 100_000, promptsPerStep: 2, groupSize: 4 }),
      runDir: join(root, `s${staleness}`),
      generatorUrl: stack.generatorUrl,
      pool: stack.pool,
      steps: STEPS,
    });
    const events = stack.generator.events;
    return { stack, steps, rollouts: events.filter((e) => e.kind === 'rollout'), updates: events.filter((e) => e.kind === 'update') };
  } finally {
    await stack.close();
  }
}

/** The judgments of step t (1-based): after the update of step t - 1 ended, before the update of step t started. */
function judgingOf(stack: StandinStack, updates: readonly StandinEvent[], t: number): StandinEvent[] {
  const from = t === 1 ? 0 : (updates[t - 2]?.endMs ?? Infinity);
  const to = updates[t - 1]?.startMs ?? -Infinity;
  return stack.judgments().filter((j) => j.startMs >= from && j.endMs <= to);
}

describe('accelerator-bound stand-ins through the real protocol', () => {
  it('pipelined: rollout t+1 overlaps the judging of step t, staleness at most 1', async () => {
    const { stack, steps, rollouts, updates } = await run(1);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    for (const s of steps) {
      expect(s.videos).toBe(8);
      expect(s.judgments).toBeGreaterThan(0);
      expect(s.failedJudgments).toBe(0);
      expect(s.onPolicyMaxRatioDeviation).toBe(0);
    }
    expect(rollouts).toHaveLength(STEPS);
    expect(updates).toHaveLength(STEPS);
    expect(stack.judgments().length).toBe(steps.reduce((n, s) => n + Number(s.judgments), 0));
    for (let t = 1; t < STEPS; t++) {
      const judging = judgingOf(stack, updates, t);
      expect(judging.length).toBe(steps[t - 1]?.judgments);
      const next = rollouts[t];
      expect(next?.startMs).toBeLessThan(Math.max(...judging.map((j) => j.endMs)));
    }
    const staleness = rolloutStaleness(stack.generator.events);
    expect(Math.max(...staleness)).toBe(1);
    expect(Math.min(...staleness)).toBe(0);
  });

  it('sequential: no rollout starts before the previous step is judged, staleness 0', async () => {
    const { stack, steps, rollouts, updates } = await run(0);
    expect(steps).toHaveLength(STEPS);
    for (let t = 1; t < STEPS; t++) {
      const judging = judgingOf(stack, updates, t);
      expect(judging.length).toBe(steps[t - 1]?.judgments);
      expect(rollouts[t]?.startMs).toBeGreaterThanOrEqual(Math.max(...judging.map((j) => j.endMs)));
    }
    expect(rolloutStaleness(stack.generator.events).every((s) => s === 0)).toBe(true);
  });
});
