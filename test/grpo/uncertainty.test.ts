import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { applyJudgeUncertainty, judgeUncertainty, orderedJudgments, type OrderedJudgment } from '../../src/grpo/index.js';
import type { VerdictAnswer } from '../../src/protocol/judge-types.js';

/** A comparison of `first` (shown first) and `second` whose overall answer is `oa` (1 first better, 2 second, 0 tie). */
const j = (first: number, second: number, oa: 0 | 1 | 2, extra: Partial<VerdictAnswer> = {}): OrderedJudgment => ({
  first,
  second,
  answer: { OA: oa, ...extra },
});

/** Both orders of every pair of a group of n with a transitive, position-blind judge: lower index wins. */
function consistent(n: number): OrderedJudgment[] {
  const out: OrderedJudgment[] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) out.push(j(a, b, 1), j(b, a, 2));
  return out;
}

/** Both orders of every pair with a judge that always prefers the video shown first: every pair flips. */
function positionBiased(n: number): OrderedJudgment[] {
  const out: OrderedJudgment[] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) out.push(j(a, b, 1), j(b, a, 1));
  return out;
}

const advantagesOf = (n: number): number[] => Array.from({ length: n }, (_, i) => (n - 1) / 2 - i);

describe('judge uncertainty: measurement', () => {
  it('finds no disagreement in consistent pairs', () => {
    const u = judgeUncertainty({ comparisons: consistent(4) });
    expect(u).toEqual({
      pairsBothOrders: 6,
      flips: 0,
      flipShare: 0,
      pairwiseDisagreement: 0,
      videosResampled: 0,
      pointwiseDisagreement: null,
      selfDisagreement: 0,
    });
  });

  it('finds full disagreement when every pair flips with the order', () => {
    const u = judgeUncertainty({ comparisons: positionBiased(4) });
    expect(u.flipShare).toBe(1);
    expect(u.selfDisagreement).toBe(1);
  });

  it('counts a tie against a win as half a disagreement and not as a flip', () => {
    // Pair 0-1: consistent. Pair 0-2: 0 first → 0 better; 2 first → tie. Pair 1-2: flips.
    const u = judgeUncertainty({ comparisons: [j(0, 1, 1), j(1, 0, 2), j(0, 2, 1), j(2, 0, 0), j(1, 2, 1), j(2, 1, 1)] });
    expect(u.pairsBothOrders).toBe(3);
    expect(u.flips).toBe(1);
    expect(u.flipShare).toBeCloseTo(1 / 3, 12);
    expect(u.pairwiseDisagreement).toBeCloseTo((0 + 0.5 + 1) / 3, 12);
  });

  it('ignores pairs seen in one order only and failed judgments (answer null)', () => {
    const u = judgeUncertainty({ comparisons: [j(0, 1, 1), j(0, 2, 1), { first: 2, second: 0, answer: null }, j(1, 2, 1), j(2, 1, 2)] });
    expect(u.pairsBothOrders).toBe(1);
    expect(u.flipShare).toBe(0);
    expect(judgeUncertainty({ comparisons: [j(0, 1, 1), { first: 1, second: 0, answer: null }] }).selfDisagreement).toBeNull();
  });

  it('uses the weighted winner of the reward dimensions when weights are given', () => {
    // OA agrees across the orders, TA flips: overall-only sees nothing, TA-only sees a flip.
    const cs = [j(0, 1, 1, { TA: 1 }), j(1, 0, 2, { TA: 1 })];
    expect(judgeUncertainty({ comparisons: cs }).flipShare).toBe(0);
    expect(judgeUncertainty({ comparisons: cs }, { weights: { TA: 1 } }).flipShare).toBe(1);
    // A judge that did not give TA carries no TA evidence.
    expect(judgeUncertainty({ comparisons: [j(0, 1, 1), j(1, 0, 1)] }, { weights: { TA: 1 } }).selfDisagreement).toBeNull();
  });

  it('averages repeated judgments of a pair per order before deciding on a flip', () => {
    // 0 first: 1, 1 (mean +1); 1 first: video 1 better once, video 0 better once (mean 0) → not a flip, disagreement ½.
    const u = judgeUncertainty({ comparisons: [j(0, 1, 1), j(0, 1, 1), j(1, 0, 1), j(1, 0, 2)] });
    expect(u.flips).toBe(0);
    expect(u.pairwiseDisagreement).toBeCloseTo(0.5, 12);
  });

  it('measures pointwise spread across samples, ignoring NaN, and combines it with the pairwise part', () => {
    const pointwise = [[0.5, 0.5, 0.5], [0.2, 0.6, NaN], [NaN], [0.9]];
    const u = judgeUncertainty({ pointwise });
    expect(u.videosResampled).toBe(2);
    expect(u.pointwiseDisagreement).toBeCloseTo((0 + 0.4) / 2, 12);
    expect(judgeUncertainty({ pointwise }, { pointwiseScale: 0.5 }).pointwiseDisagreement).toBeCloseTo(0.4, 12);
    const both = judgeUncertainty({ pointwise, comparisons: positionBiased(3) });
    expect(both.selfDisagreement).toBeCloseTo((1 + 0.2) / 2, 12);
  });

  it('reads the reward collector’s judged comparisons', () => {
    const judged = [
      { first: 0, second: 1, verdict: { answer: { OA: 1 as const } } },
      { first: 1, second: 0, verdict: { answer: null } },
    ];
    expect(orderedJudgments(judged)).toEqual([
      { first: 0, second: 1, answer: { OA: 1 } },
      { first: 1, second: 0, answer: null },
    ]);
  });
});

