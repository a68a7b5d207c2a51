/**
 * `npm run bench:calibration`: a hot swap of the reward model mid-run with and without calibration
 * (`reward.onVersionChange.calibrate`). World v1, pointwise rewards, a prompt file of 4 prompts (every step trains on
 * all of them, as a dataset's prompts recur across epochs), per-prompt statistics (Flow-GRPO's tracker:
 * `training.advantage.perPromptTracker`, 32 rewards per prompt, used from 8; not reset at the swap, so the old
 * version's history meets the new version's scale), the training judge swapped from rm-v2 to rm-v1 after step
 * BENCH_CAL_SWAP_AFTER (10). Per mode
 * (`off`, `quantile`, `affine`) and seed: the mean |advantage| over the 5 steps before the swap and the 5 after it, and
 * the change in percent (goal with calibration: ≤ 10 %). With calibration on, the step lines also say what the same
 * steps' mean |advantage| would have been without the map (`advantageAbsMeanUncalibrated`).
 * Results to bench/results/calibration.json.
 * Env: BENCH_CAL_STEPS (16), BENCH_CAL_SWAP_AFTER (10), BENCH_CAL_SEEDS (1234,7,99), BENCH_CAL_MODES (off,quantile,affine).
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
const SEEDS = (process.env.BENCH_CAL_SEEDS ?? '1234,7,99').split(',').map(Number);
const MODES = (process.env.BENCH_CAL_MODES ?? 'off,quantile,affine').split(',');

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

const results: Record<string, unknown>[] = [];
for (const seed of SEEDS) {
  for (const mode of MODES) {
    const r = await runWithDriftMonitor({
      hack: null,
      steps: STEPS,
      promptsPerStep: 4,
      groupSize: 8,
      seed,
      swap: { afterStep: SWAP_AFTER, checkpoint: join(PROJECT_ROOT, 'models', 'rm-v1') },
      training: { promptFile, advantage: { perPromptTracker: true, trackerBuffer: 32, trackerMinCount: 8 } },
      reward: { onVersionChange: { resetPromptStats: false, calibrate: mode } },
      // Anchors only at the start and on the version change (the pass the calibration is fitted on).
      drift: { anchors: { every: 0 } },
    });
    const before = r.steps.filter((s) => s.step > SWAP_AFTER - 5 && s.step <= SWAP_AFTER);
    const after = r.steps.filter((s) => s.step > SWAP_AFTER && s.step <= SWAP_AFTER + 5);
    const b = avg(before.map((s) => s.advantageAbsMean));
    const a = avg(after.map((s) => s.advantageAbsMean));
    const summary = {
      seed,
      mode,
      seconds: Math.round(r.seconds),
      versions: [...new Set(r.steps.flatMap((s) => [...s.rmVersions]))],
      before: r4(b),
      after: r4(a),
      changePercent: r4((100 * (a - b)) / b),
      afterUncalibrated: r4(avg(after.map((s) => s.advantageAbsMeanUncalibrated))),
      met: Math.abs(a - b) / b <= 0.1,
    };
    process.stderr.write(`${JSON.stringify(summary)}\n`);
    results.push({
      ...summary,
      steps: r.steps.map((s) => ({
        step: s.step,
        rmVersions: s.rmVersions,
        advantageAbsMean: s.advantageAbsMean,
        uncalibrated: s.advantageAbsMeanUncalibrated,
      })),
    });
  }
}
const out = join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'calibration.json'), `${JSON.stringify({ machine: machineInfo(), steps: STEPS, swapAfter: SWAP_AFTER, results }, null, 2)}\n`);
rmSync(promptDir, { recursive: true, force: true });
process.stderr.write('wrote bench/results/calibration.json\n');
