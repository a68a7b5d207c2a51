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
 * Environment: BENCH_PAIRS (default 600, at least 500; world 2: 500), BENCH_SEEDS (comma list, default the config's
 * judgeTraining.seed), BENCH_OUT (checkpoint folder root, default runs/bench-judge-training, world 2:
 * runs/bench-judge-training-world2), BENCH_REUSE=1 (reuse checkpoints already in BENCH_OUT instead of training them
 * again), BENCH_WORLD (1, default, or 2: configs/world-v2.yaml — 48-frame clips with events and local defects, the
 * `temporal` layout, the rule-based judge reasoning about time on rm-v3; its pairs are bench:judge's world-v2 pairs),
 * BENCH_VARIANTS (comma list of the variants below to train, default all), BENCH_RESULT_KEY (world 2: the key its
 * results are stored under, default `world2`; e.g. a run over more seeds and fewer variants beside the full one).
 * Results: bench/results/judge-training.json (world 2 under `world2`; a run of one world keeps the other's results);
 * a Markdown table on stdout (docs/judge-training.md).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, deriveSeed } from '../src/common/rng.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { EmbeddedReasoner } from '../src/judge/backends/embedded/index.js';
import { OnnxPolicy, manifestLayout, readLearnedCheckpoint, type AnswerMode, type TrainingStage } from '../src/judge/backends/learned/index.js';
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

const WORLD = Number(process.env.BENCH_WORLD ?? 1);
if (WORLD !== 1 && WORLD !== 2) throw new Error(`BENCH_WORLD must be 1 or 2, got ${process.env.BENCH_WORLD ?? ''}`);
const V2 = WORLD === 2;
const PAIRS = Number(process.env.BENCH_PAIRS ?? (V2 ? 500 : 600));
const OUT = process.env.BENCH_OUT ?? join(PROJECT_ROOT, 'runs', V2 ? 'bench-judge-training-world2' : 'bench-judge-training');
const REUSE = process.env.BENCH_REUSE === '1';
if (!Number.isInteger(PAIRS) || PAIRS < 500) throw new Error(`BENCH_PAIRS must be an integer ≥ 500, got ${process.env.BENCH_PAIRS ?? ''}`);

const config = loadConfig(V2 ? join(PROJECT_ROOT, 'configs', 'world-v2.yaml') : DEFAULT_CONFIG_PATH);
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

const ALL_VARIANTS: readonly Variant[] = [
  { name: 'cold-start', stage: 'cold-start', from: null, overrides: {} },
  { name: 'rft', stage: 'rft', from: 'cold-start', overrides: {} },
  { name: 'grpo', stage: 'grpo', from: 'rft', overrides: {} },
  { name: 'grpo-no-cot-gain', stage: 'grpo', from: 'rft', overrides: { grpo: { weights: { cotGain: 0 } } } },
  { name: 'grpo-no-exploration', stage: 'grpo', from: 'rft', overrides: { grpo: { exploration: { bonus: 0 } } } },
  { name: 'oo-cold-start', stage: 'cold-start', from: null, overrides: { answerMode: 'overall-only' } },
  { name: 'oo-rft', stage: 'rft', from: 'oo-cold-start', overrides: { answerMode: 'overall-only' } },
  { name: 'oo-grpo', stage: 'grpo', from: 'oo-rft', overrides: { answerMode: 'overall-only' } },
];
const CHOSEN = process.env.BENCH_VARIANTS?.split(',').map((v) => v.trim()) ?? null;
const VARIANTS = CHOSEN === null ? ALL_VARIANTS : ALL_VARIANTS.filter((v) => CHOSEN.includes(v.name));
if (CHOSEN !== null && VARIANTS.length !== CHOSEN.length)
  throw new Error(`BENCH_VARIANTS: unknown variant in ${CHOSEN.join(',')} (known: ${ALL_VARIANTS.map((v) => v.name).join(', ')})`);
/** Variants whose policy is also measured with random frame selection (world 2: every per-dimension one). */
const RANDOM_FOR = V2 ? ['cold-start', 'rft', 'grpo', 'grpo-no-cot-gain', 'grpo-no-exploration'] : ['grpo'];

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
    const traces = await policyTraces(policy, cacheData.cache, pairs, {
      answerMode: mode,
      layout: manifestLayout(checkpoint.manifest),
      decoding: { kind: 'greedy' },
      maxOwnToolCalls: calls,
      randomFrames,
      judge: { maxToolCalls: calls },
      version: checkpoint.manifest.version,
    });
    return summarise(traces, mode);
  } finally {
    await policy.close();
  }
}

