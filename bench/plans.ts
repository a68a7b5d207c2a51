/**
 * `npm run bench:plans`: how few pairwise judgments a GRPO group needs. Groups of G = 8 videos sampled from the world
 * v2 base policy (models/generator-base-v2, the configured SDE sampler) for training prompts; every ordered pair judged
 * once by the embedded judge (configs/world-v2.yaml: rm-v3, `reasoner.temporal`, the config's judge defaults) and
 * cached; then each comparison plan replayed on the cache (the judge is deterministic per ordered pair: checked on
 * repeats). Per plan: judgments per group, Kendall τ-b of the combined rewards against the reference (win-rate of all
 * pairs in both orders, the collector's default weights), and the GRPO advantages' mean absolute difference and
 * Pearson correlation with the reference's — for win-rate and Bradley–Terry aggregation.
 * BENCH_GROUPS (default 64), BENCH_PLAN_SEEDS (plan draws per group, default 8), BENCH_REUSE=1 replays the cached
 * judgments of the last run (tmp/bench-plans-judgments.json) instead of judging again.
 * Results to bench/results/plans.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSeed, Rng } from '../src/common/rng.js';
import { PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { EmbeddedGenerator } from '../src/generator/index.js';
import { defaultAdaptiveBudget, type ComparisonPlan } from '../src/grpo/index.js';
import { createEmbeddedJudge } from '../src/judge/backends/embedded/index.js';
import { RawFrameSource } from '../src/judge/frame-source.js';
import type { JudgeEngine } from '../src/judge/engine.js';
import type { RawVideo } from '../src/media/index.js';
import { PAIRWISE_DIMENSIONS, type VerdictAnswer } from '../src/protocol/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { PromptGenerator, promptText, worldPromptOptions } from '../src/world/index.js';
import { machineInfo } from './machine.js';
import {
  AGGREGATIONS,
  allOrderedPairs,
  combinedWinner,
  evaluatePlan,
  referenceOf,
  type AggregationStats,
  type DimWinners,
  type JudgedGroup,
  type PlanRow,
  type PlanSpec,
  type RewardRecipe,
} from './support/plans-sim.js';

const GROUPS = Number(process.env.BENCH_GROUPS ?? 64);
const SEEDS = Number(process.env.BENCH_PLAN_SEEDS ?? 8);
const REUSE = process.env.BENCH_REUSE === '1';
const G = 8;
const REPEATS_PER_GROUP = 4;
const REPEAT_GROUPS = 6;
const cachePath = join(PROJECT_ROOT, 'tmp', 'bench-plans-judgments.json');

const config = loadConfig(join(PROJECT_ROOT, 'configs', 'world-v2.yaml'));
const recipe: RewardRecipe = { weights: config.reward.weights, combination: config.reward.combination };
const t0 = performance.now();

interface Cache {
  readonly groups: JudgedGroup[];
  readonly timing: { sampleSeconds: number; judgeSeconds: number; judgmentsPerSecond: number };
  readonly determinism: { repeats: number; identical: number };
  readonly failures: number;
}

function winnersOf(answer: VerdictAnswer | null): DimWinners | null {
  if (answer === null) return null;
  return { TA: answer.TA ?? null, MQ: answer.MQ ?? null, VQ: answer.VQ ?? null, OA: answer.OA };
}

async function judgeGroups(): Promise<Cache> {
  await chooseTensorBackend(config.tensor.backend);
  const generator = await EmbeddedGenerator.create({ config });
  const judge: JudgeEngine = await createEmbeddedJudge({ modelDir: config.judge.checkpoint, judge: config.judge, reasoner: { temporal: true } });
  const specs = new PromptGenerator(worldPromptOptions(config.world, 'train', deriveSeed(config.seed, 601))).take(GROUPS);
  const groups: JudgedGroup[] = [];
  let sampleMs = 0;
  let judgeMs = 0;
  let judgments = 0;
  let failures = 0;
  let repeats = 0;
  let identical = 0;
  const pairRng = Rng.fromSeed(deriveSeed(config.seed, 602));
  const judgeOnce = async (prompt: string, a: RawVideo, b: RawVideo, id: string): Promise<DimWinners | null> => {
    try {
      const v = await judge.judge({ id, prompt, mode: 'pairwise', videos: [new RawFrameSource(a, 'a'), new RawFrameSource(b, 'b')], options: {} });
      return winnersOf(v.answer);
    } catch {
      return null;
    }
  };
  try {
    for (const [gi, spec] of specs.entries()) {
      const prompt = promptText(spec);
      const s0 = performance.now();
      const { videos } = await generator.generate({ prompts: [prompt], groupSize: G, seed: deriveSeed(config.seed, 603, gi) });
      sampleMs += performance.now() - s0;
      const j0 = performance.now();
      const cells: (DimWinners | null)[] = new Array<DimWinners | null>(G * G).fill(null);
      for (const c of allOrderedPairs(G)) {
        const a = videos[c.first]?.video;
        const b = videos[c.second]?.video;
        if (a === undefined || b === undefined) throw new Error('the generator returned fewer videos than asked');
        const w = await judgeOnce(prompt, a, b, `g${gi}-${c.first}-${c.second}`);
        judgments += 1;
        if (w === null) failures += 1;
        cells[c.first * G + c.second] = w;
      }
      if (gi < REPEAT_GROUPS) {
        for (let r = 0; r < REPEATS_PER_GROUP; r++) {
          const c = pairRng.pick(allOrderedPairs(G));
          const a = videos[c.first]?.video;
          const b = videos[c.second]?.video;
          if (a === undefined || b === undefined) continue;
          const again = await judgeOnce(prompt, a, b, `g${gi}-${c.first}-${c.second}-again`);
          judgments += 1;
          repeats += 1;
          if (JSON.stringify(again) === JSON.stringify(cells[c.first * G + c.second])) identical += 1;
        }
      }
      judgeMs += performance.now() - j0;
      groups.push({ prompt, n: G, cells });
      if ((gi + 1) % 8 === 0) process.stderr.write(`judged ${gi + 1}/${GROUPS} groups (${(judgments / (judgeMs / 1000)).toFixed(1)} judgments/s)\n`);
    }
  } finally {
    await judge.close();
    await generator.close();
  }
  return {
    groups,
    timing: { sampleSeconds: sampleMs / 1000, judgeSeconds: judgeMs / 1000, judgmentsPerSecond: judgments / (judgeMs / 1000) },
    determinism: { repeats, identical },
    failures,
  };
}

const cache: Cache = REUSE && existsSync(cachePath) ? (JSON.parse(readFileSync(cachePath, 'utf8')) as Cache) : await judgeGroups();
if (!REUSE) {
  mkdirSync(join(PROJECT_ROOT, 'tmp'), { recursive: true });
  writeFileSync(cachePath, JSON.stringify(cache));
}
const tJudged = performance.now();

const budget = defaultAdaptiveBudget(G);
const adaptive = (b: number): ComparisonPlan => ({ kind: 'adaptive', budget: b });
const specs: PlanSpec[] = [
  { label: 'all pairs, both orders (reference)', plan: { kind: 'all-pairs' }, bothOrders: true },
  { label: 'all pairs, one order', plan: { kind: 'all-pairs' }, bothOrders: false },
  ...[1, 2, 3].flatMap((k) => [
    { label: `${k} opponents, one order`, plan: { kind: 'k-opponents', k } as const, bothOrders: false },
    { label: `${k} opponents, both orders`, plan: { kind: 'k-opponents', k } as const, bothOrders: true },
  ]),
  ...[8, 12, 16, 20, 24, 32].map((b) => ({ label: `adaptive ${b}, one order`, plan: adaptive(b), bothOrders: false })),
  ...[24, 32].map((b) => ({ label: `adaptive ${b}, both orders`, plan: adaptive(b), bothOrders: true })),
  ...[20, 24].map((b) => ({
    label: `adaptive ${b}, one order, settle distance 2`,
    plan: { kind: 'adaptive', budget: b, settleDistance: 2 } as const,
    bothOrders: false,
  })),
  { label: 'adaptive 24, one order, no early stop', plan: { kind: 'adaptive', budget: 24, stopWhenSettled: false }, bothOrders: false },
];
const reference = referenceOf(cache.groups, recipe);
const rows: PlanRow[] = specs.map((spec) => evaluatePlan(cache.groups, reference, spec, recipe, SEEDS, deriveSeed(config.seed, 604)));
const tDone = performance.now();

const f = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const per = (r: PlanRow, pick: (a: AggregationStats) => number, d = 3): string => AGGREGATIONS.map((a) => f(pick(r.byAggregation[a]), d)).join(' / ');
const lines = [
  'τ-b, advantage MAD and Pearson against the reference, each as win-rate / Bradley–Terry / imputed win-rate aggregation',
  '',
  '| plan | judgments / group | rounds | τ-b | share of groups τ-b ≥ 0.9 | advantage MAD | advantage Pearson |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${f(r.meanJudgments, 1)} | ${f(r.meanRounds, 1)} | ${per(r, (a) => a.tau)} | ${per(r, (a) => a.tauAtLeast09, 2)} | ${per(r, (a) => a.advantageMad)} | ${per(r, (a) => a.advantagePearson)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
const dims = PAIRWISE_DIMENSIONS.map((d) => {
  const all = cache.groups.flatMap((g) => g.cells.filter((c): c is DimWinners => c !== null).map((c) => c[d]));
  return [d, all.filter((w) => w === 0).length / Math.max(1, all.length)] as const;
});
/** Share of pairs whose two orders agree once the second is swapped back (OA, and the combined winner). */
const orderConsistency = (winner: (w: DimWinners) => 0 | 1 | 2 | null): number => {
  let agree = 0;
  let pairs = 0;
  for (const g of cache.groups) {
    for (let a = 0; a < g.n; a++) {
      for (let b = a + 1; b < g.n; b++) {
        const x = g.cells[a * g.n + b];
        const y = g.cells[b * g.n + a];
        if (x == null || y == null) continue;
        const wy = winner(y);
        pairs += 1;
        if (winner(x) === (wy === 1 ? 2 : wy === 2 ? 1 : wy)) agree += 1;
      }
    }
  }
  return agree / Math.max(1, pairs);
};
const out = {
  benchmark: 'plans',
  date: new Date().toISOString(),
  machine: machineInfo(),
  settings: {
    world: 'v2 (configs/world-v2.yaml)',
    videos: `G = ${G} samples of the base policy ${config.generator.checkpoint.replace(`${PROJECT_ROOT}/`, '')} (SDE sampler as configured) per training prompt`,
    judge: `embedded, ${config.judge.checkpoint.replace(`${PROJECT_ROOT}/`, '')}, reasoner.temporal, config judge defaults (initialFrames ${config.judge.initialFrames}, maxToolCalls ${config.judge.maxToolCalls})`,
    groups: cache.groups.length,
    planSeedsPerGroup: SEEDS,
    reference: 'win-rate rewards from all G(G−1) ordered pairs',
    weights: recipe.weights,
    combination: recipe.combination,
    defaultAdaptiveBudget: budget,
    advantages: 'group std, epsilon 1e-4, clip 5 (coordinator defaults)',
    reusedCache: REUSE,
  },
  judging: {
    ...cache.timing,
    failures: cache.failures,
    determinism: cache.determinism,
    tieShare: Object.fromEntries(dims),
    orderConsistency: { OA: orderConsistency((w) => w.OA), combined: orderConsistency((w) => combinedWinner(w, recipe)) },
  },
  seconds: { judging: (tJudged - t0) / 1000, simulation: (tDone - tJudged) / 1000 },
  rows,
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'plans.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stderr.write(
  `judging ${out.seconds.judging.toFixed(0)} s, simulation ${out.seconds.simulation.toFixed(0)} s; determinism ${cache.determinism.identical}/${cache.determinism.repeats}\n`,
);
