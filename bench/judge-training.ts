/**
 * `npm run bench:judge-training`: VR-Thinker's ablations on the synthetic world. Trains the learned judge through its
 * three stages (cold start → rejection-sampling fine-tuning → GRPO) with the config's `judgeTraining` defaults, plus
 * the ablation variants (GRPO without the CoT-gain term, without the exploration incentive; the whole pipeline with
 * overall-only answers), then measures every row on held-out gold pairs (bench:judge's pairs: the root seed, the
 * held-out split) through the real judge engine:
 *   rule-based with all frames · rule-based with the initial frames only · rule-based thinking with images (the
 *   teacher) · each learned stage · the ablations · the full pipeline with random frame selection.
 * Learned rows are served from their checkpoint's policy.onnx through onnxruntime, greedily — what a reward server
 * runs. Each row: pairwise (OA) and per-dimension accuracy on decided pairs, mean frames viewed (and the share of all
 * frames), tool calls, the share of judgments that looked closer. Training seeds: BENCH_SEEDS (default 1 seed: the
 * config's); with several seeds every learned number is the median over seeds.
 *
 * Environment: BENCH_PAIRS (default 600, at least 500), BENCH_SEEDS (comma list, default the config's
 * judgeTraining.seed), BENCH_OUT (checkpoint folder root, default runs/bench-judge-training), BENCH_REUSE=1 (reuse
 * checkpoints already in BENCH_OUT instead of training them again).
 * Results: bench/results/judge-training.json; a Markdown table on stdout (docs/judge-training.md).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, deriveSeed } from '../src/common/rng.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { EmbeddedReasoner } from '../src/judge/backends/embedded/index.js';
import { OnnxPolicy, readLearnedCheckpoint, type AnswerMode, type TrainingStage } from '../src/judge/backends/learned/index.js';
import { JudgeEngine } from '../src/judge/engine.js';
import {
  PairLoader,
  cacheDirOf,
  engineTraces,
  policyTraces,
  prepareTrainingData,
  runStage,
  summarise,
  type JudgeMetrics,
  type PerceivedPair,
  type StageOverrides,
  type TrainingData,
} from '../src/judge-training/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { machineInfo, median } from './machine.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 600);
const OUT = process.env.BENCH_OUT ?? join(PROJECT_ROOT, 'runs', 'bench-judge-training');
const REUSE = process.env.BENCH_REUSE === '1';
if (!Number.isInteger(PAIRS) || PAIRS < 500) throw new Error(`BENCH_PAIRS must be an integer ≥ 500, got ${process.env.BENCH_PAIRS ?? ''}`);

const config = loadConfig(DEFAULT_CONFIG_PATH);
const SEEDS = (process.env.BENCH_SEEDS ?? String(config.judgeTraining.seed)).split(',').map(Number);
if (SEEDS.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`BENCH_SEEDS must be non-negative integers, got ${process.env.BENCH_SEEDS ?? ''}`);
const backend = await chooseTensorBackend(config.tensor.backend);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const machine = machineInfo();
log(`tensor backend ${backend.name}`);

/** One checkpoint to train: its stage, parent and option overrides. */
interface Variant {
  readonly name: string;
  readonly stage: TrainingStage;
  readonly from: string | null;
  readonly overrides: StageOverrides;
}

const VARIANTS: readonly Variant[] = [
  { name: 'cold-start', stage: 'cold-start', from: null, overrides: {} },
  { name: 'rft', stage: 'rft', from: 'cold-start', overrides: {} },
  { name: 'grpo', stage: 'grpo', from: 'rft', overrides: {} },
  { name: 'grpo-no-cot-gain', stage: 'grpo', from: 'rft', overrides: { grpo: { weights: { cotGain: 0 } } } },
  { name: 'grpo-no-exploration', stage: 'grpo', from: 'rft', overrides: { grpo: { exploration: { bonus: 0 } } } },
  { name: 'oo-cold-start', stage: 'cold-start', from: null, overrides: { answerMode: 'overall-only' } },
  { name: 'oo-rft', stage: 'rft', from: 'oo-cold-start', overrides: { answerMode: 'overall-only' } },
  { name: 'oo-grpo', stage: 'grpo', from: 'oo-rft', overrides: { answerMode: 'overall-only' } },
];

