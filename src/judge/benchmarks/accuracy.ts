/**
 * Pairwise accuracy against human labels, per dimension, with and without ties (pure; no I/O).
 *
 * Every labelled pair falls in one cell of VideoAlign's table (the VideoGen-RewardBench evaluation code):
 * - `agree`: gold and judge prefer the same video; `disagree`: they prefer different videos;
 * - `goldTieOnly`: gold is a tie, the judge prefers a video; `judgeTieOnly`: the judge says tie, gold prefers a video;
 * - `bothTie`: both say tie.
 *
 * - **with ties** (3-way): (agree + bothTie) / all judged pairs — a tie is right only against a tied label.
 * - **without ties**: pairs whose gold is a tie are dropped; agree / (agree + disagree + judgeTieOnly) — a judge's tie on
 *   a pair with a preference counts as wrong (in the denominator, never in the numerator), as VideoAlign's
 *   `calc_accuracy_without_ties` does.
 *
 * A failed judgment is never a score: it is counted in `failed` and left out of both accuracies. A verdict that does
 * not give a dimension (the released VR-Thinker often answers overall only) counts as `notGiven` for that dimension,
 * neither right nor wrong. A pair without a gold label for a dimension (GenAI-Bench has overall votes only) does not
 * count for that dimension at all.
 */
import type { ErrorCode } from '../../errors/index.js';
import type { PairwiseDimension, Preference, VerdictAnswer } from '../../protocol/index.js';
import type { GoldLabels } from './types.js';

/** Dimensions in report order: overall first, then VideoGen-RewardBench's VQ, MQ, TA. */
export const REPORT_DIMENSIONS = ['OA', 'VQ', 'MQ', 'TA'] as const satisfies readonly PairwiseDimension[];

/** Failure key of an error that carries no catalogue code (a bug, not a judge failure: reported, never scored). */
export const UNEXPECTED_FAILURE = 'unexpected';
export type FailureKey = ErrorCode | typeof UNEXPECTED_FAILURE;

/** What happened to one pair: the judge's answer, or the failure that replaced it. */
export type PairOutcome = { readonly kind: 'verdict'; readonly answer: VerdictAnswer } | { readonly kind: 'failed'; readonly code: FailureKey };

export interface ScoredPair {
  readonly gold: GoldLabels;
  readonly outcome: PairOutcome;
}

export interface Cells {
  readonly agree: number;
  readonly disagree: number;
  readonly goldTieOnly: number;
  readonly judgeTieOnly: number;
  readonly bothTie: number;
}

export interface Ratio {
  readonly correct: number;
  readonly total: number;
  /** correct / total, or null when total is 0. */
  readonly accuracy: number | null;
}

export interface DimensionAccuracy {
  readonly dimension: PairwiseDimension;
  /** Pairs with a gold label for this dimension. */
  readonly labelled: number;
  /** … of which the gold label is a tie. */
  readonly goldTies: number;
  /** Labelled pairs whose verdict gives this dimension (the ones scored). */
  readonly judged: number;
  /** Labelled pairs with a verdict that does not give this dimension. */
  readonly notGiven: number;
  /** Labelled pairs whose judgment failed. */
  readonly failed: number;
  readonly cells: Cells;
  /** 3-way accuracy over the judged pairs. */
  readonly withTies: Ratio;
  /** Accuracy over the judged pairs whose gold is not a tie; a judge tie there is wrong. */
  readonly withoutTies: Ratio;
}

export interface AccuracyReport {
  readonly pairs: number;
  readonly verdicts: number;
  readonly failures: { readonly total: number; readonly byCode: Readonly<Partial<Record<FailureKey, number>>> };
  readonly dimensions: readonly DimensionAccuracy[];
}

function ratio(correct: number, total: number): Ratio {
  return { correct, total, accuracy: total === 0 ? null : correct / total };
}

type CellName = keyof Cells;

/** The cell of one (gold, judge) pair of preferences. */
export function cellOf(gold: Preference, judge: Preference): CellName {
  if (gold === 0) return judge === 0 ? 'bothTie' : 'goldTieOnly';
  if (judge === 0) return 'judgeTieOnly';
  return gold === judge ? 'agree' : 'disagree';
}

function dimensionAccuracy(pairs: readonly ScoredPair[], dimension: PairwiseDimension): DimensionAccuracy {
  const cells: Record<CellName, number> = { agree: 0, disagree: 0, goldTieOnly: 0, judgeTieOnly: 0, bothTie: 0 };
  let labelled = 0;
  let goldTies = 0;
  let notGiven = 0;
  let failed = 0;
  for (const p of pairs) {
    const gold = p.gold[dimension];
    if (gold === undefined) continue;
    labelled += 1;
    if (gold === 0) goldTies += 1;
    if (p.outcome.kind === 'failed') {
      failed += 1;
      continue;
    }
    const said = p.outcome.answer[dimension];
    if (said === undefined) {
      notGiven += 1;
      continue;
    }
    cells[cellOf(gold, said)] += 1;
  }
  const judged = cells.agree + cells.disagree + cells.goldTieOnly + cells.judgeTieOnly + cells.bothTie;
  return {
    dimension,
    labelled,
    goldTies,
    judged,
    notGiven,
    failed,
    cells: { ...cells },
    withTies: ratio(cells.agree + cells.bothTie, judged),
    withoutTies: ratio(cells.agree, cells.agree + cells.disagree + cells.judgeTieOnly),
  };
}

/** Overall and per-dimension accuracy of `pairs` (see the module header for how ties, failures and gaps count). */
export function computeAccuracy(pairs: readonly ScoredPair[]): AccuracyReport {
  const byCode: Partial<Record<FailureKey, number>> = {};
  let failures = 0;
  for (const p of pairs) {
    if (p.outcome.kind !== 'failed') continue;
    failures += 1;
    byCode[p.outcome.code] = (byCode[p.outcome.code] ?? 0) + 1;
  }
  return {
    pairs: pairs.length,
    verdicts: pairs.length - failures,
    failures: { total: failures, byCode },
    dimensions: REPORT_DIMENSIONS.map((d) => dimensionAccuracy(pairs, d)),
  };
}
