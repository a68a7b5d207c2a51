/**
 * From pairwise judgments to per-video rewards. A comparison plan says which pairs of a group to judge; an aggregation
 * turns the outcomes into scores: win-rate (a tie or an unusable answer counts ½ for each, as in Pref-GRPO) or a
 * Bradley–Terry fit. Plans:
 * - `all-pairs`: every pair, G(G−1)/2 judgments (G(G−1) in both orders);
 * - `k-opponents`: k random opponents per video (each pair once);
 * - `adaptive`: Swiss-style rounds within a budget of judgments (default ⌈G·log₂G⌉, see {@link startPlan}).
 * `bothOrders` judges each planned pair in both orders, so position bias cancels; each order is one judgment.
 *
 * The adaptive plan, round by round (a round is what can be judged in parallel; default ⌊G/2⌋ pairs):
 * 1. round 1 is a random perfect pairing (a bye for one video when G is odd);
 * 2. every later round first retries, once, each comparison that failed (winner null); then it ranks the videos by
 *    the Bradley–Terry strength of the outcomes so far (ties broken by a random draw made at the start) and pairs
 *    videos close in that ranking, among the pairs judged least so far, each video at most once per round: while
 *    some adjacent videos have not been compared directly, only such adjacent pairs (closest strengths first), so a
 *    round may hold fewer than `roundSize` pairs and judgments go only to the links of the ranking not settled yet;
 *    past that, the pairs nearest in rank fill the round. A pair is never judged again before every pair of the group
 *    has been (a repeat then swaps which video is shown first);
 * 3. it stops when the budget is spent (never exceeded: with `bothOrders` a pair enters a round only when both of its
 *    orders fit), when no pair is left to plan, or when the ranking is *settled*: every two videos adjacent in the
 *    current ranking (or at most `settleDistance` places apart) have been compared directly and the higher one won at
 *    least as often as it lost against the lower one. For a transitive judge that chain of direct results implies
 *    the whole order, so a noiseless judge's ranking is recovered exactly (8 videos: 16 judgments on average, about
 *    log₂ 8! ≈ 15.3); a judge that contradicts itself keeps the plan going while budget remains.
 * Every random choice (round 1, tie-breaks, which video goes first) comes from the `rng` given, so a plan is
 * deterministic given it. Rewards from a partial plan are the aggregations of whatever was judged. Plain win-rate
 * suits it badly (a Swiss pairing gives every video opponents of its own level, which pulls win-rates towards ½):
 * use Bradley–Terry, or {@link imputedWinRates}, the win-rate with the pairs not judged filled in from the
 * Bradley–Terry fit (on the world v2 bench, τ-b 0.93 against all pairs in both orders from 16.4 judgments of 8
 * videos, 0.97 from 21.1 with `settleDistance: 2`, where plain win-rate reaches 0.80 and 0.88: docs/perf.md,
 * "Comparison plans").
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

export type ComparisonPlan =
  | { readonly kind: 'all-pairs' }
  | { readonly kind: 'k-opponents'; readonly k: number }
  | {
      readonly kind: 'adaptive';
      /** Judgments per group, at most (with both orders each order counts). Default in configs: {@link defaultAdaptiveBudget}. */
      readonly budget: number;
      /** Pairs per round (each judged once, or twice with both orders). Default ⌊G/2⌋, at least 1. */
      readonly roundSize?: number;
      /** Stop early once the ranking is settled (see the module header). Default true. */
      readonly stopWhenSettled?: boolean;
      /**
       * How far apart in the ranking two videos may be and still need a direct comparison for the ranking to count as
       * settled: 1 = adjacent videos only; 2 also checks every video against the one two places below it (more
       * judgments, a ranking that a single wrong judgment cannot settle). Default 1.
       */
      readonly settleDistance?: number;
    };

/** The adaptive plan's default budget for a group of `n`: ⌈n·log₂ n⌉ judgments (24 for 8), at least 1. */
export function defaultAdaptiveBudget(n: number): number {
  return n < 2 ? 1 : Math.ceil(n * Math.log2(n));
}

/** Hands out a plan's comparisons round by round; the reward collector judges each round before asking for the next. */
export interface PlanSession {
  /**
   * The next comparisons to judge given every outcome so far (one per comparison handed out, in any order; failed =
   * winner null); [] = the plan is done. Throws a RangeError when the outcomes do not match what was handed out.
   */
  next(outcomes: readonly ComparisonOutcome[]): Comparison[];
}

