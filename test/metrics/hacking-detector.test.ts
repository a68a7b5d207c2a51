/**
 * The reward-hacking detector on real short seeded runs (embedded generator, embedded judge, the RunMonitor of
 * `vr-grpo train`): with a planted hack — the judge over-rewards flicker, a defect the gold evaluator penalises — the
 * policy learns the defect, the proxy reward rises while gold falls, and the proxy-vs-gold detector trips (a `drift`
 * event, a counted trip on /metrics). The same run without the hack does not trip it.
 */
import { describe, expect, it } from 'vitest';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { runWithDriftMonitor, type HackingRunResult } from '../../src/job/drift-experiment.js';
import { parseExposition, sampleValue } from './helpers.js';

const RUN = { steps: 30, promptsPerStep: 4, groupSize: 8, seed: 1234 } as const;
const hackingTrips = (r: HackingRunResult): Readonly<Record<string, unknown>>[] => r.trips.filter((t) => t.detector === 'proxy_gold_divergence');
const tripCount = (r: HackingRunResult): number => sampleValue(parseExposition(r.scrape), 'vrgrpo_drift_trips_total', { detector: 'proxy_gold_divergence' });
const mean = (xs: readonly (number | null)[]): number => {
  const f = xs.filter((x): x is number => x !== null);
  return f.reduce((s, x) => s + x, 0) / f.length;
};

describe('proxy-vs-gold divergence (reward hacking)', () => {
  it('trips on a planted hack and stays quiet on the clean run', async () => {
    await chooseTensorBackend('auto');
    const hacked = await runWithDriftMonitor({ ...RUN, hack: { defect: 'flicker', bonus: 0.5 } });
    const clean = await runWithDriftMonitor({ ...RUN, hack: null });

    // The hack is what the verdicts came from, and it did what a hack does: proxy up, gold quality down.
    expect(hacked.rmVersions.every((v) => v.includes('hack'))).toBe(true);
    const first = hacked.steps.slice(0, 5);
    const last = hacked.steps.slice(-5);
    expect(mean(last.map((s) => s.reward))).toBeGreaterThan(mean(first.map((s) => s.reward)));
    expect(mean(last.map((s) => s.goldQuality))).toBeLessThan(mean(first.map((s) => s.goldQuality)));

    const trips = hackingTrips(hacked);
    expect(trips.length).toBeGreaterThanOrEqual(1);
    expect(trips[0]?.step).toBeGreaterThanOrEqual(12); // needs a full window of steps
    expect(tripCount(hacked)).toBe(trips.length);

    expect(clean.rmVersions).toEqual(['rm-v2']);
    expect(hackingTrips(clean)).toEqual([]);
    expect(tripCount(clean)).toBe(0);
  }, 300_000); // 60–90 s alone; it took over 120 s with the full suite and other work sharing the 2 cores
});
