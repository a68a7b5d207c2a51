/**
 * Judge uncertainty per group, and what it does to the group's advantages. A judge that contradicts itself on the
 * same videos gives rewards that are partly noise; GRPO then pushes the policy on that noise. Two kinds of evidence:
 * - pairs judged in both orders (`bothOrders`): per comparison the preference is turned into the pair's own frame
 *   (+1 the lower-index video better, −1 the other, 0 tie), from the weighted winner of the reward's dimensions (as the
 *   reward collector steers plans; default: overall only). A pair *flips* when its mean preference shown one way and
 *   its mean preference shown the other way have strictly opposite signs (the winner changes with the order); a tie
 *   against a win is not a flip. The pair's disagreement is the mean of |p − q| / 2 over its judgments p shown one way
 *   and q shown the other (1 opposite winners, ½ tie against win, 0 agreement), so ties count half;
 * - pointwise scores of one video from several samples or frame windows: per video the mean absolute difference
 *   between its samples divided by `pointwiseScale` (the score range, default 1 for [0, 1] scores), clipped to 1.
 * `selfDisagreement` (0–1) is the mean of the available parts (pairs, videos) — each part the mean over its pairs or
 * videos; null when neither part has evidence (no pair seen both ways, no video with 2 samples): such a group is
 * left alone. Policies: 'none' measures only; 'shrink' multiplies the group's advantages by (1 − selfDisagreement),
 * continuous, no threshold; 'drop' nulls them when selfDisagreement > `threshold`.
 * Limits: pairs judged in one order only, and failed or unanswered judgments (answer null, no weighted winner), carry
 * no evidence; order disagreement measures position bias and noise together and says nothing of a judge that is
 * consistently wrong.
 */
import type { VerdictAnswer } from '../protocol/judge-types.js';
import { VrGrpoError } from '../errors/index.js';
import { weightedWinner } from './pairwise.js';

/** One judged comparison: `first` was shown as video 1; answer null = failed or masked. */
export interface OrderedJudgment {
  readonly first: number;
  readonly second: number;
  readonly answer: VerdictAnswer | null;
}

/** What is known of one group's judge consistency; either part may be absent. */
export interface GroupJudgeEvidence {
  /** Pairwise comparisons of the group (only pairs seen in both orders count). */
  readonly comparisons?: readonly OrderedJudgment[];
  /** Per video, several pointwise scores of that video (NaN = masked, ignored). */
  readonly pointwise?: readonly (readonly number[])[];
}

export type UncertaintyPolicy = 'none' | 'shrink' | 'drop';

export interface UncertaintyOptions {
  /** Default 'none'. */
  readonly policy: UncertaintyPolicy;
  /** 'drop' nulls a group whose selfDisagreement exceeds this; in [0, 1]. Default 0.5. */
  readonly threshold: number;
  /** Weights of the dimensions in a comparison's winner (as `reward.weights`). Default overall only. */
  readonly weights: Readonly<Partial<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>>>;
  /** Range of the pointwise scores (their spread is divided by it). Default 1; > 0. */
  readonly pointwiseScale: number;
}

export const DEFAULT_UNCERTAINTY_OPTIONS: UncertaintyOptions = Object.freeze({
  policy: 'none',
  threshold: 0.5,
  weights: Object.freeze({ overall: 1 }),
  pointwiseScale: 1,
});

export interface GroupUncertainty {
  /** Pairs judged at least once in each order, with a usable winner each way. */
  readonly pairsBothOrders: number;
  /** Of those, pairs whose winner flips with the order. */
  readonly flips: number;
  /** flips / pairsBothOrders; null with no such pair. */
  readonly flipShare: number | null;
  /** Mean pair disagreement (ties half); null with no such pair. */
  readonly pairwiseDisagreement: number | null;
  /** Videos with at least 2 finite pointwise samples. */
  readonly videosResampled: number;
  /** Mean normalised spread of those videos' samples; null with none. */
  readonly pointwiseDisagreement: number | null;
  /** Mean of the available parts, in [0, 1]; null with no evidence. */
  readonly selfDisagreement: number | null;
}

