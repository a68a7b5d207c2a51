/**
 * `npm run bench:judge`: the embedded judge on ≥ 500 held-out video pairs from the world with known gold preferences.
 * Reports pairwise accuracy on non-tie pairs (overall and per dimension), order consistency, frames viewed per
 * judgment against an all-frames baseline of the same judge, judgments/s, for each shipped checkpoint.
 * World v2 (bench/support/judge-world2.ts): 48-frame videos with events and local defects, five frame budgets, and
 * accuracy split by local / global evidence. BENCH_WORLDS=1,2 (default both); a world not run keeps its last results.
 * Results to bench/results/judge.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSeed } from '../src/common/rng.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { EmbeddedGenerator } from '../src/generator/index.js';
import { createEmbeddedJudge } from '../src/judge/backends/embedded/index.js';
import { RawFrameSource } from '../src/judge/frame-source.js';
import type { JudgeEngine } from '../src/judge/engine.js';
import type { RawVideo } from '../src/media/index.js';
import type { PairwiseDimension } from '../src/protocol/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, goldPreference, goldScores, promptText, type GoldScores } from '../src/world/index.js';
import { machineInfo } from './machine.js';
import { WORLD2_DEFAULT_DATA, WORLD2_FRAMES, buildWorld2Pairs, runWorld2Bench, type World2Results } from './support/judge-world2.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 500);
const WORLDS = (process.env.BENCH_WORLDS ?? '1,2').split(',').map(Number);
const VERSIONS_V2 = (process.env.BENCH_VERSIONS_V2 ?? (existsSync(join(PROJECT_ROOT, 'models', 'rm-v3')) ? 'rm-v2,rm-v3' : 'rm-v2')).split(',');
const VERSIONS = (process.env.BENCH_VERSIONS ?? 'rm-v1,rm-v2').split(',');
const TIE = { TA: 0.04, MQ: 0.1, VQ: 0.1, OA: 0.03 } as const;
const DIMS: readonly PairwiseDimension[] = ['TA', 'MQ', 'VQ', 'OA'];

interface GoldPair {
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  readonly gold: Record<PairwiseDimension, 0 | 1 | 2>;
}

const config = loadConfig(DEFAULT_CONFIG_PATH);
await chooseTensorBackend(config.tensor.backend);
const generator = await EmbeddedGenerator.create({ config });

/** Held-out pairs: two samples of the base policy for one prompt, with gold preferences per dimension. */
async function buildPairs(n: number): Promise<GoldPair[]> {
  const specs = new PromptGenerator({
    seed: deriveSeed(config.seed, 77),
    split: 'heldout',
    splitSeed: config.world.splitSeed,
    heldOutFraction: config.world.heldOutFraction,
    secondObjectProbability: config.world.secondObjectProbability,
  }).take(n);
  const pairs: GoldPair[] = [];
  for (let start = 0; start < n; start += 64) {
    const chunk = specs.slice(start, start + 64);
    const res = await generator.generate({ prompts: chunk.map(promptText), groupSize: 2, seed: deriveSeed(config.seed, 78, start) });
    chunk.forEach((spec, i) => {
      const va = res.videos[2 * i];
      const vb = res.videos[2 * i + 1];
      if (va?.latent == null || vb?.latent == null) return;
      const ga: GoldScores = goldScores(evaluateScene(spec, decodeLatent(va.latent)));
      const gb: GoldScores = goldScores(evaluateScene(spec, decodeLatent(vb.latent)));
      pairs.push({
        prompt: promptText(spec),
        a: va.video,
        b: vb.video,
        gold: {
          TA: goldPreference(ga.TA, gb.TA, TIE.TA),
          MQ: goldPreference(ga.MQ, gb.MQ, TIE.MQ),
          VQ: goldPreference(ga.VQ, gb.VQ, TIE.VQ),
          OA: goldPreference(ga.overall, gb.overall, TIE.OA),
        },
      });
    });
  }
  return pairs;
}

interface RunStats {
  readonly accuracy: Record<PairwiseDimension, number>;
  readonly nonTie: Record<PairwiseDimension, number>;
  readonly orderConsistency: number | null;
  readonly meanFramesViewed: number;
  readonly meanToolCalls: number;
  readonly judgmentsPerSecond: number;
  readonly hallucinationsPerJudgment: number;
  readonly failures: number;
}

