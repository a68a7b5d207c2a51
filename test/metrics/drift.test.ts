import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  DriftMonitor,
  MAX_T,
  PageHinkley,
  ProxyGoldDivergence,
  RewardWindow,
  kendallTau,
  linearTrend,
  psi,
  quantileEdges,
  type AnchorPass,
  type DriftMonitorOptions,
  type DriftStepReport,
} from '../../src/metrics/drift/index.js';
import { v1Config } from '../world-v1.js';

function range(n: number): number[];
function range<T>(n: number, f: (i: number) => T): T[];
function range(n: number, f: (i: number) => unknown = (i) => i): unknown[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

describe('psi', () => {
  it('is 0 for the same distribution and matches the hand-computed value for a full shift into one bin', () => {
    const ref = range(100);
    expect(quantileEdges(ref, 4)).toEqual([24.75, 49.5, 74.25]);
    expect(psi(ref, ref, 4)).toBeCloseTo(0, 12);
    // All recent values in the first quartile bin: q = (1+ε, ε, ε, ε)/(1+4ε), p = (¼+ε)/(1+4ε) each.
    // PSI = (q0−p)ln(q0/p) + 3(qε−p)ln(qε/p) = 6.905068… (computed by hand with ε = 1e-4).
    expect(psi(ref, range(25), 4)).toBeCloseTo(6.905068247933214, 9);
  });

  it('grows with the shift, ignores non-finite values, rejects empty samples and bad bins', () => {
    const rng = Rng.fromSeed(1);
    const ref = range(2000, () => rng.normal());
    const same = range(2000, () => rng.normal());
    const small = range(2000, () => rng.normal() + 0.2);
    const large = range(2000, () => rng.normal() + 1);
    const a = psi(ref, same);
    const b = psi(ref, small);
    const c = psi(ref, large);
    expect(a).toBeLessThan(0.02);
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(0.25);
    expect(c).toBeGreaterThan(b);
    expect(psi([...ref, NaN, Infinity], [...large, NaN])).toBeCloseTo(c, 12);
    expect(() => psi([], [1])).toThrow(/finite values/);
    expect(() => psi([1], [NaN])).toThrow(/finite values/);
    expect(() => psi([1], [1], 1)).toThrow(/bins/);
  });

  it('handles a reference with ties (fewer bins, no empty-bin infinity)', () => {
    const ref = [...range(50, () => 0), ...range(50, () => 1)];
    expect(quantileEdges(ref, 10)).toEqual([0, 0.5, 1]);
    expect(psi(ref, ref)).toBeCloseTo(0, 12);
    expect(
      Number.isFinite(
        psi(
          ref,
          range(10, () => 2),
        ),
      ),
    ).toBe(true);
  });
});

describe('kendallTau (τ-b)', () => {
  it('matches the reference value with ties (scipy.stats.kendalltau docs example)', () => {
    expect(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])).toBeCloseTo(-0.47140452079103173, 12);
  });

  it('is 1 for the same order, −1 reversed, skips non-finite pairs, NaN when undefined', () => {
    expect(kendallTau([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    expect(kendallTau([1, NaN, 2, 3], [1, 5, 2, 3])).toBe(1);
    expect(kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(kendallTau([1], [1])).toBeNaN();
    expect(() => kendallTau([1, 2], [1])).toThrow(/length/);
  });
});

describe('linearTrend', () => {
  it('fits slope and t (hand-computed)', () => {
    // x 0..3, y 0,1,1,2: slope 3/5 = 0.6; residuals −0.1, 0.3, −0.3, 0.1 → se = √(0.2/2/5), t = 0.6/√0.02.
    const r = linearTrend([0, 1, 2, 3], [0, 1, 1, 2]);
    expect(r.slope).toBeCloseTo(0.6, 12);
    expect(r.t).toBeCloseTo(0.6 / Math.sqrt(0.02), 10);
    expect(linearTrend([0, 1, 2, 3], [1, 3, 5, 7])).toEqual({ slope: 2, t: MAX_T, n: 4 });
    expect(linearTrend([0, 1], [0, 5]).t).toBe(0);
    expect(linearTrend([2, 2, 2], [0, 5, 1]).slope).toBe(0);
  });
});

describe('PageHinkley', () => {
  const opts = { delta: 0.1, lambda: 2, minSamples: 5 };

  it('stays quiet on a constant stream and detects an increase on the hand-computed sample', () => {
    // After 50 zeros, ones: the increase statistic is 0.8804, 1.7419, 2.5853 (> λ) at samples 51, 52, 53.
    const ph = new PageHinkley(opts);
    const trips: { i: number; dir: string }[] = [];
    const stream = [...range(50, () => 0), ...range(10, () => 1)];
    stream.forEach((x, i) => {
      const r = ph.update(x);
      if (i === 50) expect(r.increase).toBeCloseTo(1 - 1 / 51 - 0.1, 10);
      if (r.tripped !== null) trips.push({ i: i + 1, dir: r.tripped });
    });
    expect(trips[0]).toEqual({ i: 53, dir: 'increase' });
    // It restarted after the trip and measures the new level: no second trip on the constant ones.
    expect(trips).toHaveLength(1);
  });

  it('detects a decrease, respects minSamples, ignores NaN, and resumes from its state', () => {
    const stream = [...range(30, () => 1), ...range(10, () => 0)];
    const run = (ph: PageHinkley, xs: readonly number[]): (string | null)[] => xs.map((x) => ph.update(x).tripped);
    const whole = run(new PageHinkley(opts), stream);
    expect(whole.filter((t) => t !== null)).toEqual(['decrease']);
    expect(run(new PageHinkley({ ...opts, minSamples: 1000 }), stream).every((t) => t === null)).toBe(true);
    const first = new PageHinkley(opts);
    const a = run(first, stream.slice(0, 31));
    const resumed = new PageHinkley(opts, JSON.parse(JSON.stringify(first.state())) as ReturnType<PageHinkley['state']>);
    expect([...a, ...run(resumed, stream.slice(31))]).toEqual(whole);
    const ph = new PageHinkley(opts);
    ph.update(1);
    expect(ph.update(NaN).tripped).toBeNull();
    expect(ph.samples).toBe(1);
    expect(() => new PageHinkley({ ...opts, lambda: 0 })).toThrow(/lambda/);
    expect(() => new PageHinkley({ ...opts, minSamples: 0.5 })).toThrow(/minSamples/);
  });
});

describe('RewardWindow', () => {
  it('trailing: reference = the steps just before the recent window', () => {
    const w = new RewardWindow({ referenceSteps: 2, recentSteps: 1, reference: 'trailing' });
    w.push([1]);
    w.push([2, NaN]);
    expect(w.ready).toBe(false);
    w.push([3]);
    expect(w.ready).toBe(true);
    expect([w.reference(), w.recent()]).toEqual([[1, 2], [3]]);
    const copy = new RewardWindow(
      { referenceSteps: 2, recentSteps: 1, reference: 'trailing' },
      JSON.parse(JSON.stringify(w.state())) as ReturnType<RewardWindow['state']>,
    );
    for (const x of [w, copy]) x.push([4]);
    expect([copy.reference(), copy.recent()]).toEqual([[2, 3], [4]]);
    expect(w.state()).toEqual(copy.state());
  });

  it('initial: reference = the first steps, kept for ever', () => {
    const w = new RewardWindow({ referenceSteps: 2, recentSteps: 2, reference: 'initial' });
    for (let i = 1; i <= 6; i++) w.push([i]);
    expect([w.reference(), w.recent()]).toEqual([
      [1, 2],
      [5, 6],
    ]);
    expect(() => new RewardWindow({ referenceSteps: 0, recentSteps: 1, reference: 'initial' })).toThrow(/referenceSteps/);
  });
});

describe('ProxyGoldDivergence', () => {
  const opts = { window: 5, tThreshold: 2, minProxyRise: 0.1, minGoldDrop: 0.05 };
  const wobble = [0.01, -0.01, 0.005, -0.005, 0.0];

  it('trips once when the proxy rises while gold falls, re-arms when that stops, skips steps without gold', () => {
    const d = new ProxyGoldDivergence(opts);
    const results = range(12, (i) => i).map((i) => {
      const proxy = i < 8 ? 1 + 0.1 * i + (wobble[i % 5] ?? 0) : 1.7;
      const gold = i < 8 ? 0.8 - 0.03 * i + (wobble[(i + 2) % 5] ?? 0) : 0.59;
      return d.observe(i, proxy, gold);
    });
    expect(results.slice(0, 4).every((r) => r.value === null)).toBe(true);
    expect(results[4]?.value).toBeGreaterThan(2);
    expect(results[4]?.proxyRise).toBeCloseTo(0.4, 1);
    expect(results[4]?.goldDrop).toBeCloseTo(0.12, 1);
    expect(results.map((r) => r.tripped)).toEqual([false, false, false, false, true, false, false, false, false, false, false, false]);
    // Flat since step 8: by step 11 the window no longer diverges, so it re-armed.
    expect(results[11]?.value ?? Infinity).toBeLessThan(2);
    const before = d.state();
    expect(d.observe(12, 2, null).value).toBe(results[11]?.value);
    expect(d.state()).toEqual(before);
  });

  it('does not trip when gold rises with the proxy, or when the drop is below the minimum; resumes from its state', () => {
    const up = new ProxyGoldDivergence(opts);
    const ups = range(8, (i) => up.observe(i, 1 + 0.1 * i + (wobble[i % 5] ?? 0), 0.5 + 0.02 * i));
    expect(ups.some((r) => r.tripped)).toBe(false);
    expect(ups[7]?.value).toBeLessThan(0);
    const tiny = new ProxyGoldDivergence({ ...opts, minGoldDrop: 0.5 });
    expect(range(8, (i) => tiny.observe(i, 1 + 0.1 * i + (wobble[i % 5] ?? 0), 0.8 - 0.03 * i + (wobble[(i + 2) % 5] ?? 0))).some((r) => r.tripped)).toBe(
      false,
    );
    const a = new ProxyGoldDivergence(opts);
    for (let i = 0; i < 3; i++) a.observe(i, 1 + 0.1 * i, 0.8 - 0.03 * i + (wobble[i] ?? 0));
    const b = new ProxyGoldDivergence(opts, JSON.parse(JSON.stringify(a.state())) as ReturnType<ProxyGoldDivergence['state']>);
    for (const x of [a, b]) expect(x.observe(3, 1.3, 0.7).value).toBeNull();
    expect(a.observe(4, 1.45, 0.66)).toEqual(b.observe(4, 1.45, 0.66));
    expect(() => new ProxyGoldDivergence({ ...opts, window: 2 })).toThrow(/window/);
  });
});

const OPTIONS: DriftMonitorOptions = {
  referenceSteps: 5,
  recentSteps: 5,
  reference: 'trailing',
  psiBins: 10,
  psiThreshold: 0.25,
  pageHinkley: { delta: 0.5, lambda: 10, minSamples: 5 },
  hacking: { window: 8, tThreshold: 2.5, minProxyRise: 0.05, minGoldDrop: 0.02, proxy: 'combined', gold: 'overall' },
  anchors: { tauThreshold: 0.8, meanShiftThreshold: 0.05 },
};

/** A seeded stream: per step 64 rewards per dimension ~ N(mean(step), 0.1), gold as given. */
function stream(steps: number, mean: (step: number) => number, gold: (step: number) => { acc: number; q: number } | null, seed = 3) {
  const rng = Rng.fromSeed(seed);
  return range(steps, (i) => {
    const step = i + 1;
    const g = gold(step);
    const noise = (): number => 0.01 * rng.normal();
    return {
      step,
      rewardsByDimension: { combined: range(64, () => mean(step) + 0.1 * rng.normal()), TA: range(64, () => 0.5 + 0.1 * rng.normal()) },
      goldAccuracy: g === null ? null : g.acc + noise(),
      goldQuality: g === null ? null : g.q + noise(),
    };
  });
}

describe('DriftMonitor', () => {
  it('is quiet on a stationary stream', () => {
    const m = new DriftMonitor(OPTIONS);
    const reports = stream(
      60,
      () => 1,
      () => ({ acc: 0.6, q: 0.9 }),
    ).map((o) => m.observeStep(o));
    expect(reports.flatMap((r) => r.trips)).toEqual([]);
    const last = reports.at(-1);
    expect(last?.psi.combined).toBeLessThan(0.1);
    expect(last?.pageHinkley.combined).toBeGreaterThanOrEqual(0);
    expect(last?.proxyGoldDivergence).not.toBeNull();
    // Step 5 finished the standardisation; step 10 is the first with both PSI windows full.
    expect(reports[4]?.pageHinkley.combined).toBeUndefined();
    expect(reports[5]?.pageHinkley.combined).toBeDefined();
    expect(reports[8]?.psi.combined).toBeUndefined();
    expect(reports[9]?.psi.combined).toBeDefined();
  });

  it('trips PSI and Page-Hinkley (increase) on a mean shift of the dimension that shifted only, once each', () => {
    const m = new DriftMonitor(OPTIONS);
    const reports = stream(
      40,
      (s) => (s <= 20 ? 1 : 1.2),
      () => null,
    ).map((o) => m.observeStep(o));
    const trips = reports.flatMap((r) => r.trips);
    const psiTrips = trips.filter((t) => t.detector === 'psi');
    expect(psiTrips.map((t) => t.dimension)).toEqual(['combined']);
    expect(psiTrips[0]?.step).toBeGreaterThan(20);
    expect(psiTrips[0]?.step).toBeLessThanOrEqual(23);
    const ph = trips.filter((t) => t.detector === 'page_hinkley');
    expect(ph[0]).toMatchObject({ dimension: 'combined', direction: 'increase', threshold: 10 });
    expect(ph[0]?.step).toBeGreaterThan(20);
    expect(ph.every((t) => t.dimension === 'combined')).toBe(true);
    expect(trips.some((t) => t.detector === 'proxy_gold_divergence')).toBe(false);
  });

  it('trips the hacking detector once when the reward rises while gold falls, not when gold rises too', () => {
    const hacked = new DriftMonitor(OPTIONS);
    const h = stream(
      30,
      (s) => 1 + 0.01 * s,
      (s) => ({ acc: 0.6, q: 0.9 - 0.01 * s }),
    ).map((o) => hacked.observeStep(o));
    const trips = h.flatMap((r) => r.trips).filter((t) => t.detector === 'proxy_gold_divergence');
    expect(trips).toHaveLength(1);
    expect(trips[0]?.step).toBe(8);
    expect(trips[0]?.value).toBeGreaterThanOrEqual(2.5);
    // gold overall = 0.6·accuracy + 0.4·quality
    expect(h[0]?.gold).toBeCloseTo(0.6 * 0.6 + 0.4 * 0.89, 1);
    const honest = new DriftMonitor(OPTIONS);
    const c = stream(
      30,
      (s) => 1 + 0.01 * s,
      (s) => ({ acc: 0.6 + 0.005 * s, q: 0.9 }),
    ).map((o) => honest.observeStep(o));
    expect(c.flatMap((r) => r.trips).filter((t) => t.detector === 'proxy_gold_divergence')).toEqual([]);
    expect(c.at(-1)?.proxyGoldDivergence).toBeLessThan(0);
  });

  it('resumes from a JSON round trip of its state with identical reports', () => {
    const obs = stream(
      40,
      (s) => (s <= 20 ? 1 : 1.2),
      (s) => ({ acc: 0.6, q: 0.9 - 0.005 * s }),
    );
    const whole = new DriftMonitor(OPTIONS);
    const expected = obs.map((o) => whole.observeStep(o));
    const first = new DriftMonitor(OPTIONS);
    const got: DriftStepReport[] = obs.slice(0, 17).map((o) => first.observeStep(o));
    const resumed = new DriftMonitor(OPTIONS, JSON.parse(JSON.stringify(first.state())) as ReturnType<DriftMonitor['state']>);
    got.push(...obs.slice(17).map((o) => resumed.observeStep(o)));
    expect(got).toEqual(expected);
  });

  it('compares anchor passes with the first and the previous pass; trips on a reordering RM change', () => {
    const m = new DriftMonitor(OPTIONS);
    const pass = (step: number, version: string, scores: number[]): AnchorPass => ({
      step,
      rmVersions: [version],
      videoIds: ['a', 'b', 'c', 'd'],
      scores: { combined: scores, TA: scores },
      means: { combined: scores.reduce((s, x) => s + x, 0) / scores.length, TA: scores.reduce((s, x) => s + x, 0) / scores.length },
      judgments: 4,
      failedJudgments: 0,
    });
    const p0 = m.observeAnchors(pass(0, 'rm-v1', [0.1, 0.2, 0.3, 0.4]));
    expect(p0).toMatchObject({ firstPass: true, sincePrevious: null, rmVersionChanged: false, trips: [] });
    expect(p0.kendallTau.combined).toBe(1);
    const p1 = m.observeAnchors(pass(25, 'rm-v1', [0.1, 0.2, 0.3, 0.4]));
    expect(p1).toMatchObject({ firstPass: false, rmVersionChanged: false, trips: [] });
    expect(p1.meanShift.combined).toBe(0);
    const p2 = m.observeAnchors(pass(30, 'rm-v2', [0.5, 0.4, 0.3, 0.2]));
    expect(p2.rmVersionChanged).toBe(true);
    expect(p2.kendallTau.combined).toBe(-1);
    expect(p2.meanShift.combined).toBeCloseTo(0.1, 12);
    expect(p2.sincePrevious).toMatchObject({ step: 25, rmVersions: ['rm-v1'] });
    expect(p2.trips.map((t) => `${t.detector}:${t.dimension ?? ''}`).sort()).toEqual([
      'anchor_kendall_tau:TA',
      'anchor_kendall_tau:combined',
      'anchor_mean_shift:TA',
      'anchor_mean_shift:combined',
    ]);
    // Still drifted on the next pass: no repeated trip; back to normal: re-armed.
    expect(m.observeAnchors(pass(50, 'rm-v2', [0.5, 0.4, 0.3, 0.2])).trips).toEqual([]);
    expect(m.observeAnchors(pass(55, 'rm-v1', [0.1, 0.2, 0.3, 0.4])).trips).toEqual([]);
    expect(m.observeAnchors(pass(60, 'rm-v2', [0.5, 0.4, 0.3, 0.2])).trips).toHaveLength(4);
    expect(() => m.observeAnchors({ ...pass(75, 'rm-v1', [1, 2, 3, 4]), videoIds: ['x', 'b', 'c', 'd'] })).toThrow(/different videos/);
  });

  it('accepts the config section monitoring.drift as its options', () => {
    const c = v1Config();
    const m = new DriftMonitor(c.monitoring.drift);
    expect(m.observeStep({ step: 1, rewardsByDimension: { combined: [1, 2] }, goldAccuracy: null }).trips).toEqual([]);
    expect(() => new DriftMonitor({ ...c.monitoring.drift, psiBins: 1 })).toThrow(/psiBins/);
  });
});
