/**
 * Least-squares trend of a short series: the slope per unit of x and its t-statistic (slope over its standard error),
 * so a detector can ask "is this rising, and is the rise more than noise?".
 */

export interface LinearTrend {
  /** Least-squares slope, units of y per unit of x (0 with fewer than 2 distinct x). */
  readonly slope: number;
  /** slope / standard error of the slope, clamped to ±{@link MAX_T}; 0 with fewer than 3 points. */
  readonly t: number;
  readonly n: number;
}

/** The clamp of t-statistics: a perfectly straight series would otherwise give ±∞. */
export const MAX_T = 100;

export function linearTrend(xs: readonly number[], ys: readonly number[]): LinearTrend {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: 0, t: 0, n };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] ?? 0;
    my += ys[i] ?? 0;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    sxx += dx * dx;
    sxy += dx * ((ys[i] ?? 0) - my);
  }
  if (sxx === 0) return { slope: 0, t: 0, n };
  const slope = sxy / sxx;
  if (n < 3) return { slope, t: 0, n };
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    const r = (ys[i] ?? 0) - (my + slope * ((xs[i] ?? 0) - mx));
    ssr += r * r;
  }
  const se = Math.sqrt(ssr / (n - 2) / sxx);
  const t = se === 0 ? Math.sign(slope) * MAX_T : Math.max(-MAX_T, Math.min(MAX_T, slope / se));
  return { slope, t, n };
}
