/** GRPO's rule-based rewards on hand-built traces: format, the accuracy mix, CoT gain as a sum of per-turn gains, the exploration incentive. */
import { describe, expect, it } from 'vitest';
import { answerAccuracy, cotGain, explorationBonus, traceRewards, type GoldPreferences, type RewardWeights } from '../../src/judge-training/index.js';
import { answer, trace } from './fixtures.js';

/** VQ is a gold tie: only OA, TA and MQ are scored. */
const gold: GoldPreferences = { TA: 1, MQ: 2, VQ: 0, OA: 1 };
const weights: RewardWeights = { format: 0.25, accuracy: 1, overallShare: 0.5, cotGain: 0.5 };

describe('accuracy: overallShare · [OA right] + (1 − overallShare) · mean over decided TA/MQ/VQ', () => {
  it('mixes overall and per-dimension correctness with the configured share', () => {
    expect(answerAccuracy(answer(1, 2, 0, 1), gold, 0.5, 'per-dimension')).toBeCloseTo(1, 12);
    expect(answerAccuracy(answer(1, 2, 2, 1), gold, 0.5, 'per-dimension')).toBeCloseTo(1, 12); // VQ is a gold tie: not scored
    expect(answerAccuracy(answer(1, 1, 0, 1), gold, 0.5, 'per-dimension')).toBeCloseTo(0.75, 12);
    expect(answerAccuracy(answer(2, 1, 0, 1), gold, 0.5, 'per-dimension')).toBeCloseTo(0.5, 12);
    expect(answerAccuracy(answer(1, 2, 0, 2), gold, 0.5, 'per-dimension')).toBeCloseTo(0.5, 12);
    expect(answerAccuracy(answer(2, 1, 0, 2), gold, 0.5, 'per-dimension')).toBeCloseTo(0, 12);
    const allDecided: GoldPreferences = { TA: 1, MQ: 1, VQ: 2, OA: 2 };
    // 0.4 · 1 (OA) + 0.6 · (0 + 1 + 1) / 3
    expect(answerAccuracy(answer(2, 1, 2, 2), allDecided, 0.4, 'per-dimension')).toBeCloseTo(0.8, 12);
    // share 1: overall only; share 0: per-dimension only.
    expect(answerAccuracy(answer(2, 2, 2, 2), allDecided, 1, 'per-dimension')).toBeCloseTo(1, 12);
    expect(answerAccuracy(answer(2, 2, 2, 2), allDecided, 0, 'per-dimension')).toBeCloseTo(1 / 3, 12);
  });

  it('renormalises over the decided terms and is null when nothing is decided', () => {
    expect(answerAccuracy(answer(1, 2, 2, 2), { TA: 1, MQ: 0, VQ: 0, OA: 0 }, 0.5, 'per-dimension')).toBeCloseTo(1, 12);
    expect(answerAccuracy(answer(2, 2, 2, 2), { TA: 1, MQ: 0, VQ: 0, OA: 0 }, 0.5, 'per-dimension')).toBeCloseTo(0, 12);
    expect(answerAccuracy(answer(1, 1, 1, 1), { TA: 0, MQ: 0, VQ: 0, OA: 0 }, 0.5, 'per-dimension')).toBeNull();
  });

  it('overall-only answers are scored on OA alone', () => {
    expect(answerAccuracy(answer(2, 1, 2, 1), gold, 0.5, 'overall-only')).toBe(1);
    expect(answerAccuracy(answer(1, 2, 0, 2), gold, 0.5, 'overall-only')).toBe(0);
  });
});