async function ruleMetrics(
  data: TrainingData,
  pairs: readonly PerceivedPair[],
  judge: { initialFrames?: number; maxToolCalls?: number },
): Promise<JudgeMetrics> {
  // World 2: the embedded judge reasons about time (as serve-reward turns it on from world.version), and may be shown all frames.
  const engine = new JudgeEngine(new EmbeddedReasoner(data.cache.port(), V2 ? { temporal: true } : {}), {
    maxFormatRetries: 0,
    ...(V2 ? { maxImages: totalFrames } : {}),
  });
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
    if (sample !== null && typeof sample === 'object')
      return Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, walk(v, (m) => (pick(m) as Record<string, unknown>)[k])]));
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
  log(
    `${row}: OA ${metrics.pairwiseAccuracy}, per-dim ${metrics.perDimensionMean}, frames ${metrics.meanFramesViewed} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
};
await addRule('rule-based, all frames', `all ${totalFrames} frames up front, no tool calls`, { initialFrames: totalFrames, maxToolCalls: 0 });
await addRule('rule-based, initial frames only', 'the 8 initial frames, no tool calls', { maxToolCalls: 0 });
await addRule('rule-based, thinking with images', 'the teacher: 8 initial frames, up to 3 select_frames calls', {});
const teacherFrames = rows.at(-1)?.metrics.meanFramesViewed ?? 8;

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
      const summary = await runStage(config, {
        stage: v.stage,
        out,
        from: v.from === null ? null : dirOf(v.from),
        version: `${v.name}-s${seed}`,
        overrides: { ...v.overrides, seed },
        data,
        log,
      });
      seconds = summary.seconds;
    }
    const metrics = await learnedMetrics(out, data, pairs, null);
    const random = RANDOM_FOR.includes(v.name) ? await learnedMetrics(out, data, pairs, Rng.fromSeed(deriveSeed(seed, 404))) : null;
    const entry = perSeed.get(v.name) ?? { metrics: [], random: [], seconds: [] };
    entry.metrics.push(metrics);
    if (random !== null) entry.random.push(random);
    entry.seconds.push(seconds);
    perSeed.set(v.name, entry);
    log(
      `seed ${seed} ${v.name}: OA ${metrics.pairwiseAccuracy}, per-dim ${metrics.perDimensionMean}, frames ${metrics.meanFramesViewed}, calls ${metrics.meanToolCalls}${random === null ? '' : `; random selection OA ${random.pairwiseAccuracy}, frames ${random.meanFramesViewed}`}`,
    );
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
  if (name === 'grpo')
    rows.push({
      row: 'random frame selection',
      what: 'the full pipeline, its select turns given random unseen frames',
      metrics: medianMetrics(e.random),
      trainSeconds: null,
    });
  else if (e.random.length > 0)
    rows.push({
      row: `random frame selection (${row.replace(/^learned: /, '')})`,
      what: 'this policy, its select turns given random unseen frames',
      metrics: medianMetrics(e.random),
      trainSeconds: null,
    });
}
if (V2) {
  // Context for the frame budget: the rule-based judge on evenly spaced frames, as many as the full pipeline views.
  const full = rows.find((r) => r.row === 'learned: + GRPO (full pipeline)');
  for (const [label, mean] of [
    ['the full pipeline', full?.metrics.meanFramesViewed],
    ['the teacher', teacherFrames],
  ] as const) {
    if (mean === undefined) continue;
    const budget = 2 * Math.round(mean / 2);
    await addRule(`rule-based, ${budget} evenly spaced frames`, `as many frames as ${label} views, evenly spaced, no tool calls`, {
      initialFrames: budget,
      maxToolCalls: 0,
    });
  }
}
for (const name of ['oo-cold-start', 'oo-rft']) {
  const e = perSeed.get(name);
  if (e !== undefined)
    rows.push({
      row: `overall-only: ${name.slice(3)}`,
      what: 'intermediate stage of the overall-only pipeline',
      metrics: medianMetrics(e.metrics),
      trainSeconds: median(e.seconds),
    });
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const splitCols = V2 ? ' OA local | OA global |' : '';
const table = [
  `| row | pairwise acc. (OA) |${splitCols} TA | MQ | VQ | per-dim mean | frames viewed | share of all frames | tool calls | looked closer | first answer OA | train s |`,
  `| --- | --- |${V2 ? ' --- | --- |' : ''} --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ...rows.map((r) => {
    const m = r.metrics;
    const split = V2 ? ` ${f3(m.split?.local ?? NaN)} | ${f3(m.split?.global ?? NaN)} |` : '';
    return `| ${r.row} | ${f3(m.pairwiseAccuracy)} |${split} ${f3(m.perDimension.TA)} | ${f3(m.perDimension.MQ)} | ${f3(m.perDimension.VQ)} | ${f3(m.perDimensionMean)} | ${m.meanFramesViewed.toFixed(1)} | ${f3(m.meanFramesViewed / totalFrames)} | ${m.meanToolCalls.toFixed(2)} | ${f3(m.exploredShare)} | ${f3(m.firstAnswerAccuracy)} | ${r.trainSeconds === null ? '–' : r.trainSeconds.toFixed(0)} |`;
  }),
].join('\n');

