/**
 * Combining per-dimension rewards (TA, MQ, VQ, overall) into one reward per video: weighted sum then group
 * normalisation, or normalise each dimension within the group then weighted sum (GDPO-style), so a dimension with a
 * small spread still counts.
 */
import { mean, std } from './advantages.js';

export type Combination = 'sum-then-normalise' | 'normalise-then-sum';

/**
 * `rewards[d][i]`: dimension d of video i in one group (NaN = masked). Returns one value per video, before the
 * group-relative advantage (for 'normalise-then-sum' the dimensions are already standardised).
 */
export function combineDimensions(rewards: Readonly<Record<string, readonly number[]>>, weights: Readonly<Record<string, number>>, mode: Combination): number[] {
  const dims = Object.keys(weights).filter((d) => (weights[d] ?? 0) !== 0);
  const n = Math.max(0, ...dims.map((d) => rewards[d]?.length ?? 0));
  const out = new Array<number>(n).fill(0);
  for (const d of dims) {
    const w = weights[d] ?? 0;
    const r = rewards[d] ?? [];
    let values = r.slice();
    if (mode === 'normalise-then-sum') {
      const v = r.filter(Number.isFinite);
      const m = mean(v);
      const s = std(v);
      values = r.map((x) => (s === 0 ? 0 : (x - m) / s));
    }
    for (let i = 0; i < n; i++) out[i] = (out[i] ?? 0) + w * (values[i] ?? NaN);
  }
  return out;
}