describe('CoT gain: the sum over turns of the gain of the (recommended) answer', () => {
  it('equals Σ_t acc(answer_t) − acc(answer_{t−1}) and is 0 for one turn', () => {
    const seqs = [
      [answer(2, 1, 0, 2), answer(2, 1, 0, 1), answer(1, 2, 0, 1)], // 0 → 0.5 → 1
      [answer(1, 1, 0, 1), answer(2, 1, 0, 1), answer(1, 2, 0, 1)], // 0.75 → 0.5 → 1
      [answer(1, 2, 0, 1), answer(2, 1, 0, 2)], // 1 → 0
      [answer(1, 1, 0, 1)],
    ];
    const expected = [1, 0.25, -1, 0];
    seqs.forEach((answers, k) => {
      const t = trace(gold, answers);
      const acc = answers.map((a) => answerAccuracy(a, gold, 0.5, 'per-dimension') ?? 0);
      const sum = acc.slice(1).reduce((s, x, i) => s + (x - (acc[i] ?? 0)), 0);
      expect(cotGain(t, 0.5, 'per-dimension')).toBeCloseTo(sum, 12);
      expect(cotGain(t, 0.5, 'per-dimension')).toBeCloseTo(expected[k] ?? NaN, 12);
    });
  });

  it('uses the same accuracy mix (overall-only: OA flips only)', () => {
    const t = trace(gold, [answer(2, 1, 0, 2), answer(2, 1, 0, 1)]);
    expect(cotGain(t, 0.5, 'overall-only')).toBe(1);
    expect(cotGain(t, 0.8, 'per-dimension')).toBeCloseTo(0.8, 12);
  });
});

describe('traceRewards: w_format · format + w_accuracy · accuracy + w_cot · CoT gain', () => {
  it('adds the weighted terms of a well-formed trace', () => {
    const r = traceRewards(trace(gold, [answer(2, 1, 0, 2), answer(1, 1, 0, 1)]), weights, 'per-dimension');
    expect(r).toEqual({ format: 1, accuracy: 0.75, cotGain: 0.75, total: expect.closeTo(0.25 + 0.75 + 0.5 * 0.75, 12) as number });
  });

  it('gives no format reward to a malformed trace, and no accuracy to one without a verdict', () => {
    const forced = traceRewards(trace(gold, [answer(1, 2, 0, 1)], { forced: true }), weights, 'per-dimension');
    expect(forced.format).toBe(0);
    expect(forced.accuracy).toBe(1);
    expect(forced.total).toBeCloseTo(1, 12);
    const failed = traceRewards(trace(gold, [answer(1, 2, 0, 1)], { failed: true, final: null }), weights, 'per-dimension');
    expect(failed.format).toBe(0);
    expect(failed.accuracy).toBe(0);
  });

  it('honours the weights (zero CoT weight: the CoT term is reported but not added)', () => {
    const r = traceRewards(trace(gold, [answer(2, 1, 0, 2), answer(1, 2, 0, 1)]), { ...weights, cotGain: 0 }, 'per-dimension');
    expect(r.cotGain).toBe(1);
    expect(r.total).toBeCloseTo(0.25 + 1, 12);
  });
});

describe('exploration incentive: a bonus for traces that looked at extra frames, only while their share is below the floor', () => {
  const looked = trace(gold, [answer(1, 1, 0, 1), answer(1, 2, 0, 1)]);
  const direct = trace(gold, [answer(1, 2, 0, 1)]);
  /** A tool call that returned an error showed no frames: not exploring. */
  const failedCall = trace(gold, [answer(1, 2, 0, 1)], { toolCalls: 1, successfulCalls: 0 });
  const batch = (explored: number, n: number): (typeof looked)[] =>
    Array.from({ length: n }, (_, i) => (i < explored ? looked : i % 2 === 0 ? direct : failedCall));

  it('below the floor: every exploring trace gets the bonus, the others nothing', () => {
    const b = explorationBonus(batch(2, 10), { floor: 0.3, bonus: 0.2 });
    expect(b.share).toBeCloseTo(0.2, 12);
    expect(b.active).toBe(true);
    expect(b.bonuses).toEqual([0.2, 0.2, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('at or above the floor, or with bonus 0, nothing is added', () => {
    for (const [explored, o] of [
      [3, { floor: 0.3, bonus: 0.2 }],
      [6, { floor: 0.3, bonus: 0.2 }],
      [1, { floor: 0.3, bonus: 0 }],
      [0, { floor: 0, bonus: 0.2 }],
    ] as const) {
      const b = explorationBonus(batch(explored, 10), o);
      expect(b.active, JSON.stringify({ explored, o })).toBe(false);
      expect(b.bonuses.every((x) => x === 0)).toBe(true);
    }
  });

  it('counts only tool calls that showed frames', () => {
    const b = explorationBonus([failedCall, failedCall, looked, direct], { floor: 0.5, bonus: 0.1 });
    expect(b.share).toBe(0.25);
    expect(b.bonuses).toEqual([0, 0, 0.1, 0]);
  });
});
