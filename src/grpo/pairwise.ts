/**
 * From pairwise judgments to per-video rewards. A comparison plan says which pairs of a group to judge (all pairs, or k
 * random opponents per video, optionally both orders to cancel position bias); an aggregation turns the outcomes into
 * scores: win-rate (a tie or an unusable answer counts ½ for each, as in Pref-GRPO) or a Bradley–Terry fit.
 */
import type { Rng } from '../common/rng.js';

export interface Comparison {
  readonly first: number;
  readonly second: number;
}

/** Outcome of one comparison: 1 = first won, 2 = second won, 0 = tie, null = failed (excluded). */
export interface ComparisonOutcome extends Comparison {
  readonly winner: 0 | 1 | 2 | null;
}

export type ComparisonPlan = { readonly kind: 'all-pairs' } | { readonly kind: 'k-opponents'; readonly k: number };

/** The comparisons to judge for a group of `n` videos. Deterministic given `rng`. */
export function planComparisons(n: number, plan: ComparisonPlan, options: { bothOrders: boolean; rng: Rng }): Comparison[] {
  const pairs = new Map<string, Comparison>();
  const add = (a: number, b: number): void => {
    const [x, y] = a < b ? [a, b] : [b, a];
    pairs.set(`${x}-${y}`, { first: x, second: y });
  };
  if (plan.kind === 'all-pairs' || plan.k >= n - 1) {
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) add(a, b);
  } else {
    for (let a = 0; a < n; a++) {
      const others = options.rng.shuffle(Array.from({ length: n }, (_, i) => i).filter((i) => i !== a));
      for (const b of others.slice(0, plan.k)) add(a, b);
    }
  }
  // Randomise which video is shown first, so position bias does not line up with index order.
  const out = [...pairs.values()].map((p) => (options.rng.bool(0.5) ? p : { first: p.second, second: p.first }));
  return options.bothOrders ? out.flatMap((p) => [p, { first: p.second, second: p.first }]) : out;
}

/** Win-rate per video: (wins + ½·ties) / comparisons; NaN for a video with no usable comparison. */
export function winRates(n: number, outcomes: readonly ComparisonOutcome[]): number[] {
  const score = new Array<number>(n).fill(0);
  const games = new Array<number>(n).fill(0);
  for (const o of outcomes) {
    if (o.winner === null) continue;
    games[o.first] = (games[o.first] ?? 0) + 1;
    games[o.second] = (games[o.second] ?? 0) + 1;
    if (o.winner === 1) score[o.first] = (score[o.first] ?? 0) + 1;
    else if (o.winner === 2) score[o.second] = (score[o.second] ?? 0) + 1;
    else {
      score[o.first] = (score[o.first] ?? 0) + 0.5;
      score[o.second] = (score[o.second] ?? 0) + 0.5;
    }
  }
  return score.map((s, i) => ((games[i] ?? 0) === 0 ? NaN : s / (games[i] ?? 1)));
}

/**
 * Bradley–Terry strengths by the MM algorithm (Hunter 2004), ties counted as half a win each and a weak prior of one
 * half-win against a virtual average opponent (keeps undefeated videos finite). Returns log-strengths centred to mean
 * 0; NaN for a video with no usable comparison.
 */
export function bradleyTerry(n: number, outcomes: readonly ComparisonOutcome[], iterations = 200): number[] {
  const wins = new Array<number>(n).fill(0.5);
  const games: Map<number, number>[] = Array.from({ length: n }, () => new Map<number, number>());
  const played = new Array<boolean>(n).fill(false);
  for (const o of outcomes) {
    if (o.winner === null) continue;
    played[o.first] = true;
    played[o.second] = true;
    const w1 = o.winner === 1 ? 1 : o.winner === 0 ? 0.5 : 0;
    wins[o.first] = (wins[o.first] ?? 0) + w1;
    wins[o.second] = (wins[o.second] ?? 0) + (1 - w1);
    games[o.first]?.set(o.second, (games[o.first]?.get(o.second) ?? 0) + 1);
    games[o.second]?.set(o.first, (games[o.second]?.get(o.first) ?? 0) + 1);
  }
  let p = new Array<number>(n).fill(1);
  for (let it = 0; it < iterations; it++) {
    const next = p.map((pi, i) => {
      // Prior: one game against a virtual opponent of strength 1.
      let denom = 1 / (pi + 1);
      for (const [j, count] of games[i] ?? new Map<number, number>()) denom += count / (pi + (p[j] ?? 1));
      return (wins[i] ?? 0) / denom;
    });
    const g = Math.exp(next.reduce((s, x) => s + Math.log(x), 0) / n);
    p = next.map((x) => x / g);
  }
  const logs = p.map((x) => Math.log(x));
  const m = logs.reduce((s, x, i) => s + (played[i] === true ? x : 0), 0) / Math.max(1, played.filter(Boolean).length);
  return logs.map((x, i) => (played[i] === true ? x - m : NaN));
}
