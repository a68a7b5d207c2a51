/**
 * Rewards of one group from the training judge and held-out judges, after the guard rolled a hacked run back
 * (docs/monitoring.md "The guard"). Each judge's scores are standardised within the group, and the held-out judges
 * speak as one: per video the mean of their standardised scores (their consensus), so the noise of one of them does not
 * decide alone. Two rules:
 * - `worst-case` (the guard's `conservative`): each video takes the lower of the training judge's standardised score
 *   and the consensus — a video only ranks high when both rank it high, so what the training judge alone over-pays (the
 *   exploit a hacked judge learned to pay for) no longer pays (worst-case optimisation over a reward-model ensemble,
 *   Coste et al. 2023);
 * - `held-out` (the guard's `switch-to-auditors`): each video takes the consensus — the held-out judges alone order the
 *   group, and what they mark down is pushed away from.
 * The results are centred within the group and put back on the training judge's scale (its group mean and spread), so
 * the per-prompt statistics and the reward charts keep their meaning: only the order inside the group and the gaps
 * between its videos change.
 * A held-out judge contributes to a video when it scored it (finite) and has a spread in the group (≥ 2 finite scores,
 * standard deviation above `epsilon`; a judge that ranks every video alike says nothing of the order). A video the
 * training judge masked (NaN) stays masked; a video no held-out judge could score keeps the training judge's score.
 * A group without spread in the training judge's scores is returned as it is (no scale to put the order back on).
 */
import { mean, std } from './advantages.js';

export type HeldOutRule = 'worst-case' | 'held-out';

export interface HeldOutGroup {
  /** The rewards of the group's videos under the rule (NaN where the training judge masked a video). */
  readonly rewards: number[];
  /** Videos whose held-out consensus was strictly below the training judge's standardised score. */
  readonly lowered: number;
  /** Videos the training judge scored but some held-out judge could not (that judge left out for them). */
  readonly missing: number;
}

const EPSILON = 1e-6;

/** Scores standardised over the finite ones (null: fewer than 2, or no spread). */
function standardise(xs: readonly number[], epsilon: number): number[] | null {
  const finite = xs.filter(Number.isFinite);
  if (finite.length < 2) return null;
  const m = mean(finite);
  const s = std(finite);
  if (!(s > epsilon)) return null;
  return xs.map((x) => (Number.isFinite(x) ? (x - m) / s : Number.NaN));
}

/**
 * `own`: the training judge's rewards of one group (NaN = masked); `others`: each held-out judge's scores of the same
 * videos in the same order; `rule`: see above.
 */
export function heldOutRewards(own: readonly number[], others: readonly (readonly number[])[], rule: HeldOutRule, epsilon = EPSILON): HeldOutGroup {
  const ownZ = standardise(own, epsilon);
  if (ownZ === null) return { rewards: [...own], lowered: 0, missing: 0 };
  const otherZ = others.map((o) =>
    standardise(
      own.map((x, i) => (Number.isFinite(x) ? (o[i] ?? Number.NaN) : Number.NaN)),
      epsilon,
    ),
  );
  let lowered = 0;
  let missing = 0;
  const combined = own.map((x, i) => {
    const z = ownZ[i] ?? Number.NaN;
    if (!Number.isFinite(x)) return Number.NaN;
    if (others.some((o) => !Number.isFinite(o[i] ?? Number.NaN))) missing += 1;
    const held = otherZ.map((zs) => zs?.[i] ?? Number.NaN).filter(Number.isFinite);
    const consensus = held.length === 0 ? z : mean(held);
    // Equal ranks computed on two scales differ in the last bits: a lowering must be more than rounding.
    if (consensus < z - 1e-9) lowered += 1;
    return rule === 'worst-case' ? Math.min(z, consensus) : consensus;
  });
  const finite = combined.filter(Number.isFinite);
  const centre = mean(finite);
  const spreadOfCombined = std(finite);
  const ownFinite = own.filter(Number.isFinite);
  const level = mean(ownFinite);
  const spread = std(ownFinite);
  // Rescaled so the group keeps the training judge's spread (minima and means of standardised scores spread less).
  const scale = spreadOfCombined > epsilon ? spread / spreadOfCombined : 0;
  return { rewards: combined.map((m) => (Number.isFinite(m) ? level + (m - centre) * scale : Number.NaN)), lowered, missing };
}
