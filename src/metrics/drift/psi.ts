/**
 * Population stability index of a recent sample against a reference sample: bins are quantiles of the reference (so
 * each holds about the same share of it), proportions are smoothed by ε so an empty bin does not give ∞, and
 * PSI = Σ (recent − reference) · ln(recent / reference). Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 shifted.
 */
import { VrGrpoError } from '../../errors/index.js';

/** Linear-interpolation quantile (type 7) of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? 0;
  const b = sorted[Math.min(sorted.length - 1, lo + 1)] ?? a;
  return a + (h - lo) * (b - a);
}

/** Inner bin edges: the reference's k/bins quantiles, k = 1 … bins−1, duplicates removed. */
export function quantileEdges(reference: readonly number[], bins: number): number[] {
  const sorted = reference.filter(Number.isFinite).sort((x, y) => x - y);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantile(sorted, k / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] ?? -Infinity)) edges.push(e);
  }
  return edges;
}

/** Bin of x: the number of edges strictly below it (a value on an edge belongs to the lower bin). */
function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function proportions(values: readonly number[], edges: readonly number[], epsilon: number): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    const b = binOf(edges, v);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const norm = 1 + epsilon * counts.length;
  return counts.map((c) => (c / values.length + epsilon) / norm);
}

/**
 * PSI of `recent` against `reference` (non-finite values are ignored; each needs at least one finite value).
 * `bins`: quantile bins of the reference (fewer when it has ties); `epsilon`: added to every bin proportion before
 * renormalising.
 */
export function psi(reference: readonly number[], recent: readonly number[], bins = 10, epsilon = 1e-4): number {
  if (!Number.isInteger(bins) || bins < 2) throw new VrGrpoError('INVALID_ARGUMENT', `psi: bins must be an integer >= 2, got ${bins}`);
  if (!(epsilon > 0)) throw new VrGrpoError('INVALID_ARGUMENT', `psi: epsilon must be > 0, got ${epsilon}`);
  const ref = reference.filter(Number.isFinite);
  const rec = recent.filter(Number.isFinite);
  if (ref.length === 0 || rec.length === 0)
    throw new VrGrpoError('INVALID_ARGUMENT', `psi: needs finite values in both samples (reference ${ref.length}, recent ${rec.length})`);
  const edges = quantileEdges(ref, bins);
  const p = proportions(ref, edges, epsilon);
  const q = proportions(rec, edges, epsilon);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] ?? epsilon;
    const b = q[i] ?? epsilon;
    sum += (b - a) * Math.log(b / a);
  }
  return sum;
}
