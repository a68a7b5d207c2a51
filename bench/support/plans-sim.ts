/**
 * The simulation half of `npm run bench:plans`: every ordered pair of a group judged once and cached, then each
 * comparison plan replayed by looking up the cached outcome of each ordered pair it asks for, its rewards computed the
 * way the reward collector computes them (per dimension win-rate or Bradley–Terry, then the weighted combination), and
 * compared with the reference: the win-rate rewards of all pairs in both orders.
 */
import { Rng, deriveSeed } from '../../src/common/rng.js';
import {
  bradleyTerry,
  combineDimensions,
  groupAdvantages,
  imputedWinRates,
  startPlan,
  weightedWinner,
  winRates,
  type Combination,
  type Comparison,
  type ComparisonOutcome,
  type ComparisonPlan,
} from '../../src/grpo/index.js';
import { kendallTau } from '../../src/metrics/drift/kendall-tau.js';
import type { PairwiseDimension } from '../../src/protocol/index.js';

export type Winner = 0 | 1 | 2 | null;
/** One judgment's answer per dimension (null = the judgment failed or did not give the dimension). */
export type DimWinners = Readonly<Record<PairwiseDimension, Winner>>;

/** One group's cache: `cells[first * n + second]` is the judgment of `first` shown before `second`. */
export interface JudgedGroup {
  readonly prompt: string;
  readonly n: number;
  readonly cells: readonly (DimWinners | null)[];
}

export type Aggregation = 'win-rate' | 'bradley-terry' | 'imputed-win-rate';
export const AGGREGATIONS: readonly Aggregation[] = ['win-rate', 'bradley-terry', 'imputed-win-rate'];
const AGGREGATE: Readonly<Record<Aggregation, (n: number, outcomes: readonly ComparisonOutcome[]) => number[]>> = {
  'win-rate': winRates,
  'bradley-terry': (n, outcomes) => bradleyTerry(n, outcomes),
  'imputed-win-rate': imputedWinRates,
};

export interface RewardRecipe {
  /** Weights of TA, MQ, VQ, overall (the collector's names; overall is the verdict's OA). */
  readonly weights: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>>;
  readonly combination: Combination;
}

export interface PlanSpec {
  readonly label: string;
  readonly plan: ComparisonPlan;
  readonly bothOrders: boolean;
}

const DIM_OF: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', PairwiseDimension>> = { TA: 'TA', MQ: 'MQ', VQ: 'VQ', overall: 'OA' };

function cell(group: JudgedGroup, c: Comparison): DimWinners | null {
  return group.cells[c.first * group.n + c.second] ?? null;
}

/** The combined winner of one cached judgment, as the collector would hand it to an adaptive plan. */
export function combinedWinner(w: DimWinners | null, recipe: RewardRecipe): Winner {
  if (w === null) return null;
  return weightedWinner({ TA: w.TA, MQ: w.MQ, VQ: w.VQ, overall: w.OA }, recipe.weights);
}

/** Rewards of a group from the judged comparisons, as `collectGroupRewards` computes them. */
export function rewardsOf(group: JudgedGroup, judged: readonly Comparison[], aggregation: Aggregation, recipe: RewardRecipe): number[] {
  const perDimension: Record<string, number[]> = {};
  for (const [name, dim] of Object.entries(DIM_OF)) {
    const outcomes: ComparisonOutcome[] = judged.map((c) => ({ first: c.first, second: c.second, winner: cell(group, c)?.[dim] ?? null }));
    perDimension[name] = AGGREGATE[aggregation](group.n, outcomes);
  }
  return combineDimensions(perDimension, recipe.weights, recipe.combination, { renormalise: true });
}

/** Every ordered pair once: the reference's comparisons. */
export function allOrderedPairs(n: number): Comparison[] {
  const out: Comparison[] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) out.push({ first: a, second: b });
  return out;
}

/** Drives a plan on a cached group: each round's comparisons get the cached combined outcome. */
export function replayPlan(group: JudgedGroup, spec: PlanSpec, rng: Rng, recipe: RewardRecipe): { judged: Comparison[]; rounds: number } {
  const session = startPlan(group.n, spec.plan, { bothOrders: spec.bothOrders, rng });
  const outcomes: ComparisonOutcome[] = [];
  for (let round = 0; round < 10_000; round++) {
    const next = session.next(outcomes);
    if (next.length === 0) return { judged: outcomes.map((o) => ({ first: o.first, second: o.second })), rounds: round };
    for (const c of next) outcomes.push({ first: c.first, second: c.second, winner: combinedWinner(cell(group, c), recipe) });
  }
  throw new Error(`plan ${spec.label} did not finish`);
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length);

