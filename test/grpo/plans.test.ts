import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  bradleyTerry,
  defaultAdaptiveBudget,
  imputedWinRates,
  planComparisons,
  startPlan,
  weightedWinner,
  winRates,
  type Comparison,
  type ComparisonOutcome,
  type ComparisonPlan,
} from '../../src/grpo/index.js';
import { kendallTau } from '../../src/metrics/drift/kendall-tau.js';

type Judge = (c: Comparison) => 0 | 1 | 2 | null;

/** Drives a plan session to its end with a judge; the rounds it handed out, and every outcome. */
function drive(n: number, plan: ComparisonPlan, bothOrders: boolean, seed: number, judge: Judge): { rounds: Comparison[][]; outcomes: ComparisonOutcome[] } {
  const session = startPlan(n, plan, { bothOrders, rng: Rng.fromSeed(seed) });
  const rounds: Comparison[][] = [];
  const outcomes: ComparisonOutcome[] = [];
  for (let i = 0; i < 1000; i++) {
    const round = session.next(outcomes);
    if (round.length === 0) {
      expect(session.next(outcomes)).toEqual([]); // done stays done
      return { rounds, outcomes };
    }
    rounds.push(round);
    for (const c of round) outcomes.push({ ...c, winner: judge(c) });
  }
  throw new Error('the plan never finished');
}

/** A judge by known strengths plus Gaussian noise (0 = noiseless and transitive). */
function strengthJudge(strength: readonly number[], noise: number, rng: Rng): Judge {
  return (c) => ((strength[c.first] ?? 0) - (strength[c.second] ?? 0) + noise * rng.normal() > 0 ? 1 : 2);
}

const pairKey = (c: Comparison): string => (c.first < c.second ? `${c.first}-${c.second}` : `${c.second}-${c.first}`);

const PLANS: readonly ComparisonPlan[] = [
  { kind: 'all-pairs' },
  { kind: 'k-opponents', k: 1 },
  { kind: 'k-opponents', k: 3 },
  { kind: 'adaptive', budget: 1 },
  { kind: 'adaptive', budget: 7 },
  { kind: 'adaptive', budget: 24 },
  { kind: 'adaptive', budget: 40, stopWhenSettled: false },
  { kind: 'adaptive', budget: 70, roundSize: 3, stopWhenSettled: false },
  { kind: 'adaptive', budget: 12, roundSize: 1 },
  { kind: 'adaptive', budget: 24, settleDistance: 2 },
];