export interface GroupUncertaintyAdjustment extends GroupUncertainty {
  /** What the policy did: 'kept' also covers 'shrink' by a factor of 1 and groups already fully null. */
  readonly action: 'kept' | 'shrunk' | 'dropped' | 'unmeasured';
  /** Factor applied to the advantages (0 when dropped). */
  readonly factor: number;
}

export interface UncertaintyAdjustment {
  /** The adjusted advantages, same shape; null stays null, a dropped group is all null. */
  readonly advantages: (number | null)[][];
  readonly groups: readonly GroupUncertaintyAdjustment[];
  readonly shrunk: number;
  readonly dropped: number;
  /** Groups with evidence (selfDisagreement not null). */
  readonly measured: number;
  /** shrunk / groups and dropped / groups (0 with no groups). */
  readonly shrunkShare: number;
  readonly droppedShare: number;
  /** Mean flipShare over groups that have one; null when none has. */
  readonly meanFlipShare: number | null;
  /** Mean selfDisagreement over measured groups; null when none is. */
  readonly meanSelfDisagreement: number | null;
}

/** The reward collector's judged comparisons (`GroupRewards.judged`) as {@link OrderedJudgment}s. */
export function orderedJudgments(
  judged: readonly { readonly first: number; readonly second: number; readonly verdict: { readonly answer: VerdictAnswer | null } }[],
): OrderedJudgment[] {
  return judged.map((j) => ({ first: j.first, second: j.second, answer: j.verdict.answer }));
}

const invalid = (message: string): VrGrpoError => new VrGrpoError('INVALID_ARGUMENT', `judge uncertainty: ${message}`);

function resolve(options: Partial<UncertaintyOptions>): UncertaintyOptions {
  const o = { ...DEFAULT_UNCERTAINTY_OPTIONS, ...options };
  if (!(o.threshold >= 0 && o.threshold <= 1)) throw invalid(`threshold must be in [0, 1], got ${o.threshold}`);
  if (!(o.pointwiseScale > 0 && Number.isFinite(o.pointwiseScale))) throw invalid(`pointwiseScale must be a finite number > 0, got ${o.pointwiseScale}`);
  for (const [d, w] of Object.entries(o.weights)) if (!(w >= 0 && Number.isFinite(w))) throw invalid(`weights.${d} must be a finite number >= 0, got ${w}`);
  return o;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Measures one group's judge self-disagreement (no policy). */
export function judgeUncertainty(evidence: GroupJudgeEvidence, options: Partial<UncertaintyOptions> = {}): GroupUncertainty {
  return measure(evidence, resolve(options));
}

function measure(evidence: GroupJudgeEvidence, o: UncertaintyOptions): GroupUncertainty {
  // Per unordered pair "lo-hi": preferences in the pair's frame, split by which video was shown first.
  const pairs = new Map<string, { loFirst: number[]; hiFirst: number[] }>();
  for (const c of evidence.comparisons ?? []) {
    if (c.answer === null || c.first === c.second) continue;
    const winner = weightedWinner({ TA: c.answer.TA, MQ: c.answer.MQ, VQ: c.answer.VQ, overall: c.answer.OA }, o.weights);
    if (winner === null) continue;
    // +1: the first-shown video better; then into the pair's frame (+1: lower index better).
    const shown = winner === 1 ? 1 : winner === 2 ? -1 : 0;
    const loFirst = c.first < c.second;
    const key = loFirst ? `${c.first}-${c.second}` : `${c.second}-${c.first}`;
    const entry = pairs.get(key) ?? { loFirst: [], hiFirst: [] };
    if (loFirst) entry.loFirst.push(shown);
    else entry.hiFirst.push(-shown);
    pairs.set(key, entry);
  }
  let pairsBothOrders = 0;
  let flips = 0;
  const disagreements: number[] = [];
  for (const { loFirst, hiFirst } of pairs.values()) {
    if (loFirst.length === 0 || hiFirst.length === 0) continue;
    pairsBothOrders += 1;
    const a = mean(loFirst);
    const b = mean(hiFirst);
    if ((a > 0 && b < 0) || (a < 0 && b > 0)) flips += 1;
    const cross: number[] = [];
    for (const p of loFirst) for (const q of hiFirst) cross.push(Math.abs(p - q) / 2);
    disagreements.push(mean(cross));
  }
  const spreads: number[] = [];
  for (const samples of evidence.pointwise ?? []) {
    const xs = samples.filter(Number.isFinite);
    if (xs.length < 2) continue;
    let sum = 0;
    for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) sum += Math.abs((xs[i] ?? 0) - (xs[j] ?? 0));
    spreads.push(Math.min(1, sum / ((xs.length * (xs.length - 1)) / 2) / o.pointwiseScale));
  }
  const pairwiseDisagreement = disagreements.length === 0 ? null : mean(disagreements);
  const pointwiseDisagreement = spreads.length === 0 ? null : mean(spreads);
  const parts = [pairwiseDisagreement, pointwiseDisagreement].filter((x): x is number => x !== null);
  return {
    pairsBothOrders,
    flips,
    flipShare: pairsBothOrders === 0 ? null : flips / pairsBothOrders,
    pairwiseDisagreement,
    videosResampled: spreads.length,
    pointwiseDisagreement,
    selfDisagreement: parts.length === 0 ? null : Math.min(1, Math.max(0, mean(parts))),
  };
}