const seconds = Math.round((performance.now() - t0) / 100) / 10;
const result = {
  benchmark: 'judge-training',
  command: V2 ? 'BENCH_WORLD=2 npm run bench:judge-training' : 'npm run bench:judge-training',
  world: {
    version: WORLD,
    frames: config.world.frames,
    config: V2 ? 'configs/world-v2.yaml' : 'configs/default.yaml',
    perception: data.perception.version,
    layout: data.layout ?? 'v1',
  },
  date: new Date().toISOString(),
  machine,
  tensorBackend: backend.name,
  seeds: SEEDS,
  pairs: {
    bench: pairs.length,
    decidedOverall: decidedOA,
    nonTie: rows[0]?.metrics.nonTie ?? null,
    ...(V2 ? { decidedByLocalEvidence: pairs.filter((p) => p.local === true).length } : {}),
    train: data.train.length,
    validation: data.validation.length,
  },
  totalFramesPerPair: totalFrames,
  options: config.judgeTraining,
  rows,
  perSeed: Object.fromEntries([...perSeed].map(([k, v]) => [k, v])),
  seconds,
};
const resultsFile = join(PROJECT_ROOT, 'bench', 'results', 'judge-training.json');
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
const previous: Record<string, unknown> = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
// World 1 is the file's top level (as before world 2); world 2 lives under `world2`. A run of one keeps the other.
const RESULT_KEY = process.env.BENCH_RESULT_KEY ?? 'world2';
const merged = V2 ? { ...previous, [RESULT_KEY]: result } : { ...result, ...(previous.world2 === undefined ? {} : { world2: previous.world2 }) };
writeFileSync(resultsFile, `${JSON.stringify(merged, null, 2)}\n`);
process.stdout.write(
  `${table}\n\n${pairs.length} held-out pairs (${decidedOA} with a decided overall preference), seeds ${SEEDS.join(',')}, ${seconds} s on ${machine.cores} cores\n`,
);