async function run(
  judge: JudgeEngine,
  pairs: readonly GoldPair[],
  options: { initialFrames?: number; maxToolCalls?: number },
  checkOrder: boolean,
): Promise<RunStats> {
  const correct = { TA: 0, MQ: 0, VQ: 0, OA: 0 };
  const counted = { TA: 0, MQ: 0, VQ: 0, OA: 0 };
  let frames = 0;
  let tools = 0;
  let hallucinations = 0;
  let consistent = 0;
  let judgments = 0;
  let failures = 0;
  const t0 = performance.now();
  for (const [i, p] of pairs.entries()) {
    try {
      const v = await judge.judge({
        id: `p${i}`,
        prompt: p.prompt,
        mode: 'pairwise',
        videos: [new RawFrameSource(p.a, 'a'), new RawFrameSource(p.b, 'b')],
        options,
      });
      judgments += 1;
      frames += v.framesViewed.reduce((s, f) => s + f.length, 0);
      tools += v.toolCalls;
      hallucinations += v.hallucinations.length;
      for (const d of DIMS) {
        // A dimension the verdict did not give is not counted (not given), neither right nor wrong.
        if (p.gold[d] === 0 || v.answer === null || v.answer[d] === undefined) continue;
        counted[d] += 1;
        if (v.answer[d] === p.gold[d]) correct[d] += 1;
      }
      if (checkOrder) {
        const w = await judge.judge({
          id: `q${i}`,
          prompt: p.prompt,
          mode: 'pairwise',
          videos: [new RawFrameSource(p.b, 'b'), new RawFrameSource(p.a, 'a')],
          options,
        });
        judgments += 1;
        const swapped = w.answer?.OA === 1 ? 2 : w.answer?.OA === 2 ? 1 : 0;
        if (swapped === v.answer?.OA) consistent += 1;
      }
    } catch {
      failures += 1;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const ratio = (d: PairwiseDimension): number => (counted[d] === 0 ? NaN : correct[d] / counted[d]);
  const n = pairs.length - failures;
  return {
    accuracy: { TA: ratio('TA'), MQ: ratio('MQ'), VQ: ratio('VQ'), OA: ratio('OA') },
    nonTie: counted,
    orderConsistency: checkOrder ? consistent / Math.max(1, n) : null,
    meanFramesViewed: frames / Math.max(1, n),
    meanToolCalls: tools / Math.max(1, n),
    judgmentsPerSecond: judgments / seconds,
    hallucinationsPerJudgment: hallucinations / Math.max(1, n),
    failures,
  };
}

const resultsPath = join(PROJECT_ROOT, 'bench', 'results', 'judge.json');
const previous = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>) : {};
const pairs = WORLDS.includes(1) ? await buildPairs(PAIRS) : [];
const results: Record<string, { thinking: RunStats; allFrames: RunStats; initialOnly: RunStats }> = {};
for (const version of WORLDS.includes(1) ? VERSIONS : []) {
  const judge = await createEmbeddedJudge({ modelDir: join(PROJECT_ROOT, 'models', version) });
  try {
    const thinking = await run(judge, pairs, {}, true);
    const allFrames = await run(judge, pairs, { initialFrames: 2 * config.world.frames, maxToolCalls: 0 }, false);
    const initialOnly = await run(judge, pairs, { maxToolCalls: 0 }, false);
    results[version] = { thinking, allFrames, initialOnly };
    process.stderr.write(
      `${version}: OA ${thinking.accuracy.OA.toFixed(3)} (all frames ${allFrames.accuracy.OA.toFixed(3)}), frames ${thinking.meanFramesViewed.toFixed(1)}\n`,
    );
  } finally {
    await judge.close();
  }
}
await generator.close();

let world2: unknown = previous.world2 ?? null;
if (WORLDS.includes(2)) {
  const setup = {
    seed: config.seed,
    pairs: PAIRS,
    world: {
      splitSeed: config.world.splitSeed,
      heldOutFraction: config.world.heldOutFraction,
      secondObjectProbability: config.world.secondObjectProbability,
      eventProbability: config.world.eventProbability,
    },
    data: WORLD2_DEFAULT_DATA,
    tie: TIE,
  };
  const t0 = performance.now();
  const pairs2 = buildWorld2Pairs(setup);
  process.stderr.write(`world v2: ${pairs2.length} pairs in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const byVersion: Record<string, World2Results> = {};
  for (const version of VERSIONS_V2) {
    byVersion[version] = await runWorld2Bench(join(PROJECT_ROOT, 'models', version), pairs2, (line) => process.stderr.write(`world v2 ${version}: ${line}\n`));
  }
  world2 = {
    date: new Date().toISOString(),
    setup: {
      ...setup,
      framesPerVideo: WORLD2_FRAMES,
      nonTiePairsOA: pairs2.filter((p) => p.gold.OA !== 0).length,
      localPairsOA: pairs2.filter((p) => p.local).length,
    },
    results: byVersion,
  };
}
const out = WORLDS.includes(1)
  ? {
      benchmark: 'judge',
      date: new Date().toISOString(),
      machine: machineInfo(),
      setup: { pairs: pairs.length, framesPerVideo: config.world.frames, tieThresholds: TIE, nonTiePairsOA: pairs.filter((p) => p.gold.OA !== 0).length },
      results,
      world2,
    }
  : { ...previous, machine: machineInfo(), world2 };
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(resultsPath, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
