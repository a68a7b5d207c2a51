/**
 * `npm run bench:calibration`: a hot swap of the reward model mid-run with and without calibration
 * (`reward.onVersionChange.calibrate`). World v1, pointwise rewards, a prompt file of 4 prompts (every step trains on
 * all of them, as a dataset's prompts recur across epochs), per-prompt statistics (Flow-GRPO's tracker:
 * `training.advantage.perPromptTracker`, 32 rewards per prompt, used from 8; not reset at the swap, so the old
 * version's history meets the new version's scale), the training judge swapped from rm-v2 to rm-v1 after step
 * BENCH_CAL_SWAP_AFTER (10). Goal with calibration: the mean |advantage| over the 5 steps after the swap within 10 % of
 * what it would have been without the swap, measured two ways:
 * - against the old judge's counterfactual on the same run (`vsOldJudgePercent`; drift-experiment.ts): rm-v2 also
 *   scores every group of the swap run, normalised against a history of its own rewards — the same videos, so only
 *   the judges differ;
 * - against a run without the swap (`changePercent`): the same run up to the swap, so its first step after it judges
 *   the very same videos (`firstStepPercent`), after that the policies part (the new judge ranks differently).
 * Modes: `off`; `default` (the config's defaults: quantile map on the anchors and the recent groups the new version
 * shadow-scores, `shadowGroups` 8); `prompt-fits` (the same with `promptFits`: a fit per recent group's prompt);
 * `anchors-only` (`shadowGroups: 0`); `affine` (`default` with an affine map). Also reported: the change against the
 * run's own 5 steps before the swap (`vsBeforePercent`, which the policy's own progress moves by tens of percent).
 * Per mode the pooled changes over all seeds (`pooledVsOldJudgePercent`, `pooledChangePercent`,
 * `pooledFirstStepPercent`: summed mean |advantage| against the summed reference), which a near-zero reference (a
 * seed whose prompts saturated by the swap) cannot dominate. Results to bench/results/calibration.json.
 * Env: BENCH_CAL_STEPS (16), BENCH_CAL_SWAP_AFTER (10), BENCH_CAL_SEEDS (1234,7,99,1,…,22: 24 seeds),
 * BENCH_CAL_MODES (off,default,prompt-fits,anchors-only; also affine), BENCH_CAL_OUT (calibration.json).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.js';
import { runWithDriftMonitor } from '../src/job/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { machineInfo } from './machine.js';

const STEPS = Number(process.env.BENCH_CAL_STEPS ?? 16);
const SWAP_AFTER = Number(process.env.BENCH_CAL_SWAP_AFTER ?? 10);
const SEEDS = (process.env.BENCH_CAL_SEEDS ?? '1234,7,99,1,2,3,4,5,6,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22').split(',').map(Number);
const MODES = (process.env.BENCH_CAL_MODES ?? 'off,default,prompt-fits,anchors-only').split(',');
const OUT_FILE = process.env.BENCH_CAL_OUT ?? 'calibration.json';

await chooseTensorBackend('auto');
const promptDir = mkdtempSync(join(tmpdir(), 'vrgrpo-cal-'));
const promptFile = join(promptDir, 'prompts.txt');
writeFileSync(
  promptFile,
  ['a red circle on a blue background', 'a green square moving left', 'a yellow triangle on a black background', 'a blue star moving up'].join('\n'),
);
const avg = (xs: readonly (number | null)[]): number => {
  const f = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return f.length === 0 ? NaN : f.reduce((s, x) => s + x, 0) / f.length;
};
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

const run = (seed: number, mode: string | null) =>
  runWithDriftMonitor({
    hack: null,
    steps: STEPS,
    promptsPerStep: 4,
    groupSize: 8,
    seed,
    ...(mode === null ? {} : { swap: { afterStep: SWAP_AFTER, checkpoint: join(PROJECT_ROOT, 'models', 'rm-v1') } }),
    training: { promptFile, advantage: { perPromptTracker: true, trackerBuffer: 32, trackerMinCount: 8 } },
    reward: {
      onVersionChange: {
        resetPromptStats: false,
        calibrate: mode === null || mode === 'off' ? 'off' : mode === 'affine' ? 'affine' : 'quantile',
        shadowGroups: mode === 'anchors-only' ? 0 : 8,
        promptFits: mode === 'prompt-fits',
      },
    },
    // Anchors only at the start and on the version change (the pass the calibration is fitted on).
    drift: { anchors: { every: 0 } },
  });
const windowMean = (r: Awaited<ReturnType<typeof run>>, from: number, to: number): number =>
  avg(r.steps.filter((s) => s.step > from && s.step <= to).map((s) => s.advantageAbsMean));

const results: Record<string, unknown>[] = [];
for (const seed of SEEDS) {
  const reference = await run(seed, null);
  const refAfter = windowMean(reference, SWAP_AFTER, SWAP_AFTER + 5);
  const refFirst = windowMean(reference, SWAP_AFTER, SWAP_AFTER + 1);
  process.stderr.write(`${JSON.stringify({ seed, mode: 'no swap', after: r4(refAfter), first: r4(refFirst) })}\n`);
  for (const mode of MODES) {
    const r = await run(seed, mode);
    const b = windowMean(r, SWAP_AFTER - 5, SWAP_AFTER);
    const a = windowMean(r, SWAP_AFTER, SWAP_AFTER + 5);
    const first = windowMean(r, SWAP_AFTER, SWAP_AFTER + 1);
    // The same videos as the old judge would have scored them, against its own history (no trajectory difference).
    const oldJudge = avg(r.steps.filter((s) => s.step > SWAP_AFTER && s.step <= SWAP_AFTER + 5).map((s) => s.advantageAbsMeanOldJudge));
    const summary = {
      seed,
      mode,
      seconds: Math.round(r.seconds),
      versions: [...new Set(r.steps.flatMap((s) => [...s.rmVersions]))],
      after: r4(a),
      reference: r4(refAfter),
      changePercent: r4((100 * (a - refAfter)) / refAfter),
      firstStep: r4(first),
      firstStepReference: r4(refFirst),
      firstStepPercent: r4((100 * (first - refFirst)) / refFirst),
      before: r4(b),
      vsBeforePercent: r4((100 * (a - b)) / b),
      afterUncalibrated: r4(avg(r.steps.filter((s) => s.step > SWAP_AFTER && s.step <= SWAP_AFTER + 5).map((s) => s.advantageAbsMeanUncalibrated))),
      oldJudge: r4(oldJudge),
      vsOldJudgePercent: r4((100 * (a - oldJudge)) / oldJudge),
      met: Math.abs(a - refAfter) / refAfter <= 0.1,
    };
    process.stderr.write(`${JSON.stringify(summary)}\n`);
    results.push({
      ...summary,
      steps: r.steps.map((s) => ({
        step: s.step,
        rmVersions: s.rmVersions,
        advantageAbsMean: s.advantageAbsMean,
        uncalibrated: s.advantageAbsMeanUncalibrated,
        oldJudge: s.advantageAbsMeanOldJudge,
        reference: reference.steps.find((x) => x.step === s.step)?.advantageAbsMean ?? null,
      })),
    });
  }
}
// Per mode over the seeds: the mean of the per-seed changes and of their absolute values, and the pooled change (the
// mean |advantage| over all seeds' runs against the references' — a seed whose reference is near 0, its prompts
// saturated, cannot blow it up the way it does a per-seed percentage).
const pooled = (rows: readonly Record<string, unknown>[], k: string, ref: string): number => {
  const sum = (key: string): number => rows.reduce((s, r) => s + Number(r[key]), 0);
  return r4((100 * (sum(k) - sum(ref))) / sum(ref));
};
const byMode = Object.fromEntries(
  MODES.map((mode) => {
    const rows = results.filter((r) => r.mode === mode);
    const pick = (k: string): number[] => rows.map((r) => Number(r[k]));
    const mean = (xs: number[]): number => r4(xs.reduce((s, x) => s + x, 0) / xs.length);
    return [
      mode,
      {
        seeds: rows.length,
        changePercentMean: mean(pick('changePercent')),
        changePercentMeanAbs: mean(pick('changePercent').map(Math.abs)),
        firstStepPercentMean: mean(pick('firstStepPercent')),
        firstStepPercentMeanAbs: mean(pick('firstStepPercent').map(Math.abs)),
        seedsMet: rows.filter((r) => r.met === true).length,
        pooledChangePercent: pooled(rows, 'after', 'reference'),
        pooledFirstStepPercent: pooled(rows, 'firstStep', 'firstStepReference'),
        pooledVsOldJudgePercent: pooled(rows, 'after', 'oldJudge'),
        seedsMetVsOldJudge: rows.filter((r) => Math.abs(Number(r.vsOldJudgePercent)) <= 10).length,
      },
    ];
  }),
);
process.stderr.write(`${JSON.stringify(byMode)}\n`);
const out = join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, OUT_FILE), `${JSON.stringify({ machine: machineInfo(), steps: STEPS, swapAfter: SWAP_AFTER, byMode, results }, null, 2)}\n`);
rmSync(promptDir, { recursive: true, force: true });
process.stderr.write(`wrote bench/results/${OUT_FILE}\n`);