describe('comparison plans: every plan hands out valid comparisons', () => {
  for (const plan of PLANS) {
    for (const bothOrders of [false, true]) {
      if (plan.kind === 'adaptive' && bothOrders && plan.budget < 2) continue;
      it(`${JSON.stringify(plan)}${bothOrders ? ', both orders' : ''}`, () => {
        for (const n of [2, 3, 5, 8]) {
          for (let seed = 0; seed < 6; seed++) {
            const noise = Rng.fromSeed(1000 + seed);
            // Random answers (ties included) so that adaptive plans see messy, intransitive outcomes.
            const { rounds, outcomes } = drive(n, plan, bothOrders, seed, () => noise.pick([0, 1, 2] as const));
            const all = rounds.flat();
            for (const c of all) {
              expect(Number.isInteger(c.first) && Number.isInteger(c.second)).toBe(true);
              expect(c.first).not.toBe(c.second);
              expect(Math.min(c.first, c.second)).toBeGreaterThanOrEqual(0);
              expect(Math.max(c.first, c.second)).toBeLessThan(n);
            }
            expect(outcomes).toHaveLength(all.length);
            const pairs = (n * (n - 1)) / 2;
            if (plan.kind === 'adaptive') expect(all.length).toBeLessThanOrEqual(plan.budget);
            else {
              expect(rounds.length).toBeLessThanOrEqual(1);
              expect(all).toEqual(planComparisons(n, plan, { bothOrders, rng: Rng.fromSeed(seed) }));
            }
            if (plan.kind === 'all-pairs') expect(all).toHaveLength(pairs * (bothOrders ? 2 : 1));
            // Both orders: every round holds each pair as often in one order as in the other.
            if (bothOrders) {
              for (const round of rounds) {
                const count = new Map<string, number>();
                for (const c of round) count.set(`${c.first}>${c.second}`, (count.get(`${c.first}>${c.second}`) ?? 0) + 1);
                for (const c of round) expect(count.get(`${c.second}>${c.first}`)).toBe(count.get(`${c.first}>${c.second}`));
              }
            }
            // No pair again before every pair of the group has been judged (both orders of a round are one entry).
            const seen = new Set<string>();
            for (const round of rounds) {
              const entries = [...new Set(round.map(pairKey))];
              for (const key of entries) {
                if (seen.has(key)) expect(seen.size).toBe(pairs);
                seen.add(key);
              }
            }
          }
        }
      });
    }
  }

  it('is deterministic given the rng, and varies which video is shown first', () => {
    const strength = [3, 1, 4, 1.5, 5, 9, 2, 6];
    const judge: Judge = (c) => ((strength[c.first] ?? 0) > (strength[c.second] ?? 0) ? 1 : 2);
    const plan: ComparisonPlan = { kind: 'adaptive', budget: 24 };
    expect(drive(8, plan, false, 5, judge).rounds).toEqual(drive(8, plan, false, 5, judge).rounds);
    expect(drive(8, plan, false, 6, judge).rounds).not.toEqual(drive(8, plan, false, 5, judge).rounds);
    let lowerFirst = 0;
    let total = 0;
    for (let seed = 0; seed < 20; seed++) {
      for (const c of drive(8, plan, false, seed, judge).rounds.flat()) {
        total += 1;
        if (c.first < c.second) lowerFirst += 1;
      }
    }
    expect(lowerFirst / total).toBeGreaterThan(0.35);
    expect(lowerFirst / total).toBeLessThan(0.65);
  });

  it('adaptive: round 1 is a perfect pairing, and a round never shows a video twice', () => {
    for (let seed = 0; seed < 10; seed++) {
      const first = planComparisons(8, { kind: 'adaptive', budget: 24 }, { bothOrders: false, rng: Rng.fromSeed(seed) });
      expect(first).toHaveLength(4);
      expect(new Set(first.flatMap((c) => [c.first, c.second])).size).toBe(8);
      const odd = planComparisons(7, { kind: 'adaptive', budget: 24 }, { bothOrders: true, rng: Rng.fromSeed(seed) });
      expect(odd).toHaveLength(6); // 3 pairs, one bye, both orders
      const { rounds } = drive(8, { kind: 'adaptive', budget: 28, stopWhenSettled: false }, false, seed, () => 1);
      for (const round of rounds) expect(new Set(round.flatMap((c) => [c.first, c.second])).size).toBe(2 * round.length);
    }
  });

  it('adaptive: a repeated pair (after every pair was judged) swaps which video goes first', () => {
    const { rounds } = drive(4, { kind: 'adaptive', budget: 12, stopWhenSettled: false }, false, 3, () => 1);
    const all = rounds.flat();
    expect(all).toHaveLength(12);
    const firstSix = all.slice(0, 6);
    expect(new Set(firstSix.map(pairKey)).size).toBe(6);
    for (const c of all.slice(6)) {
      const earlier = firstSix.find((e) => pairKey(e) === pairKey(c));
      expect(earlier).toEqual({ first: c.second, second: c.first });
    }
  });

  it('adaptive: a failed comparison is retried once in a later round, budget permitting', () => {
    // Every comparison fails: each of the 6 pairs is asked twice (the retry, in the same order), never a third time.
    const { rounds } = drive(4, { kind: 'adaptive', budget: 12 }, false, 1, () => null);
    expect(rounds.flat()).toHaveLength(12);
    const asked = new Map<string, number>();
    for (const c of rounds.flat()) asked.set(`${c.first}>${c.second}`, (asked.get(`${c.first}>${c.second}`) ?? 0) + 1);
    expect(asked.size).toBe(6);
    expect([...asked.values()].every((k) => k === 2)).toBe(true);
    expect(rounds[1]?.slice(0, 2)).toEqual(rounds[0]);
    // With a budget of 3 only one of round 1's two failures can be retried.
    const tight = drive(4, { kind: 'adaptive', budget: 3 }, false, 1, () => null).rounds;
    expect(tight.flat()).toHaveLength(3);
    expect(tight[1]).toEqual(tight[0]?.slice(0, 1));
  });

  it('rejects outcomes that do not match what was handed out, and bad settings', () => {
    const session = startPlan(4, { kind: 'adaptive', budget: 8 }, { bothOrders: false, rng: Rng.fromSeed(1) });
    const round = session.next([]);
    expect(() => session.next([])).toThrow(RangeError);
    const wrong = round.map((c) => ({ first: c.second, second: c.first, winner: 1 as const }));
    expect(() => session.next(wrong)).toThrow(/matches no comparison/);
    expect(session.next(round.map((c) => ({ ...c, winner: 1 as const }))).length).toBeGreaterThan(0);
    expect(() => startPlan(1, { kind: 'all-pairs' }, { bothOrders: false, rng: Rng.fromSeed(1) })).toThrow(RangeError);
    expect(() => startPlan(8, { kind: 'adaptive', budget: 0 }, { bothOrders: false, rng: Rng.fromSeed(1) })).toThrow(/budget/);
    expect(() => startPlan(8, { kind: 'adaptive', budget: 1 }, { bothOrders: true, rng: Rng.fromSeed(1) })).toThrow(/both orders/);
    expect(() => startPlan(8, { kind: 'adaptive', budget: 8, roundSize: 0 }, { bothOrders: false, rng: Rng.fromSeed(1) })).toThrow(/roundSize/);
    const fixed = startPlan(4, { kind: 'all-pairs' }, { bothOrders: false, rng: Rng.fromSeed(1) });
    const all = fixed.next([]);
    expect(all).toHaveLength(6);
    expect(fixed.next(all.map((c) => ({ ...c, winner: 0 as const })))).toEqual([]);
  });
});

