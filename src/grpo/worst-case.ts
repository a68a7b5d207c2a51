/**
 * Worst-case rewards of one group: the training judge against the held-out judges (the guard's `conservative` action;
 * docs/monitoring.md "The guard"). Each judge's scores are standardised within the group; the held-out judges speak as
 * one — per video the mean of their standardised scores, so the noise of one of them does not veto alone — and each
 * video takes the lower of the training judge's standardised score and that consensus: a video only ranks high when
 * both rank it high, so what the training judge alone over-pays (the exploit a hacked judge learned to pay for) no
 * longer pays (worst-case optimisation over a reward-model ensemble, Coste et al. 2023). The minima are centred within
 * the group and put back on the training judge's scale (its group mean and spread), so the per-prompt statistics and
 * the reward charts keep their meaning: only the order inside the group and the gaps between its videos change.
 * A judge contributes to a video when it scored it (finite) and it has a spread in the group (≥ 2 finite scores,
 * standard deviation above `epsilon`; a judge that ranks every video alike says nothing of the order). A video the
 * training judge masked (NaN) stays masked; one another judge failed on keeps the judges that did score it.
 */
import { mean, std } from './advantages.js';

export interface WorstCaseGroup {
  /** The rewards of the group's videos after the worst case (NaN where the training judge masked a video). */
  readonly rewards: number[];
  /** Videos whose held-out consensus was strictly below the training judge's standardised score. */
  readonly lowered: number;
  /** Videos the training judge scored but some other judge could not (that judge left out for them). */
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
 * `own`: the training judge's rewards of one group (NaN = masked); `others`: each other judge's scores of the same
 * videos in the same order. With no spread in `own` the group is returned as it is (nothing to order).
 */
export function worstCaseRewards(own: readonly number[], others: readonly (readonly number[])[], epsilon = EPSILON): WorstCaseGroup {
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
  const minima = own.map((x, i) => {
    const z = ownZ[i] ?? Number.NaN;
    if (!Number.isFinite(x)) return Number.NaN;
    if (others.some((o) => !Number.isFinite(o[i] ?? Number.NaN))) missing += 1;
    const held = otherZ.map((zs) => zs?.[i] ?? Number.NaN).filter(Number.isFinite);
    const lowest = held.length === 0 ? z : Math.min(z, mean(held));
    // Equal ranks computed on two scales differ in the last bits: a lowering must be more than rounding.
    if (lowest < z - 1e-9) lowered += 1;
    return lowest;
  });
  const finite = minima.filter(Number.isFinite);
  const centre = mean(finite);
  const spreadOfMinima = std(finite);
  const ownFinite = own.filter(Number.isFinite);
  const level = mean(ownFinite);
  const spread = std(ownFinite);
  // Rescaled so the group keeps the training judge's spread: the minima of several standardised scores spread less.
  const scale = spreadOfMinima > epsilon ? spread / spreadOfMinima : 0;
  return { rewards: minima.map((m) => (Number.isFinite(m) ? level + (m - centre) * scale : Number.NaN)), lowered, missing };
}
