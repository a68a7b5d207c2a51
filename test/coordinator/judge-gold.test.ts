import { describe, expect, it } from 'vitest';
import { comparisonGold, emptyAgreement, judgeGoldAgreement, mergeAgreement } from '../../src/coordinator/judge-gold.js';
import { GOLD_TIE } from '../../src/judge-training/gold-pairs.js';
import type { VerdictAnswer } from '../../src/protocol/index.js';
import type { GoldScores } from '../../src/world/index.js';

/** Gold scores with overall = 0.6·TA + 0.2·MQ + 0.2·VQ, as the world computes it. */
const gold = (TA: number, MQ: number, VQ: number): GoldScores => ({ TA, MQ, VQ, overall: 0.6 * TA + 0.2 * MQ + 0.2 * VQ });

// A hand-built group of four videos: v0 is clearly better than v1 on TA, VQ and OA; v2 equals v0 within every margin;
// v3 has no gold (a prompt outside the world's grammar).
const scores: (GoldScores | null)[] = [gold(0.9, 0.8, 0.8), gold(0.5, 0.8, 0.3), gold(0.9, 0.82, 0.8), null];
const answer = (a: Partial<VerdictAnswer> & Pick<VerdictAnswer, 'OA'>): VerdictAnswer => a;

describe('judge-vs-gold agreement', () => {
  it('prefers the higher gold score per dimension, ties within GOLD_TIE, and credits 1 / ½ / 0', () => {
    const g = comparisonGold(answer({ TA: 0, MQ: 1, VQ: 2, OA: 2 }), scores[1] ?? gold(0, 0, 0), scores[0] ?? gold(0, 0, 0));
    // Shown first: v1 (worse). Gold prefers the second video on TA, VQ, OA; MQ ties (0.8 vs 0.8).
    expect(g.preference).toEqual({ TA: 2, MQ: 0, VQ: 2, OA: 2 });
    expect(g.credit).toEqual({ TA: 0.5, VQ: 1, OA: 1 });
    // Just inside and just outside the OA margin.
    const a = gold(0.5, 0.5, 0.5);
    const inside = { ...a, overall: a.overall + GOLD_TIE.OA * 0.9 };
    const outside = { ...a, overall: a.overall + GOLD_TIE.OA * 1.1 };
    expect(comparisonGold(answer({ OA: 1 }), inside, a).preference.OA).toBe(0);
    expect(comparisonGold(answer({ OA: 1 }), outside, a).credit).toEqual({ OA: 1 });
    expect(comparisonGold(answer({ OA: 2 }), outside, a).credit).toEqual({ OA: 0 });
  });

  it('summarises a group: gold ties and unknown gold are skipped, dimensions not given are not counted', () => {
    const comparisons = [
      { first: 0, second: 1, answer: answer({ TA: 1, MQ: 2, VQ: 1, OA: 1 }) }, // right on TA, VQ, OA; MQ is a gold tie
      { first: 1, second: 0, answer: answer({ TA: 0, VQ: 2, OA: 1 }) }, // OA wrong, TA a judge tie (½), VQ right, MQ not given
      { first: 0, second: 2, answer: answer({ TA: 1, MQ: 1, VQ: 1, OA: 1 }) }, // every dimension a gold tie
      { first: 1, second: 3, answer: answer({ OA: 2 }) }, // no gold for v3
      { first: 2, second: 1, answer: null }, // no answer
    ];
    const { summary, perComparison } = judgeGoldAgreement(comparisons, scores);
    expect(summary.comparisons).toBe(3);
    expect(summary.byDimension.OA).toEqual({ credit: 1, decided: 2, goldTies: 1, accuracy: 0.5 });
    expect(summary.byDimension.TA).toEqual({ credit: 1.5, decided: 2, goldTies: 1, accuracy: 0.75 });
    expect(summary.byDimension.MQ).toEqual({ credit: 0, decided: 0, goldTies: 3, accuracy: null });
    expect(summary.byDimension.VQ).toEqual({ credit: 2, decided: 2, goldTies: 1, accuracy: 1 });
    expect(perComparison.map((c) => c?.credit.OA ?? null)).toEqual([1, 0, null, null, null]);
    expect(perComparison[3]).toBeNull();
    expect(perComparison[4]).toBeNull();
    expect(perComparison[2]?.preference).toEqual({ TA: 0, MQ: 0, VQ: 0, OA: 0 });
  });

  it('pools agreements (a run total) by summing credit and decided comparisons', () => {
    const one = judgeGoldAgreement([{ first: 0, second: 1, answer: answer({ OA: 1 }) }], scores).summary;
    const two = judgeGoldAgreement(
      [
        { first: 0, second: 1, answer: answer({ OA: 2 }) },
        { first: 1, second: 0, answer: answer({ OA: 0 }) },
      ],
      scores,
    ).summary;
    const pooled = mergeAgreement(mergeAgreement(emptyAgreement(), one), two);
    expect(pooled.comparisons).toBe(3);
    expect(pooled.byDimension.OA).toEqual({ credit: 1.5, decided: 3, goldTies: 0, accuracy: 0.5 });
    expect(emptyAgreement().byDimension.OA.accuracy).toBeNull();
  });
});