describe('adaptive plan: settles on known strengths', () => {
  it('the default budget is ⌈G·log₂G⌉', () => {
    expect(defaultAdaptiveBudget(8)).toBe(24);
    expect(defaultAdaptiveBudget(4)).toBe(8);
    expect(defaultAdaptiveBudget(6)).toBe(16);
  });

  it('recovers the exact ranking of a noiseless transitive judge within the default budget, and stops early', () => {
    let judgments = 0;
    const runs = 60;
    for (let seed = 0; seed < runs; seed++) {
      const rng = Rng.fromSeed(500 + seed);
      const strength = Array.from({ length: 8 }, () => rng.normal());
      const { outcomes } = drive(8, { kind: 'adaptive', budget: defaultAdaptiveBudget(8) }, false, seed, strengthJudge(strength, 0, rng));
      judgments += outcomes.length;
      expect(kendallTau(bradleyTerry(8, outcomes), strength)).toBe(1);
    }
    // Fewer than all 28 pairs on average: the plan stops once adjacent videos were compared directly (about 16).
    expect(judgments / runs).toBeLessThan(18);
  });

  it('settling on videos two places apart costs more judgments and still recovers a noiseless ranking', () => {
    let near = 0;
    let far = 0;
    for (let seed = 0; seed < 30; seed++) {
      const rng = Rng.fromSeed(700 + seed);
      const strength = Array.from({ length: 8 }, () => rng.normal());
      const judge = strengthJudge(strength, 0, rng);
      near += drive(8, { kind: 'adaptive', budget: 28 }, false, seed, judge).outcomes.length;
      const outcomes = drive(8, { kind: 'adaptive', budget: 28, settleDistance: 2 }, false, seed, judge).outcomes;
      far += outcomes.length;
      expect(kendallTau(bradleyTerry(8, outcomes), strength)).toBe(1);
    }
    expect(far).toBeGreaterThan(near + 30);
    expect(() => startPlan(8, { kind: 'adaptive', budget: 8, settleDistance: 0 }, { bothOrders: false, rng: Rng.fromSeed(1) })).toThrow(/settleDistance/);
  });

  it('ranks well with a noisy judge, better than as many random opponents', () => {
    let tauAdaptive = 0;
    let tauRandom = 0;
    const runs = 80;
    for (let seed = 0; seed < runs; seed++) {
      const rng = Rng.fromSeed(900 + seed);
      const strength = Array.from({ length: 8 }, () => 2 * rng.normal());
      const judge = strengthJudge(strength, 0.5, rng);
      const adaptive = drive(8, { kind: 'adaptive', budget: 16 }, false, seed, judge).outcomes;
      tauAdaptive += kendallTau(bradleyTerry(8, adaptive), strength) / runs;
      const random = drive(8, { kind: 'k-opponents', k: 2 }, false, seed, judge).outcomes;
      tauRandom += kendallTau(bradleyTerry(8, random), strength) / runs;
    }
    expect(tauAdaptive).toBeGreaterThan(0.85);
    expect(tauAdaptive).toBeGreaterThan(tauRandom + 0.03);
  });
});

