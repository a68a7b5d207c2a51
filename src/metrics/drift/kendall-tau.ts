/**
 * Kendall's τ-b between two paired score lists: (concordant − discordant) / √((n0 − ties in a)(n0 − ties in b)), which
 * stays in [−1, 1] with ties. Pairs where either score is not finite are left out. O(n²): meant for anchor sets
 * (tens to hundreds of videos).
 */
import { VrGrpoError } from '../../errors/index.js';

/** τ-b of `a` and `b` (same length); NaN when it is undefined (fewer than 2 usable pairs, or one side all tied). */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new VrGrpoError('INVALID_ARGUMENT', `kendallTau: lists differ in length (${a.length} vs ${b.length})`);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? NaN;
    const y = b[i] ?? NaN;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      xs.push(x);
      ys.push(y);
    }
  }
  const n = xs.length;
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign((xs[i] ?? 0) - (xs[j] ?? 0));
      const dy = Math.sign((ys[i] ?? 0) - (ys[j] ?? 0));
      if (dx === 0) tiesA += 1;
      if (dy === 0) tiesB += 1;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant += 1;
        else discordant += 1;
      }
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((n0 - tiesA) * (n0 - tiesB));
  return denominator === 0 ? NaN : (concordant - discordant) / denominator;
}
