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
  parseDriftMonitorState,
  psi,
  quantileEdges,
  type AnchorPass,
  type DriftMonitorOptions,
  type DriftTrip,
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

  it("baseline 'first' measures from the first sample (hand-computed) and makes the tripping level the new reference", () => {
    // δ = 0.5, λ = 4: zeros, then 2s. Each 2 adds 2 − 0 − 0.5 = 1.5 to the increase statistic: 1.5, 3, 4.5 (> λ).
    const ph = new PageHinkley({ delta: 0.5, lambda: 4, minSamples: 2, baseline: 'first' });
    const xs = [0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    const results = xs.map((x) => ph.update(x));
    expect(results.map((r) => r.statistic).slice(3, 6)).toEqual([1.5, 3, 4.5]);
    expect(results.map((r, i) => (r.tripped === null ? null : `${i}:${r.tripped}`)).filter((t) => t !== null)).toEqual(['5:increase']);
    // The running-mean baseline absorbs the same change into its mean: it never trips on these samples.
    const running = new PageHinkley({ delta: 0.5, lambda: 4, minSamples: 2 });
    expect(xs.findIndex((x) => running.update(x).tripped !== null)).toBe(-1);
    // Back to 0 after the trip: a change against the new level (2), a decrease.
    const back = [0, 0, 0].map((x) => ph.update(x).tripped);
    expect(back).toEqual([null, null, 'decrease']);
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
  anchors: { tauThreshold: 0.8, meanShiftThreshold: 0.05, psiBins: 4, psiThreshold: 0.1, pageHinkley: { delta: 0.5, lambda: 4, minSamples: 2 } },
};
/** The behaviour before issue 21: PSI and Page-Hinkley of the policy's rewards trip. */
const TRIPPING: DriftMonitorOptions = { ...OPTIONS, policyRewards: 'trip' };

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
/** First-pass anchor scores of 16 videos (std ≈ 0.19, so the SE of their mean is ≈ 0.048). */
const SCORES = range(16, (i) => 0.2 + 0.04 * i);
/** An anchor pass with the same scores on `combined` and `TA`; `failed` = index of a video whose judgment failed. */
function anchorPass(step: number, version: string, scores: readonly number[], failed?: number): AnchorPass {
  const s = scores.map((x, i) => (i === failed ? NaN : x));
  const m = mean(s.filter(Number.isFinite));
  return {
    step,
    rmVersions: [version],
    videoIds: s.map((_, i) => `v${i}`),
    scores: { combined: s, TA: [...s] },
    means: { combined: m, TA: m },
    judgments: 8,
    failedJudgments: failed === undefined ? 0 : 1,
  };
}

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

  it("policyRewards 'trip': trips PSI and Page-Hinkley (increase) on a mean shift of the dimension that shifted only, once each", () => {
    const m = new DriftMonitor(TRIPPING);
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
    expect(trips.filter((t) => t.detector !== 'proxy_gold_divergence').every((t) => t.source === 'policy')).toBe(true);
    expect(trips.some((t) => t.detector === 'proxy_gold_divergence')).toBe(false);
  });

  it("policyRewards 'gauge' (the default): the same moving rewards move the PSI and Page-Hinkley gauges, and nothing trips", () => {
    const obs = stream(
      40,
      (s) => (s <= 20 ? 1 : 1.2),
      () => null,
    );
    const gauge = new DriftMonitor(OPTIONS);
    const tripping = new DriftMonitor(TRIPPING);
    const g = obs.map((o) => gauge.observeStep(o));
    const t = obs.map((o) => tripping.observeStep(o));
    expect(g.flatMap((r) => r.trips)).toEqual([]);
    expect(t.flatMap((r) => r.trips).length).toBeGreaterThanOrEqual(2);
    // The gauges are the same numbers in both modes, and they moved: PSI well above its threshold after the shift.
    expect(g.map((r) => [r.psi, r.pageHinkley])).toEqual(t.map((r) => [r.psi, r.pageHinkley]));
    expect(Math.max(...g.map((r) => r.psi.combined ?? 0))).toBeGreaterThan(OPTIONS.psiThreshold);
    expect(Math.max(...g.map((r) => r.pageHinkley.combined ?? 0))).toBeGreaterThan(1);
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

  it('resumes from a JSON round trip of its state (parsed as a checkpoint is) with identical reports, steps and anchor passes', () => {
    const obs = stream(
      40,
      (s) => (s <= 20 ? 1 : 1.2),
      (s) => ({ acc: 0.6, q: 0.9 - 0.005 * s }),
    );
    // Anchor passes every 5 steps; the RM changes at step 20 (a NaN = a failed judgment, written as null in JSON).
    const passes = new Map(range(8, (k) => [5 * k, anchorPass(5 * k, k < 4 ? 'rm-v1' : 'rm-v2', k < 4 ? SCORES : SCORES.map((x, i) => x + 0.02 * i), 3)]));
    const run = (m: DriftMonitor, from: number, to: number): unknown[] =>
      obs.slice(from, to).flatMap((o) => {
        const p = passes.get(o.step);
        return p === undefined ? [m.observeStep(o)] : [m.observeStep(o), m.observeAnchors(p)];
      });
    const whole = new DriftMonitor(TRIPPING);
    const expected = [whole.observeAnchors(anchorPass(0, 'rm-v1', SCORES, 3)), ...run(whole, 0, 40)];
    const first = new DriftMonitor(TRIPPING);
    const got = [first.observeAnchors(anchorPass(0, 'rm-v1', SCORES, 3)), ...run(first, 0, 17)];
    const resumed = new DriftMonitor(TRIPPING, parseDriftMonitorState(JSON.parse(JSON.stringify(first.state()))));
    got.push(...run(resumed, 17, 40));
    expect(got).toEqual(expected);
    expect(JSON.stringify(expected)).toMatch(/"source":"anchors"/);
  });

  it('loads a state saved before anchor Page-Hinkley existed, and refuses a damaged one with CHECKPOINT_INVALID', () => {
    const m = new DriftMonitor(OPTIONS);
    m.observeAnchors(anchorPass(0, 'rm-v1', SCORES));
    m.observeAnchors(anchorPass(10, 'rm-v1', SCORES));
    const { anchorPh, ...old } = m.state();
    expect(Object.keys(anchorPh ?? {})).toEqual(['combined', 'TA']);
    const restored = new DriftMonitor(OPTIONS, parseDriftMonitorState(JSON.parse(JSON.stringify(old))));
    // Restarted from the first pass (z = 0): a large shift still trips Page-Hinkley at once.
    const shifted = restored.observeAnchors(
      anchorPass(
        20,
        'rm-v2',
        SCORES.map((x) => x + 0.3),
      ),
    );
    expect(shifted.trips.filter((t) => t.detector === 'anchor_page_hinkley').map((t) => t.dimension)).toEqual(['combined', 'TA']);
    expect(parseDriftMonitorState(null)).toBeUndefined();
    const bad = { ...JSON.parse(JSON.stringify(old)), ph: { combined: { n: 'three' } } } as unknown;
    expect(() => parseDriftMonitorState(bad)).toThrow(
      expect.objectContaining({ code: 'CHECKPOINT_INVALID', details: { field: 'drift.ph.combined.n' } }) as Error,
    );
  });

  it('anchor passes of an unchanged RM: PSI 0, Page-Hinkley 0, no trip, however long the run', () => {
    const m = new DriftMonitor(OPTIONS);
    const reports = range(30, (k) => m.observeAnchors(anchorPass(10 * k, 'rm-v1', SCORES, 5)));
    expect(reports.flatMap((r) => r.trips)).toEqual([]);
    for (const r of reports) {
      expect(r.psi).toEqual({ combined: 0, TA: 0 });
      expect(r.pageHinkley).toEqual({ combined: 0, TA: 0 });
    }
  });

  it('anchor passes of a changed RM: PSI and Page-Hinkley trip once on the dimension that moved (source anchors), re-arm when it is back', () => {
    const m = new DriftMonitor(OPTIONS);
    // combined: every video scored 0.1 higher from step 30 (the SE of the first pass's mean is ≈ 0.048: z ≈ 2.1, so
    // Page-Hinkley gains z − δ ≈ 1.6 a pass and passes λ = 4 at the third shifted pass); TA unchanged.
    const pass = (step: number, shifted: boolean): AnchorPass => {
      const p = anchorPass(step, shifted ? 'rm-v2' : 'rm-v1', SCORES);
      const combined = SCORES.map((x) => (shifted ? x + 0.1 : x));
      return { ...p, scores: { ...p.scores, combined }, means: { ...p.means, combined: mean(combined) } };
    };
    const reports = [0, 10, 20].map((s) => m.observeAnchors(pass(s, false)));
    reports.push(...[30, 40, 50, 60, 70].map((s) => m.observeAnchors(pass(s, true))));
    const trips = reports.flatMap((r) => r.trips).filter((t) => t.detector === 'anchor_psi' || t.detector === 'anchor_page_hinkley');
    expect(trips.map((t) => `${t.step} ${t.detector} ${t.dimension ?? ''} ${t.direction ?? ''} ${t.source ?? ''}`)).toEqual([
      '30 anchor_psi combined  anchors',
      '50 anchor_page_hinkley combined increase anchors',
    ]);
    expect(reports[3]?.psi.combined).toBeGreaterThanOrEqual(OPTIONS.anchors.psiThreshold);
    expect(reports[3]?.psi.TA).toBe(0);
    // After its trip Page-Hinkley measures from the new level: quiet while the RM stays changed.
    expect(reports.at(-1)?.pageHinkley.combined).toBe(0);
    // The old RM back: PSI re-armed (0 < half the threshold) and trips again on the next change; Page-Hinkley sees the
    // way back as a decrease.
    const back = [80, 90, 100].map((s) => m.observeAnchors(pass(s, false)));
    expect(back.flatMap((r) => r.trips).map((t) => `${t.detector}:${t.direction ?? ''}`)).toEqual(['anchor_page_hinkley:decrease']);
    expect(m.observeAnchors(pass(110, true)).trips.map((t) => t.detector)).toContain('anchor_psi');
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
    // The ranking and mean-shift detectors (PSI and Page-Hinkley of the anchors are tested above).
    const anchorOnly = (trips: readonly DriftTrip[]): DriftTrip[] =>
      trips.filter((t) => t.detector === 'anchor_kendall_tau' || t.detector === 'anchor_mean_shift');
    expect(
      anchorOnly(p2.trips)
        .map((t) => `${t.detector}:${t.dimension ?? ''}`)
        .sort(),
    ).toEqual(['anchor_kendall_tau:TA', 'anchor_kendall_tau:combined', 'anchor_mean_shift:TA', 'anchor_mean_shift:combined']);
    // Still drifted on the next pass: no repeated trip; back to normal: re-armed.
    expect(anchorOnly(m.observeAnchors(pass(50, 'rm-v2', [0.5, 0.4, 0.3, 0.2])).trips)).toEqual([]);
    expect(anchorOnly(m.observeAnchors(pass(55, 'rm-v1', [0.1, 0.2, 0.3, 0.4])).trips)).toEqual([]);
    expect(anchorOnly(m.observeAnchors(pass(60, 'rm-v2', [0.5, 0.4, 0.3, 0.2])).trips)).toHaveLength(4);
    expect(() => m.observeAnchors({ ...pass(75, 'rm-v1', [1, 2, 3, 4]), videoIds: ['x', 'b', 'c', 'd'] })).toThrow(/different videos/);
  });

  it('accepts the config section monitoring.drift as its options (policy rewards: gauges by default)', () => {
    const c = v1Config();
    expect(c.monitoring.drift.policyRewards).toBe('gauge');
    const m = new DriftMonitor(c.monitoring.drift);
    expect(m.observeStep({ step: 1, rewardsByDimension: { combined: [1, 2] }, goldAccuracy: null }).trips).toEqual([]);
    expect(() => new DriftMonitor({ ...c.monitoring.drift, psiBins: 1 })).toThrow(/psiBins/);
    expect(() => new DriftMonitor({ ...c.monitoring.drift, anchors: { ...c.monitoring.drift.anchors, psiBins: 1 } })).toThrow(/anchors\.psiBins/);
    expect(() => v1Config({ monitoring: { drift: { policyRewards: 'page' } } })).toThrow(/policyRewards/);
  });
});
