/**
 * Turns one group of videos into per-video rewards through the reward servers. Pairwise: the comparison plan picks
 * pairs, each pair is judged, and per dimension the outcomes become scores (win-rate with ties ½, or Bradley–Terry);
 * pointwise: the group is scored in one request. Dimensions are then combined by weight, renormalised per video over
 * the dimensions its verdicts gave (a judge that answers overall only is rewarded on overall). No silent zero: a video
 * none of whose judgments succeeded is masked (NaN) and counted.
 */
import type { Rng } from '../common/rng.js';
import type { Config } from '../config/index.js';
import {
  bradleyTerry,
  combineDimensions,
  defaultAdaptiveBudget,
  imputedWinRates,
  startPlan,
  weightedWinner,
  winRates,
  type Combination,
  type Comparison,
  type ComparisonOutcome,
  type ComparisonPlan,
} from '../grpo/index.js';
import type { VideoHandle } from '../media/index.js';
import type { JudgeOptions, PairwiseDimension, VerdictAnswer, VerdictMessage } from '../protocol/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../reward-client/pool.js';

/** The part of the reward pool the collector needs (a fake can stand in for it in tests). */
export interface JudgeClient {
  judge(request: PoolJudgeRequest): Promise<PooledVerdict>;
  /** Resolves when the requests made so far have reached their servers (optional). */
  whenDelivered?(): Promise<void>;
}

export interface RewardSettings {
  readonly mode: 'pairwise' | 'pointwise';
  readonly plan: ComparisonPlan;
  readonly bothOrders: boolean;
  readonly aggregation: 'win-rate' | 'bradley-terry' | 'imputed-win-rate';
  /** Weights of TA, MQ, VQ, overall. */
  readonly weights: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>>;
  readonly combination: Combination;
  readonly judgeOptions: JudgeOptions;
  /** A group judged across an RM version change: re-judge it (up to `versionMixRetries` times), or drop it. */
  readonly versionMix?: 'rejudge' | 'drop';
  readonly versionMixRetries?: number;
}

export interface JudgedComparison {
  readonly first: number;
  readonly second: number;
  readonly verdict: VerdictMessage;
}

export interface GroupRewards {
  /** Combined reward per video; NaN = masked (no successful judgment). */
  readonly rewards: readonly number[];
  /** Per dimension, per video. */
  readonly perDimension: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', readonly number[]>>;
  readonly judgments: number;
  readonly failedJudgments: number;
  /** Failure codes seen (for metrics by code). */
  readonly failureCodes: readonly string[];
  readonly rmVersions: readonly string[];
  readonly verdicts: readonly VerdictMessage[];
  /** Pairwise: each successful comparison with the group indices it compared (`first` shown as video 1). */
  readonly judged: readonly JudgedComparison[];
  readonly framesViewed: number;
  readonly toolCalls: number;
  readonly hallucinations: Readonly<Record<string, number>>;
  /** Times the group was re-judged because its judgments spanned RM versions. */
  readonly versionRejudges: number;
}

/** The run's reward settings from the config's `reward` section. */
export function rewardSettingsFromConfig(config: Config): RewardSettings {
  const r = config.reward;
  return {
    mode: r.mode,
    plan:
      r.plan === 'all-pairs'
        ? { kind: 'all-pairs' }
        : r.plan === 'k-opponents'
          ? { kind: 'k-opponents', k: r.opponents }
          : { kind: 'adaptive', budget: r.budget ?? defaultAdaptiveBudget(config.training.groupSize), settleDistance: r.settleDistance },
    bothOrders: r.bothOrders,
    aggregation: r.aggregation,
    weights: r.weights,
    combination: r.combination,
    // Pairwise verdicts carry their reasoning turns (the dashboard and traces.jsonl show the sampled group's).
    judgeOptions: r.mode === 'pairwise' ? { trace: true } : {},
    versionMix: r.versionMix,
    versionMixRetries: r.versionMixRetries,
  };
}

/** Rounds an adaptive plan may take at most (a plan ends sooner: its budget is spent or its ranking settled). */
const MAX_PLAN_ROUNDS = 64;

/** Numbers comparison groups within this process (the servers scope video ids by group and connection). */
let groupSerial = 0;

/** One comparison's winner on the reward's own terms (the dimensions weighted as the reward weighs them). */
export function combinedWinner(answer: VerdictAnswer, weights: RewardSettings['weights']): 0 | 1 | 2 | null {
  return weightedWinner({ TA: answer.TA, MQ: answer.MQ, VQ: answer.VQ, overall: answer.OA }, weights);
}

const DIM_OF: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', PairwiseDimension>> = { TA: 'TA', MQ: 'MQ', VQ: 'VQ', overall: 'OA' };

/**
 * One group's rewards, all from one RM version: a group whose judgments span a version change (a hot swap mid-group)
 * is re-judged, or dropped (every video masked, failure code RM_VERSION_MIXED) — never mixed.
 */
