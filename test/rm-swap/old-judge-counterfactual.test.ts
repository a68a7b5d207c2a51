/**
 * The counterfactual bench:calibration measures a swap against (src/job/drift-experiment.ts): the old judge scores
 * the swap run's own videos, normalised against a history of its own rewards. Before the swap it must reproduce the
 * run's mean |advantage|, and on the first step after it — the very videos the run without a swap makes too — the
 * run without a swap's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { runWithDriftMonitor, type HackingRunOptions } from '../../src/job/drift-experiment.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-counterfactual-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the old judge counterfactual of a swap run', () => {
  it('reproduces the run before the swap and the run without a swap on the first step after it', async () => {
    await chooseTensorBackend('auto');
    const promptFile = join(dir, 'prompts.txt');
    writeFileSync(promptFile, ['a red circle on a blue background', 'a green square moving left', 'a blue star moving up'].join('\n'));
    const base: HackingRunOptions = {
      hack: null,
      steps: 5,
      promptsPerStep: 3,
      groupSize: 6,
      seed: 7,
      training: { promptFile, advantage: { perPromptTracker: true, trackerBuffer: 18, trackerMinCount: 6 } },
      reward: { onVersionChange: { resetPromptStats: false, calibrate: 'quantile', shadowGroups: 3 } },
      drift: { anchors: { every: 0 } },
    };
    const reference = await runWithDriftMonitor(base);
    const swapped = await runWithDriftMonitor({ ...base, swap: { afterStep: 3, checkpoint: join(PROJECT_ROOT, 'models', 'rm-v1') } });
    expect(reference.steps.every((s) => s.advantageAbsMeanOldJudge === null)).toBe(true);
    expect(swapped.steps.map((s) => s.rmVersions)).toEqual([['rm-v2'], ['rm-v2'], ['rm-v2'], ['rm-v1'], ['rm-v1']]);
    expect(swapped.calibrations).toHaveLength(1);
    for (const s of swapped.steps.slice(0, 3)) expect(s.advantageAbsMeanOldJudge).toBeCloseTo(s.advantageAbsMean ?? NaN, 12);
    const first = swapped.steps[3];
    expect(first?.advantageAbsMeanOldJudge).toBeCloseTo(reference.steps[3]?.advantageAbsMean ?? NaN, 12);
    // After the swap the run's own advantages come from rm-v1 (mapped), the counterfactual's from rm-v2.
    expect(first?.advantageAbsMeanOldJudge).not.toBeCloseTo(first?.advantageAbsMeanUncalibrated ?? NaN, 6);
    expect(swapped.steps[4]?.advantageAbsMeanOldJudge).toEqual(expect.any(Number));
  }, 300_000); // ~10 s alone
});