interface PlanOptions {
  readonly bothOrders: boolean;
  readonly rng: Rng;
}

/**
 * The comparisons to judge for a group of `n` videos, for plans judged in one go; for `adaptive`, its first round
 * only (drive it with {@link startPlan}). Deterministic given `rng`.
 */
export function planComparisons(n: number, plan: ComparisonPlan, options: PlanOptions): Comparison[] {
  if (plan.kind === 'adaptive') return new AdaptiveSession(n, plan, options).next([]);
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
  return orient([...pairs.values()], options);
}

/** Randomises which video is shown first (position bias must not line up with index order); both orders on request. */
function orient(pairs: readonly Comparison[], options: PlanOptions): Comparison[] {
  const out = pairs.map((p) => (options.rng.bool(0.5) ? p : { first: p.second, second: p.first }));
  return options.bothOrders ? out.flatMap((p) => [p, { first: p.second, second: p.first }]) : out;
}

/**
 * A plan driven round by round. Static plans (`all-pairs`, `k-opponents`) hand out everything in the first round
 * (exactly {@link planComparisons}) and then nothing; `adaptive` plans round by round as the module header says.
 * Throws a RangeError for a group of fewer than 2 videos, and for an adaptive plan's budget below 1 (below 2 with both
 * orders), round size or settle distance below 1.
 */
export function startPlan(n: number, plan: ComparisonPlan, options: PlanOptions): PlanSession {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`a comparison plan needs a group of at least 2 videos, got ${n}`);
  if (plan.kind === 'adaptive') return new AdaptiveSession(n, plan, options);
  let handedOut: Comparison[] | null = null;
  return {
    next(outcomes) {
      if (handedOut === null) {
        checkOutcomes(n, [], outcomes);
        handedOut = planComparisons(n, plan, options);
        return handedOut.slice();
      }
      checkOutcomes(n, handedOut, outcomes);
      return [];
    },
  };
}

const orderedKey = (c: Comparison): string => `${c.first}>${c.second}`;

/** The outcomes must be exactly one per comparison handed out (as a multiset of ordered pairs). */
function checkOutcomes(n: number, handedOut: readonly Comparison[], outcomes: readonly ComparisonOutcome[]): void {
  if (outcomes.length !== handedOut.length) {
    throw new RangeError(`plan session: ${outcomes.length} outcomes for ${handedOut.length} comparisons handed out`);
  }
  const counts = new Map<string, number>();
  for (const c of handedOut) counts.set(orderedKey(c), (counts.get(orderedKey(c)) ?? 0) + 1);
  for (const o of outcomes) {
    const valid = Number.isInteger(o.first) && Number.isInteger(o.second) && o.first >= 0 && o.second >= 0 && o.first < n && o.second < n;
    const left = counts.get(orderedKey(o)) ?? 0;
    if (!valid || left === 0) throw new RangeError(`plan session: outcome ${o.first} vs ${o.second} matches no comparison handed out`);
    counts.set(orderedKey(o), left - 1);
  }
}

class AdaptiveSession implements PlanSession {
  private readonly handedOut: Comparison[] = [];
  /** Times each unordered pair entered a round (both orders together count once). */
  private readonly pairCount: number[];
  /** Ordered comparisons retried once already. */
  private readonly retried = new Set<string>();
  /** Tie-breaks of equal strengths, drawn once. */
  private readonly jitter: number[];
  private readonly budget: number;
  private readonly roundSize: number;
  private readonly stopWhenSettled: boolean;
  private readonly settleDistance: number;
  private done = false;

  constructor(
    private readonly n: number,
    plan: Extract<ComparisonPlan, { kind: 'adaptive' }>,
    private readonly options: PlanOptions,
  ) {
    if (!Number.isInteger(plan.budget) || plan.budget < 1) throw new RangeError(`adaptive plan: budget must be an integer >= 1, got ${plan.budget}`);
    const roundSize = plan.roundSize ?? Math.max(1, Math.floor(n / 2));
    if (!Number.isInteger(roundSize) || roundSize < 1) throw new RangeError(`adaptive plan: roundSize must be an integer >= 1, got ${roundSize}`);
    if (options.bothOrders && plan.budget < 2)
      throw new RangeError(`adaptive plan: with both orders the budget must be at least 2 (one pair), got ${plan.budget}`);
    this.budget = plan.budget;
    this.roundSize = roundSize;
    this.stopWhenSettled = plan.stopWhenSettled ?? true;
    const settleDistance = plan.settleDistance ?? 1;
    if (!Number.isInteger(settleDistance) || settleDistance < 1)
      throw new RangeError(`adaptive plan: settleDistance must be an integer >= 1, got ${settleDistance}`);
    this.settleDistance = settleDistance;
    this.pairCount = new Array<number>(n * n).fill(0);
    this.jitter = Array.from({ length: n }, () => options.rng.next());
  }