describe('rewards from partial plans', () => {
  it('win-rates on a hand-built partial graph (ties ½, failures excluded, an unplayed video NaN)', () => {
    const o: ComparisonOutcome[] = [
      { first: 0, second: 1, winner: 1 }, // 0 beats 1
      { first: 3, second: 2, winner: 2 }, // 2 beats 3
      { first: 2, second: 0, winner: 2 }, // 0 beats 2
      { first: 1, second: 3, winner: 0 }, // 1 ties 3
      { first: 1, second: 2, winner: null }, // failed
    ];
    // 0: 2/2; 1: ½/2; 2: 1/2; 3: ½/2; 4: never compared.
    expect(winRates(5, o)).toEqual([1, 0.25, 0.5, 0.25, NaN]);
    const bt = bradleyTerry(5, o);
    expect(bt[4]).toBeNaN();
    expect(bt[0]).toBeGreaterThan(bt[2] ?? Infinity);
    expect(bt[2]).toBeGreaterThan(bt[1] ?? Infinity);
    // 1 and 3 have the same record against the same kind of graph position: both tied with each other, one loss each
    // (to 0 and to 2); 0 beat 2, so losing to 0 is the lesser loss: 1 ranks above 3.
    expect(bt[1]).toBeGreaterThan(bt[3] ?? Infinity);
  });

  it('Bradley–Terry on a chain of direct wins: the order of the chain, symmetric about the middle', () => {
    const chain: ComparisonOutcome[] = [
      { first: 2, second: 0, winner: 1 }, // 2 > 0
      { first: 1, second: 0, winner: 2 }, // 0 > 1
    ];
    const s = bradleyTerry(3, chain);
    expect(s[2]).toBeGreaterThan(s[0] ?? Infinity);
    expect(s[0]).toBeCloseTo(0, 8);
    expect(s[2]).toBeCloseTo(-(s[1] ?? 0), 8);
    // Win-rates of the same chain: 1, ½, 0.
    expect(winRates(3, chain)).toEqual([0.5, 0, 1]);
  });

  it('imputed win-rates: observed pairs as judged, missing pairs from the Bradley–Terry fit', () => {
    const o: ComparisonOutcome[] = [
      { first: 0, second: 1, winner: 1 }, // 0 beats 1
      { first: 2, second: 1, winner: 0 }, // 1 ties 2
      { first: 1, second: 2, winner: 2 }, // 2 beats 1: the pair 1–2 scores ¾ for 2
      { first: 0, second: 2, winner: null }, // failed: 0–2 is not judged usably
    ];
    const bt = bradleyTerry(4, o);
    const p02 = 1 / (1 + Math.exp((bt[2] ?? 0) - (bt[0] ?? 0)));
    const r = imputedWinRates(4, o);
    // 1 met both others: (0 + ¼)/2; 0 and 2 share the missing pair; 3 never played and is nobody's opponent.
    expect(r[1]).toBeCloseTo(0.125, 12);
    expect(r[0]).toBeCloseTo((1 + p02) / 2, 12);
    expect(r[2]).toBeCloseTo((0.75 + (1 - p02)) / 2, 12);
    expect(r[3]).toBeNaN();
    expect(p02).toBeGreaterThan(0.5); // 0 beat the video that 2 only edged
    // With every pair judged equally often it is the win-rate.
    const rng = Rng.fromSeed(8);
    const full: ComparisonOutcome[] = [];
    for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) if (a !== b) full.push({ first: a, second: b, winner: rng.pick([0, 1, 2] as const) });
    const w = winRates(6, full);
    imputedWinRates(6, full).forEach((x, i) => expect(x).toBeCloseTo(w[i] ?? NaN, 12));
  });

  it('the combined winner that drives an adaptive plan weighs the dimensions answered', () => {
    const w = { TA: 1, MQ: 0.25, VQ: 0.25, overall: 0 };
    expect(weightedWinner({ TA: 1, MQ: 2, VQ: 2, overall: 2 }, w)).toBe(1);
    expect(weightedWinner({ TA: 0, MQ: 2, VQ: 0, overall: 1 }, w)).toBe(2);
    expect(weightedWinner({ TA: 0, MQ: 1, VQ: 2, overall: 1 }, w)).toBe(0);
    expect(weightedWinner({ TA: undefined, MQ: null, overall: 1 }, w)).toBeNull();
    expect(weightedWinner({ overall: 2 }, { overall: 1 })).toBe(2);
  });
});
