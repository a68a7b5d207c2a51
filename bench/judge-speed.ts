/**
 * `npm run bench:judge-speed`: how fast the embedded judge gets through a GRPO group's pairwise comparisons on world v2,
 * before and after the per-group perception cache and the coalesced ONNX runs. Groups of G = 8 videos sampled from the
 * v2 base policy for training prompts; each group judged under the run's plan (configs/world-v2.yaml's judge; the
 * adaptive plan, ⌈G·log₂G⌉ judgments at most, driven round by round by the judge's own answers) in three set-ups:
 * - before: every comparison perceives its frames afresh, comparisons one at a time (one ONNX run per reasoner turn);
 * - cache: the group's videos keyed (as a reward server keys them), so a frame is perceived once per group;
 * - cache + batch: each round's comparisons judged concurrently, so their crops share ONNX runs.
 * Per set-up: judgments/s, frames perceived (analysis + classification) per judgment, ONNX runs per judgment, and
 * whether the answers are identical to "before" (the cache must not change a verdict). BENCH_GROUPS (default 16).
 * Results to bench/results/judge-speed.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, deriveSeed } from '../src/common/rng.js';
import { PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { combinedWinner } from '../src/coordinator/reward-collector.js';
import { EmbeddedGenerator } from '../src/generator/index.js';
import { defaultAdaptiveBudget, startPlan, type Comparison, type ComparisonOutcome } from '../src/grpo/index.js';
import { EmbeddedReasoner } from '../src/judge/backends/embedded/index.js';
import { Perception, videoSignals } from '../src/judge/backends/embedded/perception/index.js';
import { JudgeEngine } from '../src/judge/engine.js';
import { RawFrameSource } from '../src/judge/frame-source.js';
import type { RawVideo } from '../src/media/index.js';
import type { VerdictAnswer } from '../src/protocol/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { PromptGenerator, promptText, worldPromptOptions } from '../src/world/index.js';
import { machineInfo } from './machine.js';

const GROUPS = Number(process.env.BENCH_GROUPS ?? 16);
const G = 8;
const config = loadConfig(join(PROJECT_ROOT, 'configs', 'world-v2.yaml'));
const weights = config.reward.weights;

interface Setup {
  readonly name: 'before' | 'cache' | 'cacheBatch';
  readonly cache: boolean;
  readonly concurrent: boolean;
}
const SETUPS: readonly Setup[] = [
  { name: 'before', cache: false, concurrent: false },
  { name: 'cache', cache: true, concurrent: false },
  { name: 'cacheBatch', cache: true, concurrent: true },
];

interface Row {
  readonly judgments: number;
  readonly seconds: number;
  readonly judgmentsPerSecond: number;
  readonly framesViewedPerJudgment: number;
  readonly framesPerceivedPerJudgment: number;
  readonly onnxRunsPerJudgment: number;
  readonly rowsPerOnnxRun: number;
  /** Answers identical to the `before` set-up's, comparison by comparison. */
  readonly sameAnswers: number;
}

await chooseTensorBackend(config.tensor.backend);
const generator = await EmbeddedGenerator.create({ config });
const specs = new PromptGenerator(worldPromptOptions(config.world, 'train', deriveSeed(config.seed, 701))).take(GROUPS);
const groups: { prompt: string; videos: RawVideo[] }[] = [];
for (const [gi, spec] of specs.entries()) {
  const prompt = promptText(spec);
  const { videos } = await generator.generate({ prompts: [prompt], groupSize: G, seed: deriveSeed(config.seed, 702, gi) });
  groups.push({ prompt, videos: videos.map((v) => v.video) });
}
await generator.close();

const reference = new Map<string, string>();
const results: Partial<Record<Setup['name'], Row>> = {};
for (const setup of SETUPS) {
  const perception = await Perception.create(config.judge.checkpoint);
  const reasoner = new EmbeddedReasoner(
    {
      version: perception.version,
      perceive: (f, w, h) => perception.perceive(f, w, h),
      signals: (f, w, h) => videoSignals(f, w, h),
      close: () => perception.close(),
    },
    { temporal: true, perceptionCache: setup.cache ? undefined : null },
  );
  const engine = new JudgeEngine(reasoner, { maxFormatRetries: config.judge.maxFormatRetries, defaults: config.judge });
  let judgments = 0;
  let framesViewed = 0;
  let same = 0;
  const t0 = performance.now();
  for (const [gi, group] of groups.entries()) {
    const session = startPlan(
      G,
      { kind: 'adaptive', budget: defaultAdaptiveBudget(G), settleDistance: config.reward.settleDistance },
      { bothOrders: false, rng: Rng.fromSeed(deriveSeed(config.seed, 703, gi)) },
    );
    const outcomes: ComparisonOutcome[] = [];
    const judgeOne = async (c: Comparison): Promise<VerdictAnswer | null> => {
      const [a, b] = [group.videos[c.first], group.videos[c.second]];
      if (a === undefined || b === undefined) throw new Error('comparison outside the group');
      const key = (i: number): string | undefined => (setup.cache ? `g${gi}/v${i}` : undefined);
      const v = await engine.judge({
        id: `g${gi}-${c.first}-${c.second}`,
        prompt: group.prompt,
        mode: 'pairwise',
        videos: [new RawFrameSource(a, 'a', key(c.first)), new RawFrameSource(b, 'b', key(c.second))],
        options: {},
      });
      framesViewed += v.framesViewed.reduce((s, f) => s + f.length, 0);
      return v.answer;
    };
    for (let comparisons = session.next([]); comparisons.length > 0; comparisons = session.next(outcomes)) {
      const answers: (VerdictAnswer | null)[] = [];
      if (setup.concurrent) answers.push(...(await Promise.all(comparisons.map(judgeOne))));
      else for (const c of comparisons) answers.push(await judgeOne(c));
      comparisons.forEach((c, i) => {
        const answer = answers[i] ?? null;
        const id = `${gi}:${outcomes.length}:${c.first}-${c.second}`;
        const text = JSON.stringify(answer);
        if (setup.name === 'before') reference.set(id, text);
        else if (reference.get(id) === text) same += 1;
        outcomes.push({ ...c, winner: answer === null ? null : combinedWinner(answer, weights) });
      });
      judgments += comparisons.length;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const stats = perception.stats();
  await engine.close();
  results[setup.name] = {
    judgments,
    seconds,
    judgmentsPerSecond: judgments / seconds,
    framesViewedPerJudgment: framesViewed / judgments,
    framesPerceivedPerJudgment: stats.frames / judgments,
    onnxRunsPerJudgment: stats.runs / judgments,
    rowsPerOnnxRun: stats.rows / Math.max(1, stats.runs),
    sameAnswers: setup.name === 'before' ? judgments : same,
  };
  const r = results[setup.name];
  if (r !== undefined) {
    process.stderr.write(
      `${setup.name}: ${r.judgments} judgments in ${seconds.toFixed(1)} s (${r.judgmentsPerSecond.toFixed(1)}/s), frames viewed ${r.framesViewedPerJudgment.toFixed(1)}, perceived ${r.framesPerceivedPerJudgment.toFixed(1)}, ONNX runs ${r.onnxRunsPerJudgment.toFixed(2)} per judgment (${r.rowsPerOnnxRun.toFixed(0)} rows each), same answers ${r.sameAnswers}/${r.judgments}\n`,
    );
  }
}

const out = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  settings: { groups: GROUPS, groupSize: G, plan: 'adaptive', budget: defaultAdaptiveBudget(G), checkpoint: 'rm-v3', world: 2 },
  results,
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'judge-speed.json'), `${JSON.stringify(out, null, 2)}\n`);