  next(outcomes: readonly ComparisonOutcome[]): Comparison[] {
    checkOutcomes(this.n, this.handedOut, outcomes);
    if (this.done) return [];
    const round = this.handedOut.length === 0 ? this.firstRound() : this.laterRound(outcomes);
    if (round.length === 0) this.done = true;
    this.handedOut.push(...round);
    return round.slice();
  }

  private get left(): number {
    return this.budget - this.handedOut.length;
  }

  /** Judgments one pair costs. */
  private get perPair(): number {
    return this.options.bothOrders ? 2 : 1;
  }

  private firstRound(): Comparison[] {
    const order = this.options.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
    const pairs: Comparison[] = [];
    for (let k = 0; k + 1 < order.length && pairs.length < this.roundSize && (pairs.length + 1) * this.perPair <= this.left; k += 2) {
      pairs.push({ first: order[k] ?? 0, second: order[k + 1] ?? 0 });
    }
    return this.take(pairs);
  }

  private laterRound(outcomes: readonly ComparisonOutcome[]): Comparison[] {
    const strengths = bradleyTerry(this.n, outcomes).map((s) => (Number.isFinite(s) ? s : 0));
    const ranking = Array.from({ length: this.n }, (_, i) => i).sort(
      (a, b) => (strengths[b] ?? 0) - (strengths[a] ?? 0) || (this.jitter[b] ?? 0) - (this.jitter[a] ?? 0),
    );
    if (this.stopWhenSettled && settled(ranking, outcomes, this.settleDistance)) return [];
    const round: Comparison[] = [];
    const busy = new Set<number>();
    // Retries first: each failed ordered comparison once, budget permitting.
    for (const o of outcomes) {
      const key = orderedKey(o);
      if (o.winner !== null || this.retried.has(key) || this.left - round.length < 1) continue;
      this.retried.add(key);
      round.push({ first: o.first, second: o.second });
      busy.add(o.first).add(o.second);
    }
    const rank = new Array<number>(this.n).fill(0);
    ranking.forEach((v, r) => (rank[v] = r));
    const candidates: { a: number; b: number; gap: number; distance: number }[] = [];
    let fewest = Infinity;
    for (let a = 0; a < this.n; a++) for (let b = a + 1; b < this.n; b++) fewest = Math.min(fewest, this.pairCount[a * this.n + b] ?? 0);
    for (let a = 0; a < this.n; a++) {
      for (let b = a + 1; b < this.n; b++) {
        if ((this.pairCount[a * this.n + b] ?? 0) !== fewest) continue;
        candidates.push({ a, b, gap: Math.abs((strengths[a] ?? 0) - (strengths[b] ?? 0)), distance: Math.abs((rank[a] ?? 0) - (rank[b] ?? 0)) });
      }
    }
    candidates.sort((x, y) => x.distance - y.distance || x.gap - y.gap);
    const pairs: Comparison[] = [];
    // While adjacent videos wait for a direct comparison, only those pairs: judgments go to the links of the ranking
    // not yet settled, never to far pairs just to fill the round (on a noiseless judge this settles 8 videos in 16
    // judgments on average instead of 20, in as many rounds). Past that, the closest pairs fill the round.
    const nearest = candidates[0]?.distance ?? 0;
    for (const c of candidates) {
      if (nearest === 1 && c.distance > 1) break;
      if (pairs.length >= this.roundSize || round.length + (pairs.length + 1) * this.perPair > this.left) break;
      if (busy.has(c.a) || busy.has(c.b)) continue;
      busy.add(c.a).add(c.b);
      pairs.push(this.lastShownFirst(c.a, c.b));
    }
    return [...round, ...this.take(pairs)];
  }

  /** The pair as last shown, swapped (for a repeat: the other video goes first); as given for a new pair. */
  private lastShownFirst(a: number, b: number): Comparison {
    for (let i = this.handedOut.length - 1; i >= 0; i--) {
      const c = this.handedOut[i];
      if (c !== undefined && ((c.first === a && c.second === b) || (c.first === b && c.second === a))) return { first: c.second, second: c.first };
    }
    return { first: a, second: b };
  }