interface Row {
  readonly row: string;
  readonly what: string;
  readonly metrics: JudgeMetrics;
  /** Training seconds of the checkpoint (its own stage only), null for rule-based rows. */
  readonly trainSeconds: number | null;
}

const totalFrames = 2 * config.world.frames;

/** Greedy judgments of a learned checkpoint (its ONNX policy, as served), optionally with random frame selection. */
async function learnedMetrics(dir: string, cacheData: TrainingData, pairs: readonly PerceivedPair[], randomFrames: Rng | null): Promise<JudgeMetrics> {
  const checkpoint = readLearnedCheckpoint(dir);
  const policy = await OnnxPolicy.create(checkpoint.policyBytes, join(dir, checkpoint.manifest.policy.file));
  try {
    const mode: AnswerMode = checkpoint.manifest.actions.answerMode;
    const calls = checkpoint.manifest.actions.maxOwnToolCalls;
    const traces = await policyTraces(policy, cacheData.cache, pairs, { answerMode: mode, decoding: { kind: 'greedy' }, maxOwnToolCalls: calls, randomFrames, judge: { maxToolCalls: calls }, version: checkpoint.manifest.version });
    return summarise(traces, mode);
  } finally {
    await policy.close();
  }
}

async function ruleMetrics(data: TrainingData, pairs: readonly PerceivedPair[], judge: { initialFrames?: number; maxToolCalls?: number }): Promise<JudgeMetrics> {
  const engine = new JudgeEngine(new EmbeddedReasoner(data.cache.port()), { maxFormatRetries: 0 });
  try {
    return summarise(await engineTraces(engine, data.cache, pairs, judge));
  } finally {
    await engine.close();
  }
}

/** The median of every numeric field over seeds (the structure of the first). */
function medianMetrics(all: readonly JudgeMetrics[]): JudgeMetrics {
  const first = all[0];
  if (first === undefined) throw new Error('no metrics');
  const walk = (sample: unknown, pick: (m: JudgeMetrics) => unknown): unknown => {
    if (typeof sample === 'number') return median(all.map((m) => pick(m) as number));
    if (sample !== null && typeof sample === 'object') return Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, walk(v, (m) => (pick(m) as Record<string, unknown>)[k])]));
    return sample;
  };
  return walk(first, (m) => m) as JudgeMetrics;
}

const t0 = performance.now();
const data = await prepareTrainingData(config, log);
const loader = new PairLoader(config, data.perception, cacheDirOf(config), log);
// bench:judge's pairs: buildGoldPairs with the root seed and the held-out split.
const pairs = await loader.load({ name: 'bench', split: 'heldout', count: PAIRS, seed: config.seed, decidedOverall: false }).finally(() => loader.close());
const decidedOA = pairs.filter((p) => p.gold.OA !== 0).length;
log(`bench pairs: ${pairs.length} held-out (${decidedOA} with a decided overall preference); train ${data.train.length}, validation ${data.validation.length}`);

