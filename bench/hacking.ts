/**
 * `npm run bench:hacking`: the reward-hacking detector on short seeded runs of the embedded default, clean vs with the
 * planted hack (`judge.plantedHack: {defect: flicker, bonus: 0.5}`): per step the proxy reward, gold accuracy and
 * quality, and every drift gauge (PSI, Page-Hinkley, proxy-vs-gold divergence); which detectors tripped and when.
 * The detectors run with thresholds 0 on the hacking gauge so its full trajectory is recorded; trips are recomputed
 * for the configured thresholds. Results to bench/results/hacking.json.
 * Env: BENCH_HACKING_STEPS (30), BENCH_HACKING_SEEDS (1234,7,99), BENCH_HACKING_PROMPTS (4), BENCH_HACKING_GROUP (8).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, defaultConfig } from '../src/config/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { runWithDriftMonitor, type HackingRunResult } from '../src/job/index.js';
import { machineInfo } from './machine.js';

const STEPS = Number(process.env.BENCH_HACKING_STEPS ?? 30);
const SEEDS = (process.env.BENCH_HACKING_SEEDS ?? '1234,7,99').split(',').map(Number);
const PROMPTS = Number(process.env.BENCH_HACKING_PROMPTS ?? 4);
const GROUP = Number(process.env.BENCH_HACKING_GROUP ?? 8);
const HACK = { defect: 'flicker', bonus: 0.5 } as const;

await chooseTensorBackend('auto');
const configured = defaultConfig().monitoring.drift;

interface Summary {
  readonly seed: number;
  readonly hacked: boolean;
  readonly seconds: number;
  readonly rmVersions: readonly string[];
  readonly rewardFirst5: number;
  readonly rewardLast5: number;
  readonly goldAccuracyFirst5: number;
  readonly goldAccuracyLast5: number;
  readonly goldQualityFirst5: number;
  readonly goldQualityLast5: number;
  /** Max of the hacking gauge, and the first step it reached the configured threshold with the configured minimum rise/drop. */
  readonly maxDivergence: number;
  readonly firstHackingTrip: number | null;
  readonly maxPsiCombined: number;
  readonly maxPageHinkleyCombined: number;
  /** Trips of the other detectors under the configured thresholds: detector:dimension@step. */
  readonly otherTrips: readonly string[];
}

const avg = (xs: readonly (number | null)[]): number => {
  const f = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return f.length === 0 ? NaN : f.reduce((s, x) => s + x, 0) / f.length;
};

function summarise(seed: number, hacked: boolean, r: HackingRunResult): Summary {
  const h = configured.hacking;
  const s = r.steps;
  const trip = s.find((x) => {
    const d = x.report.hacking;
    return d.value !== null && d.value >= h.tThreshold && d.proxyRise >= h.minProxyRise && d.goldDrop >= h.minGoldDrop;
  });
  return {
    seed,
    hacked,
    seconds: Math.round(r.seconds * 10) / 10,
    rmVersions: r.rmVersions,
    rewardFirst5: avg(s.slice(0, 5).map((x) => x.reward)),
    rewardLast5: avg(s.slice(-5).map((x) => x.reward)),
    goldAccuracyFirst5: avg(s.slice(0, 5).map((x) => x.goldAccuracy)),
    goldAccuracyLast5: avg(s.slice(-5).map((x) => x.goldAccuracy)),
    goldQualityFirst5: avg(s.slice(0, 5).map((x) => x.goldQuality)),
    goldQualityLast5: avg(s.slice(-5).map((x) => x.goldQuality)),
    maxDivergence: Math.max(...s.map((x) => x.report.proxyGoldDivergence ?? -Infinity)),
    firstHackingTrip: trip?.step ?? null,
    maxPsiCombined: Math.max(...s.map((x) => x.report.psi.combined ?? -Infinity)),
    maxPageHinkleyCombined: Math.max(...s.map((x) => x.report.pageHinkley.combined ?? -Infinity)),
    otherTrips: r.trips
      .filter((t) => t.detector !== 'proxy_gold_divergence')
      .map((t) => `${String(t.detector)}:${typeof t.dimension === 'string' ? t.dimension : ''}@${String(t.step)}`),
  };
}

const runs: { summary: Summary; steps: unknown[] }[] = [];
for (const seed of SEEDS) {
  for (const hacked of [false, true]) {
    const r = await runWithDriftMonitor({
      hack: hacked ? HACK : null,
      steps: STEPS,
      promptsPerStep: PROMPTS,
      groupSize: GROUP,
      seed,
      // Record the whole gauge trajectory: the hacking trip is recomputed above for the configured thresholds.
      drift: { hacking: { ...configured.hacking, tThreshold: 0, minProxyRise: 0, minGoldDrop: 0 } },
    });
    const summary = summarise(seed, hacked, r);
    process.stderr.write(`${JSON.stringify(summary)}\n`);
    runs.push({
      summary,
      steps: r.steps.map((x) => ({
        step: x.step,
        reward: x.reward,
        goldAccuracy: x.goldAccuracy,
        goldQuality: x.goldQuality,
        gold: x.report.gold,
        divergence: x.report.proxyGoldDivergence,
        proxyRise: x.report.hacking.proxyRise,
        goldDrop: x.report.hacking.goldDrop,
        psi: x.report.psi,
        pageHinkley: x.report.pageHinkley,
      })),
    });
  }
}
const out = join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'hacking.json'),
  `${JSON.stringify({ machine: machineInfo(), steps: STEPS, promptsPerStep: PROMPTS, groupSize: GROUP, hack: HACK, thresholds: configured, runs }, null, 2)}\n`,
);
process.stderr.write(`wrote bench/results/hacking.json\n`);