  /** Counts the pairs and orients them (random first video for a new pair, a repeat as given; both orders on request). */
  private take(pairs: readonly Comparison[]): Comparison[] {
    for (const p of pairs) {
      const [x, y] = p.first < p.second ? [p.first, p.second] : [p.second, p.first];
      this.pairCount[x * this.n + y] = (this.pairCount[x * this.n + y] ?? 0) + 1;
    }
    return pairs.flatMap((p) => {
      const repeat = (this.pairCount[Math.min(p.first, p.second) * this.n + Math.max(p.first, p.second)] ?? 0) > 1;
      const c = repeat || !this.options.rng.bool(0.5) ? { first: p.first, second: p.second } : { first: p.second, second: p.first };
      return this.options.bothOrders ? [c, { first: c.second, second: c.first }] : [c];
    });
  }
}

/**
 * One winner from several dimensions' winners of one comparison (to drive an adaptive plan with the combined
 * preference): the sign of Σ weight·(+1 first won, −1 second won, 0 tie) over the dimensions with a non-zero weight
 * that have an answer; 0 when that sum is 0, null when none of them has an answer.
 */
export function weightedWinner(winners: Readonly<Record<string, 0 | 1 | 2 | null | undefined>>, weights: Readonly<Record<string, number>>): 0 | 1 | 2 | null {
  let sum = 0;
  let answered = false;
  for (const [d, w] of Object.entries(weights)) {
    const x = winners[d];
    if (w === 0 || x === null || x === undefined) continue;
    answered = true;
    sum += x === 1 ? w : x === 2 ? -w : 0;
  }
  if (!answered) return null;
  return sum > 0 ? 1 : sum < 0 ? 2 : 0;
}

/**
 * Whether a ranking (best first) is settled by the outcomes: every two videos at most `distance` places apart were
 * compared directly (a usable outcome) and the higher one won at least as often as it lost against the lower one.
 */
function settled(ranking: readonly number[], outcomes: readonly ComparisonOutcome[], distance: number): boolean {
  for (let r = 0; r + 1 < ranking.length; r++)
    for (let d = 1; d <= distance && r + d < ranking.length; d++) {
      const hi = ranking[r];
      const lo = ranking[r + d];
      let games = 0;
      let net = 0;
      for (const o of outcomes) {
        if (o.winner === null) continue;
        const forward = o.first === hi && o.second === lo;
        if (!forward && !(o.first === lo && o.second === hi)) continue;
        games += 1;
        if (o.winner !== 0) net += (o.winner === 1) === forward ? 1 : -1;
      }
      if (games === 0 || net < 0) return false;
    }
  return true;
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
 * Win-rate against the whole group, filled in where a pair was not judged (for partial plans): per pair of videos the
 * mean score of its usable outcomes (win 1, tie ½, loss 0); for a pair never judged usably, the Bradley–Terry
 * probability that one beats the other, from the same outcomes; averaged over the video's opponents. With every pair
 * judged equally often this is the win-rate; NaN for a video with no usable comparison (and such a video is no one's
 * opponent).
 */
export function imputedWinRates(n: number, outcomes: readonly ComparisonOutcome[]): number[] {
  const strengths = bradleyTerry(n, outcomes);
  const score = new Array<number>(n * n).fill(0);
  const games = new Array<number>(n * n).fill(0);
  for (const o of outcomes) {
    if (o.winner === null) continue;
    const w1 = o.winner === 1 ? 1 : o.winner === 0 ? 0.5 : 0;
    score[o.first * n + o.second] = (score[o.first * n + o.second] ?? 0) + w1;
    games[o.first * n + o.second] = (games[o.first * n + o.second] ?? 0) + 1;
    score[o.second * n + o.first] = (score[o.second * n + o.first] ?? 0) + 1 - w1;
    games[o.second * n + o.first] = (games[o.second * n + o.first] ?? 0) + 1;
  }
  return strengths.map((si, i) => {
    if (!Number.isFinite(si)) return NaN;
    let sum = 0;
    let opponents = 0;
    strengths.forEach((sj, j) => {
      if (j === i || !Number.isFinite(sj)) return;
      const g = games[i * n + j] ?? 0;
      sum += g > 0 ? (score[i * n + j] ?? 0) / g : 1 / (1 + Math.exp(sj - si));
      opponents += 1;
    });
    return opponents === 0 ? NaN : sum / opponents;
  });
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