function pearson(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  a.forEach((x, i) => {
    const y = b[i] ?? NaN;
    sab += (x - ma) * (y - mb);
    saa += (x - ma) ** 2;
    sbb += (y - mb) ** 2;
  });
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** GRPO advantages of one group's rewards (group std, the coordinator's defaults); null entries as NaN. */
function advantagesOf(rewards: readonly number[]): number[] {
  return (groupAdvantages([rewards]).advantages[0] ?? []).map((a) => a ?? NaN);
}

export interface AggregationStats {
  /** Mean Kendall τ-b of the combined rewards against the reference, over groups × plan seeds with a defined τ. */
  readonly tau: number;
  /** Share of those runs with τ-b ≥ 0.9. */
  readonly tauAtLeast09: number;
  /** Mean absolute difference of the GRPO advantages from the reference's. */
  readonly advantageMad: number;
  /** Mean Pearson correlation of the advantages with the reference's. */
  readonly advantagePearson: number;
  /** Runs where τ was undefined (a side with all rewards tied). */
  readonly undefinedTau: number;
}

export interface PlanRow {
  readonly label: string;
  readonly plan: ComparisonPlan;
  readonly bothOrders: boolean;
  readonly meanJudgments: number;
  readonly maxJudgments: number;
  /** Rounds of judging (comparisons judged in parallel within a round). */
  readonly meanRounds: number;
  readonly byAggregation: Readonly<Record<Aggregation, AggregationStats>>;
}

export interface Reference {
  readonly rewards: readonly (readonly number[])[];
  readonly advantages: readonly (readonly number[])[];
}

/** The reference of each group: win-rate rewards from all ordered pairs. */
export function referenceOf(groups: readonly JudgedGroup[], recipe: RewardRecipe): Reference {
  const rewards = groups.map((g) => rewardsOf(g, allOrderedPairs(g.n), 'win-rate', recipe));
  return { rewards, advantages: rewards.map(advantagesOf) };
}

/** One plan over every group, `seeds` plan draws per group (plans are random: round 1, opponents, orders). */
export function evaluatePlan(
  groups: readonly JudgedGroup[],
  reference: Reference,
  spec: PlanSpec,
  recipe: RewardRecipe,
  seeds: number,
  baseSeed: number,
): PlanRow {
  const judgments: number[] = [];
  const rounds: number[] = [];
  const acc = Object.fromEntries(
    AGGREGATIONS.map((a) => [a, { tau: [] as number[], mad: [] as number[], pearson: [] as number[], undefinedTau: 0 }]),
  ) as Record<Aggregation, { tau: number[]; mad: number[]; pearson: number[]; undefinedTau: number }>;
  groups.forEach((group, gi) => {
    const refRewards = reference.rewards[gi] ?? [];
    const refAdvantages = reference.advantages[gi] ?? [];
    for (let s = 0; s < seeds; s++) {
      const { judged, rounds: r } = replayPlan(group, spec, Rng.fromSeed(deriveSeed(baseSeed, gi, s)), recipe);
      judgments.push(judged.length);
      rounds.push(r);
      for (const aggregation of AGGREGATIONS) {
        const a = acc[aggregation];
        const rewards = rewardsOf(group, judged, aggregation, recipe);
        const tau = kendallTau(rewards, refRewards);
        if (Number.isFinite(tau)) a.tau.push(tau);
        else a.undefinedTau += 1;
        const adv = advantagesOf(rewards);
        const pairs = adv.map((x, i) => [x, refAdvantages[i] ?? NaN] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
        if (pairs.length > 0) a.mad.push(mean(pairs.map(([x, y]) => Math.abs(x - y))));
        const r = pearson(
          pairs.map(([x]) => x),
          pairs.map(([, y]) => y),
        );
        if (Number.isFinite(r)) a.pearson.push(r);
      }
    }
  });
  const stats = (a: (typeof acc)[Aggregation]): AggregationStats => ({
    tau: mean(a.tau),
    tauAtLeast09: a.tau.filter((t) => t >= 0.9 - 1e-12).length / Math.max(1, a.tau.length),
    advantageMad: mean(a.mad),
    advantagePearson: mean(a.pearson),
    undefinedTau: a.undefinedTau,
  });
  return {
    label: spec.label,
    plan: spec.plan,
    bothOrders: spec.bothOrders,
    meanJudgments: mean(judgments),
    maxJudgments: Math.max(...judgments),
    meanRounds: mean(rounds),
    byAggregation: Object.fromEntries(AGGREGATIONS.map((a) => [a, stats(acc[a])])) as Record<Aggregation, AggregationStats>,
  };
}