/**
 * Measures every group and applies the policy to its advantages (`advantages[g]` belongs to `evidence[g]`). Throws
 * INVALID_ARGUMENT when the two lists differ in length or an option is out of range.
 */
export function applyJudgeUncertainty(
  advantages: readonly (readonly (number | null)[])[],
  evidence: readonly GroupJudgeEvidence[],
  options: Partial<UncertaintyOptions> = {},
): UncertaintyAdjustment {
  const o = resolve(options);
  if (advantages.length !== evidence.length) throw invalid(`${advantages.length} groups of advantages but ${evidence.length} groups of evidence`);
  let shrunk = 0;
  let dropped = 0;
  const adjusted: (number | null)[][] = [];
  const groups: GroupUncertaintyAdjustment[] = evidence.map((e, g) => {
    const u = measure(e, o);
    const adv = advantages[g] ?? [];
    const live = adv.some((a) => a !== null);
    let action: GroupUncertaintyAdjustment['action'] = u.selfDisagreement === null ? 'unmeasured' : 'kept';
    let factor = 1;
    if (u.selfDisagreement !== null && live) {
      if (o.policy === 'shrink' && u.selfDisagreement > 0) {
        factor = 1 - u.selfDisagreement;
        action = 'shrunk';
      } else if (o.policy === 'drop' && u.selfDisagreement > o.threshold) {
        factor = 0;
        action = 'dropped';
      }
    }
    if (action === 'shrunk') shrunk += 1;
    if (action === 'dropped') dropped += 1;
    // `+ 0` turns −0 (a negative advantage times 0) into 0.
    adjusted.push(adv.map((a) => (a === null || action === 'dropped' ? null : a * factor + 0)));
    return { ...u, action, factor };
  });
  const flipShares = groups.map((g) => g.flipShare).filter((x): x is number => x !== null);
  const measured = groups.map((g) => g.selfDisagreement).filter((x): x is number => x !== null);
  const n = groups.length;
  return {
    advantages: adjusted,
    groups,
    shrunk,
    dropped,
    measured: measured.length,
    shrunkShare: n === 0 ? 0 : shrunk / n,
    droppedShare: n === 0 ? 0 : dropped / n,
    meanFlipShare: flipShares.length === 0 ? null : mean(flipShares),
    meanSelfDisagreement: measured.length === 0 ? null : mean(measured),
  };
}
