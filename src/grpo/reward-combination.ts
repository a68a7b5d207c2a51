/**
 * Combining per-dimension rewards (TA, MQ, VQ, overall) into one reward per video: weighted sum then group
 * normalisation, or normalise each dimension within the group then weighted sum (GDPO-style), so a dimension with a
 * small spread still counts.
 */
import { mean, std } from './advantages.js';

export type Combination = 'sum-then-normalise' | 'normalise-then-sum';

export interface CombineOptions {
  /**
   * Per video, renormalise the weights over the weighted dimensions that have a value for it (scaled so they still
   * add up to the full weight total); when none has one, use `fallbackDimension` alone with the full weight total.
   * A judge that gave only some dimensions (the released VR-Thinker's `\\boxed{n}` gives overall only) is then
   * rewarded on what it said, on the same scale. Default false: a missing weighted dimension masks the video.
   */
  readonly renormalise?: boolean;
  /** Dimension used alone when no weighted dimension has a value. Default 'overall'. */
  readonly fallbackDimension?: string;
}

/**
 * `rewards[d][i]`: dimension d of video i in one group (NaN = masked or not given). Returns one value per video (NaN =
 * masked), before the group-relative advantage (for 'normalise-then-sum' the dimensions are already standardised).
 */
export function combineDimensions(
  rewards: Readonly<Record<string, readonly number[]>>,
  weights: Readonly<Record<string, number>>,
  mode: Combination,
  options: CombineOptions = {},
): number[] {
  const dims = Object.keys(weights).filter((d) => (weights[d] ?? 0) !== 0);
  const fallback = options.fallbackDimension ?? 'overall';
  const n = Math.max(0, ...Object.values(rewards).map((r) => r.length));
  const valuesOf = (d: string): number[] => {
    const r = rewards[d] ?? [];
    if (mode === 'sum-then-normalise') return r.slice();
    const v = r.filter(Number.isFinite);
    const m = mean(v);
    const s = std(v);
    // A missing value stays missing (never a silent 0).
    return r.map((x) => (!Number.isFinite(x) ? NaN : s === 0 ? 0 : (x - m) / s));
  };
  const columns = new Map(dims.map((d) => [d, valuesOf(d)]));
  const total = dims.reduce((sum, d) => sum + (weights[d] ?? 0), 0);
  const fallbackValues = options.renormalise === true ? valuesOf(fallback) : [];
  return Array.from({ length: n }, (_, i) => {
    let sum = 0;
    let weight = 0;
    for (const d of dims) {
      const x = columns.get(d)?.[i] ?? NaN;
      if (!Number.isFinite(x)) {
        if (options.renormalise !== true) return NaN;
        continue;
      }
      const w = weights[d] ?? 0;
      sum += w * x;
      weight += w;
    }
    if (options.renormalise !== true || weight === total) return sum;
    if (weight !== 0) return (sum * total) / weight;
    const x = fallbackValues[i] ?? NaN;
    return Number.isFinite(x) ? x * total : NaN;
  });
}