const rows: Row[] = [];
const addRule = async (row: string, what: string, judge: { initialFrames?: number; maxToolCalls?: number }): Promise<void> => {
  const t = performance.now();
  const metrics = await ruleMetrics(data, pairs, judge);
  rows.push({ row, what, metrics, trainSeconds: null });
  log(`${row}: OA ${metrics.pairwiseAccuracy}, per-dim ${metrics.perDimensionMean}, frames ${metrics.meanFramesViewed} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
};
await addRule('rule-based, all frames', `all ${totalFrames} frames up front, no tool calls`, { initialFrames: totalFrames, maxToolCalls: 0 });
await addRule('rule-based, initial frames only', 'the 8 initial frames, no tool calls', { maxToolCalls: 0 });
await addRule('rule-based, thinking with images', 'the teacher: 8 initial frames, up to 3 select_frames calls', {});

// Train every variant for every seed, then measure.
const perSeed = new Map<string, { metrics: JudgeMetrics[]; random: JudgeMetrics[]; seconds: number[] }>();
for (const seed of SEEDS) {
  const dirOf = (name: string): string => join(OUT, `seed-${seed}`, name);
  for (const v of VARIANTS) {
    const out = dirOf(v.name);
    let seconds = NaN;
    if (REUSE && existsSync(join(out, 'manifest.json'))) {
      const m = readLearnedCheckpoint(out).manifest;
      seconds = typeof m.training.seconds === 'number' ? m.training.seconds : NaN;
      log(`seed ${seed} ${v.name}: reusing ${out}`);
    } else {
      const summary = await runStage(config, { stage: v.stage, out, from: v.from === null ? null : dirOf(v.from), version: `${v.name}-s${seed}`, overrides: { ...v.overrides, seed }, data, log });
      seconds = summary.seconds;
    }
    const metrics = await learnedMetrics(out, data, pairs, null);
    const random = v.name === 'grpo' ? await learnedMetrics(out, data, pairs, Rng.fromSeed(deriveSeed(seed, 404))) : null;
    const entry = perSeed.get(v.name) ?? { metrics: [], random: [], seconds: [] };
    entry.metrics.push(metrics);
    if (random !== null) entry.random.push(random);
    entry.seconds.push(seconds);
    perSeed.set(v.name, entry);
    log(`seed ${seed} ${v.name}: OA ${metrics.pairwiseAccuracy}, per-dim ${metrics.perDimensionMean}, frames ${metrics.meanFramesViewed}, calls ${metrics.meanToolCalls}${random === null ? '' : `; random selection OA ${random.pairwiseAccuracy}, frames ${random.meanFramesViewed}`}`);
  }
}

const LABELS: Readonly<Record<string, readonly [string, string]>> = {
  'cold-start': ['learned: cold start', 'imitation of filtered teacher traces'],
  rft: ['learned: + rejection-sampling FT', 'fine-tuned on its own all-correct samples'],
  grpo: ['learned: + GRPO (full pipeline)', 'format + accuracy + CoT gain + exploration'],
  'grpo-no-cot-gain': ['GRPO without CoT gain', 'CoT-gain weight 0 (from the same RFT policy)'],
  'grpo-no-exploration': ['GRPO without exploration incentive', 'exploration bonus 0 (from the same RFT policy)'],
  'oo-grpo': ['overall-only answers (full pipeline)', 'cold start → RFT → GRPO answering OA only'],
};
for (const [name, [row, what]] of Object.entries(LABELS)) {
  const e = perSeed.get(name);
  if (e === undefined) continue;
  rows.push({ row, what, metrics: medianMetrics(e.metrics), trainSeconds: median(e.seconds) });
  if (name === 'grpo') rows.push({ row: 'random frame selection', what: 'the full pipeline, its select turns given random unseen frames', metrics: medianMetrics(e.random), trainSeconds: null });
}
for (const name of ['oo-cold-start', 'oo-rft']) {
  const e = perSeed.get(name);
  if (e !== undefined) rows.push({ row: `overall-only: ${name.slice(3)}`, what: 'intermediate stage of the overall-only pipeline', metrics: medianMetrics(e.metrics), trainSeconds: median(e.seconds) });
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const table = [
  '| row | pairwise acc. (OA) | TA | MQ | VQ | per-dim mean | frames viewed | share of all frames | tool calls | looked closer | first answer OA | train s |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => {
    const m = r.metrics;
    return `| ${r.row} | ${f3(m.pairwiseAccuracy)} | ${f3(m.perDimension.TA)} | ${f3(m.perDimension.MQ)} | ${f3(m.perDimension.VQ)} | ${f3(m.perDimensionMean)} | ${m.meanFramesViewed.toFixed(1)} | ${f3(m.meanFramesViewed / totalFrames)} | ${m.meanToolCalls.toFixed(2)} | ${f3(m.exploredShare)} | ${f3(m.firstAnswerAccuracy)} | ${r.trainSeconds === null ? '–' : r.trainSeconds.toFixed(0)} |`;
  }),
].join('\n');

const seconds = Math.round((performance.now() - t0) / 100) / 10;
const result = {
  benchmark: 'judge-training',
  command: 'npm run bench:judge-training',
  machine,
  tensorBackend: backend.name,
  seeds: SEEDS,
  pairs: { bench: pairs.length, decidedOverall: decidedOA, nonTie: rows[0]?.metrics.nonTie ?? null, train: data.train.length, validation: data.validation.length },
  totalFramesPerPair: totalFrames,
  options: config.judgeTraining,
  rows,
  perSeed: Object.fromEntries([...perSeed].map(([k, v]) => [k, v])),
  seconds,
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'judge-training.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${table}\n\n${pairs.length} held-out pairs (${decidedOA} with a decided overall preference), seeds ${SEEDS.join(',')}, ${seconds} s on ${machine.cores} cores\n`);
