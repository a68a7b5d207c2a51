/**
 * Judge-vs-gold agreement on pairwise comparisons. The world knows the truth: for a comparison of videos A (shown as
 * video 1) and B, the gold preference of a dimension is the video with the higher gold score (`goldScores`; TA, MQ,
 * VQ, and OA from the overall score), a tie when the scores differ by no more than the gold-pair margins the judge is
 * trained and evaluated with (`GOLD_TIE`). Counting, per dimension:
 * - a gold tie is skipped (counted in `goldTies`): the world has no preference to agree with;
 * - on a decided pair the judge earns 1 when it prefers the gold winner, ½ when it answers tie (as the win-rate reward
 *   counts a tie), 0 when it prefers the other video;
 * - a dimension the judge did not give (an OA-only answer) is not counted for that dimension.
 * `accuracy` = credit / decided, null when nothing was decided.
 */
import { GOLD_TIE } from '../judge-training/gold-pairs.js';
import { PAIRWISE_DIMENSIONS, type PairwiseDimension, type Preference, type VerdictAnswer } from '../protocol/index.js';
import { goldPreference, type GoldScores } from '../world/index.js';

/** The judge's credit on one decided dimension of one comparison. */
export type GoldCredit = 0 | 0.5 | 1;

/** One comparison against gold. */
export interface ComparisonGold {
  /** Gold preference per dimension: 1 = the first video is better, 2 = the second, 0 = tie within the margin. */
  readonly preference: Readonly<Record<PairwiseDimension, Preference>>;
  /** The judge's credit per dimension; absent where gold ties or the judge did not give the dimension. */
  readonly credit: Readonly<Partial<Record<PairwiseDimension, GoldCredit>>>;
}

/** Agreement on one dimension over a set of comparisons. */
export interface DimensionAgreement {
  /** Sum of the credits (1, ½ or 0 per decided comparison). */
  readonly credit: number;
  /** Comparisons where gold decided and the judge gave the dimension. */
  readonly decided: number;
  /** Comparisons skipped because gold tied. */
  readonly goldTies: number;
  /** credit / decided; null when nothing was decided. */
  readonly accuracy: number | null;
}

/** Agreement over a set of comparisons (a group, a step, a run). */
export interface JudgeGoldAgreement {
  /** Comparisons with an answer and gold scores for both videos. */
  readonly comparisons: number;
  readonly byDimension: Readonly<Record<PairwiseDimension, DimensionAgreement>>;
}

/** A judged comparison as the agreement needs it: group indices (`first` shown as video 1) and the answer. */
export interface ComparisonAnswer {
  readonly first: number;
  readonly second: number;
  /** null: no pairwise answer (not counted). */
  readonly answer: VerdictAnswer | null;
}

const GOLD_KEY: Readonly<Record<PairwiseDimension, keyof GoldScores>> = { TA: 'TA', MQ: 'MQ', VQ: 'VQ', OA: 'overall' };

/** The gold preferences of a comparison of `first` (video 1) and `second`, and the judge's credit on each. */
export function comparisonGold(
  answer: VerdictAnswer,
  first: GoldScores,
  second: GoldScores,
  margins: Readonly<Record<PairwiseDimension, number>> = GOLD_TIE,
): ComparisonGold {
  const preference = {} as Record<PairwiseDimension, Preference>;
  const credit: Partial<Record<PairwiseDimension, GoldCredit>> = {};
  for (const d of PAIRWISE_DIMENSIONS) {
    const gold = goldPreference(first[GOLD_KEY[d]], second[GOLD_KEY[d]], margins[d]);
    preference[d] = gold;
    const judged = answer[d];
    if (gold === 0 || judged === undefined) continue;
    credit[d] = judged === gold ? 1 : judged === 0 ? 0.5 : 0;
  }
  return { preference, credit };
}

const emptyDimension = (): DimensionAgreement => ({ credit: 0, decided: 0, goldTies: 0, accuracy: null });

/** Nothing counted yet. */
export function emptyAgreement(): JudgeGoldAgreement {
  return { comparisons: 0, byDimension: { TA: emptyDimension(), MQ: emptyDimension(), VQ: emptyDimension(), OA: emptyDimension() } };
}

/**
 * Agreement of a group's comparisons with gold. `gold[i]` = gold scores of the group's video i (null: unknown, e.g. a
 * prompt outside the world's grammar); a comparison without an answer or without gold on both videos is left out.
 * Returns the summary and, per comparison (in order), its {@link ComparisonGold} or null when left out.
 */
export function judgeGoldAgreement(
  comparisons: readonly ComparisonAnswer[],
  gold: readonly (GoldScores | null)[],
  margins: Readonly<Record<PairwiseDimension, number>> = GOLD_TIE,
): { readonly summary: JudgeGoldAgreement; readonly perComparison: readonly (ComparisonGold | null)[] } {
  const tally = Object.fromEntries(PAIRWISE_DIMENSIONS.map((d) => [d, { credit: 0, decided: 0, goldTies: 0 }])) as Record<
    PairwiseDimension,
    { credit: number; decided: number; goldTies: number }
  >;
  let counted = 0;
  const perComparison = comparisons.map((c) => {
    const a = gold[c.first] ?? null;
    const b = gold[c.second] ?? null;
    if (c.answer === null || a === null || b === null) return null;
    counted += 1;
    const result = comparisonGold(c.answer, a, b, margins);
    for (const d of PAIRWISE_DIMENSIONS) {
      if (result.preference[d] === 0) tally[d].goldTies += 1;
      const credit = result.credit[d];
      if (credit === undefined) continue;
      tally[d].decided += 1;
      tally[d].credit += credit;
    }
    return result;
  });
  const byDimension = Object.fromEntries(
    PAIRWISE_DIMENSIONS.map((d) => [d, { ...tally[d], accuracy: tally[d].decided === 0 ? null : tally[d].credit / tally[d].decided }]),
  ) as Record<PairwiseDimension, DimensionAgreement>;
  return { summary: { comparisons: counted, byDimension }, perComparison };
}

/** Pools two agreements (a run's running total). */
export function mergeAgreement(a: JudgeGoldAgreement, b: JudgeGoldAgreement): JudgeGoldAgreement {
  const byDimension = Object.fromEntries(
    PAIRWISE_DIMENSIONS.map((d) => {
      const x = a.byDimension[d];
      const y = b.byDimension[d];
      const credit = x.credit + y.credit;
      const decided = x.decided + y.decided;
      return [d, { credit, decided, goldTies: x.goldTies + y.goldTies, accuracy: decided === 0 ? null : credit / decided }];
    }),
  ) as Record<PairwiseDimension, DimensionAgreement>;
  return { comparisons: a.comparisons + b.comparisons, byDimension };
}