export async function collectGroupRewards(
  client: JudgeClient,
  prompt: string,
  videos: readonly VideoHandle[],
  settings: RewardSettings,
  rng: Rng,
): Promise<GroupRewards> {
  const retries = settings.versionMix === 'drop' ? 0 : (settings.versionMixRetries ?? 2);
  let spent = { judgments: 0, framesViewed: 0, toolCalls: 0 };
  for (let attempt = 0; ; attempt++) {
    const g = await collectOnce(client, prompt, videos, settings, rng);
    if (g.rmVersions.length <= 1) return { ...g, judgments: g.judgments + spent.judgments, versionRejudges: attempt };
    spent = { judgments: spent.judgments + g.judgments, framesViewed: spent.framesViewed + g.framesViewed, toolCalls: spent.toolCalls + g.toolCalls };
    if (attempt >= retries) {
      const masked = new Array<number>(videos.length).fill(NaN);
      return {
        ...g,
        rewards: masked,
        perDimension: { TA: masked, MQ: masked, VQ: masked, overall: masked },
        judgments: spent.judgments,
        failedJudgments: g.failedJudgments + 1,
        failureCodes: [...g.failureCodes, 'RM_VERSION_MIXED'],
        versionRejudges: attempt,
      };
    }
  }
}

async function collectOnce(
  client: JudgeClient,
  prompt: string,
  videos: readonly VideoHandle[],
  settings: RewardSettings,
  rng: Rng,
): Promise<Omit<GroupRewards, 'versionRejudges'>> {
  const n = videos.length;
  const verdicts: VerdictMessage[] = [];
  const judged: JudgedComparison[] = [];
  const failureCodes: string[] = [];
  const hallucinations: Record<string, number> = {};
  let framesViewed = 0;
  let toolCalls = 0;
  const note = (v: VerdictMessage): void => {
    verdicts.push(v);
    framesViewed += v.framesViewed.reduce((s, f) => s + f.length, 0);
    toolCalls += v.toolCalls;
    for (const h of v.hallucinations) hallucinations[h.kind] = (hallucinations[h.kind] ?? 0) + 1;
  };
  const fail = (e: unknown): void => {
    failureCodes.push(e !== null && typeof e === 'object' && 'code' in e && typeof e.code === 'string' ? e.code : 'UNKNOWN');
  };
  const perDimension: Record<'TA' | 'MQ' | 'VQ' | 'overall', number[]> = { TA: [], MQ: [], VQ: [], overall: [] };
  let judgments = 0;
  if (settings.mode === 'pointwise') {
    judgments = 1;
    try {
      const { verdict } = await client.judge({ prompt, mode: 'pointwise', videos, options: settings.judgeOptions });
      note(verdict);
      for (const d of ['TA', 'MQ', 'VQ', 'overall'] as const) perDimension[d] = verdict.scores.map((s) => s[d] ?? NaN);
    } catch (e) {
      fail(e);
      for (const d of ['TA', 'MQ', 'VQ', 'overall'] as const) perDimension[d] = new Array<number>(n).fill(NaN);
    }
  } else {
    // The plan hands out rounds (static plans: everything at once); each round is judged in parallel, and what it
    // found (the weighted winner per comparison) steers an adaptive plan's next round.
    const session = startPlan(n, settings.plan, { bothOrders: settings.bothOrders, rng });
    const group = { id: `g${++groupSerial}`, videoIds: videos.map((_, i) => `v${i}`) };
    const outcomes: { c: Comparison; answer: VerdictAnswer | null }[] = [];
    for (let round = 0, comparisons = session.next([]); comparisons.length > 0 && round < MAX_PLAN_ROUNDS; round++) {
      judgments += comparisons.length;
      const judgedRound = await Promise.all(
        comparisons.map(async (c) => {
          try {
            const a = videos[c.first];
            const b = videos[c.second];
            if (a === undefined || b === undefined) throw new Error('comparison outside the group');
            const { verdict } = await client.judge({
              prompt,
              mode: 'pairwise',
              videos: [a, b],
              options: settings.judgeOptions,
              group: { id: group.id, videoIds: [group.videoIds[c.first] ?? '', group.videoIds[c.second] ?? ''] },
            });
            note(verdict);
            judged.push({ first: c.first, second: c.second, verdict });
            return { c, answer: verdict.answer };
          } catch (e) {
            fail(e);
            return { c, answer: null };
          }
        }),
      );
      outcomes.push(...judgedRound);
      comparisons = session.next(
        outcomes.map((o) => ({ first: o.c.first, second: o.c.second, winner: o.answer === null ? null : combinedWinner(o.answer, settings.weights) })),
      );
    }
    for (const d of ['TA', 'MQ', 'VQ', 'overall'] as const) {
      const dim = DIM_OF[d];
      // A comparison whose verdict did not give this dimension does not count for it (never copied from OA).
      const results: ComparisonOutcome[] = outcomes.map((o) => ({ first: o.c.first, second: o.c.second, winner: o.answer?.[dim] ?? null }));
      perDimension[d] =
        settings.aggregation === 'win-rate'
          ? winRates(n, results)
          : settings.aggregation === 'bradley-terry'
            ? bradleyTerry(n, results)
            : imputedWinRates(n, results);
    }
  }
  const rewards = combineDimensions(perDimension, settings.weights, settings.combination, { renormalise: true });
  return {
    rewards,
    perDimension,
    judgments,
    failedJudgments: failureCodes.length,
    failureCodes,
    rmVersions: [...new Set(verdicts.map((v) => v.rmVersion))],
    verdicts,
    judged,
    framesViewed,
    toolCalls,
    hallucinations,
  };
}