describe('judge uncertainty: advantage policies', () => {
  const adv = [advantagesOf(4), advantagesOf(4), [1, null, -1, null]];
  const evidence = [{ comparisons: consistent(4) }, { comparisons: positionBiased(4) }, {}];

  it("'none' changes nothing but reports", () => {
    const r = applyJudgeUncertainty(adv, evidence);
    expect(r.advantages).toEqual(adv);
    expect(r.groups.map((g) => g.action)).toEqual(['kept', 'kept', 'unmeasured']);
    expect(r.measured).toBe(2);
    expect(r.meanFlipShare).toBeCloseTo(0.5, 12);
    expect(r.meanSelfDisagreement).toBeCloseTo(0.5, 12);
  });

  it("'shrink' leaves consistent groups, zeroes all-flipping groups, scales partial ones by 1 − selfDisagreement", () => {
    const partial = { comparisons: [j(0, 1, 1), j(1, 0, 2), j(0, 2, 1), j(2, 0, 0)] }; // disagreement (0 + ½)/2 = ¼
    const r = applyJudgeUncertainty([...adv, [2, -2, null]], [...evidence, partial], { policy: 'shrink' });
    expect(r.advantages[0]).toEqual(advantagesOf(4));
    expect(r.advantages[1]).toEqual([0, 0, 0, 0]);
    expect(r.advantages[2]).toEqual([1, null, -1, null]);
    expect(r.advantages[3]).toEqual([1.5, -1.5, null]);
    expect(r.groups.map((g) => g.action)).toEqual(['kept', 'shrunk', 'unmeasured', 'shrunk']);
    expect(r.shrunk).toBe(2);
    expect(r.shrunkShare).toBe(0.5);
    expect(r.dropped).toBe(0);
    // The input is not modified.
    expect(adv[1]).toEqual(advantagesOf(4));
  });

  it("'drop' nulls a group above the threshold only", () => {
    const r = applyJudgeUncertainty(adv, evidence, { policy: 'drop', threshold: 0.5 });
    expect(r.advantages).toEqual([advantagesOf(4), [null, null, null, null], [1, null, -1, null]]);
    expect(r.dropped).toBe(1);
    expect(r.droppedShare).toBeCloseTo(1 / 3, 12);
    expect(r.groups[1]).toMatchObject({ action: 'dropped', factor: 0, flipShare: 1 });
    // At the threshold exactly: kept.
    const half = { comparisons: [j(0, 1, 1), j(1, 0, 2), j(0, 2, 1), j(2, 0, 1)] };
    expect(applyJudgeUncertainty([advantagesOf(3)], [half], { policy: 'drop', threshold: 0.5 }).dropped).toBe(0);
  });

  it('leaves an already masked group alone and rejects bad arguments', () => {
    const r = applyJudgeUncertainty([[null, null]], [{ comparisons: positionBiased(2) }], { policy: 'drop' });
    expect(r.advantages).toEqual([[null, null]]);
    expect(r.dropped).toBe(0);
    for (const f of [
      () => applyJudgeUncertainty([[1]], []),
      () => applyJudgeUncertainty([], [], { threshold: 2 }),
      () => judgeUncertainty({}, { pointwiseScale: 0 }),
      () => judgeUncertainty({}, { weights: { TA: -1 } }),
    ]) {
      let caught: unknown = null;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
