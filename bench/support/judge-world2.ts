/**
 * The world-v2 part of `npm run bench:judge`: held-out pairs of 48-frame videos with events and temporally local
 * defects, and the embedded judge under five frame budgets: the 8 initial frames only; thinking (the planner); random
 * selection and evenly spaced frames with thinking's mean frame budget; all 96 frames. Accuracy per dimension, split
 * by whether the gold overall preference is decided by evidence local in time (it differs from the preference the
 * global evidence alone gives).
 */
import { Rng, deriveSeed } from '../../src/common/rng.js';
import { createEmbeddedJudge } from '../../src/judge/backends/embedded/index.js';
import type { EmbeddedReasonerOptions } from '../../src/judge/backends/embedded/reasoner.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { RawVideo } from '../../src/media/index.js';
import type { PairwiseDimension } from '../../src/protocol/index.js';
import {
  PromptGenerator,
  TEMPORAL_DATA_DEFAULTS,
  decodeLatent,
  evaluateScene,
  goldPreference,
  goldScores,
  promptText,
  renderScene,
  sampleDataLatent,
  worldPromptOptions,
  type DataImperfection,
} from '../../src/world/index.js';

export const WORLD2_FRAMES = 48;
const DIMS: readonly PairwiseDimension[] = ['TA', 'MQ', 'VQ', 'OA'];

export interface World2Pair {
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  readonly gold: Record<PairwiseDimension, 0 | 1 | 2>;
  /** The gold overall preference differs from what the evidence global in time gives. */
  readonly local: boolean;
}

export interface World2Setup {
  readonly seed: number;
  readonly pairs: number;
  readonly world: { splitSeed: number; heldOutFraction: number; secondObjectProbability: number; eventProbability: number };
  /** The pair distribution: two draws of the v2 data distribution for one held-out prompt. */
  readonly data: DataImperfection;
  readonly tie: Record<PairwiseDimension, number>;
}

/** Held-out v2 pairs with gold preferences. */
export function buildWorld2Pairs(setup: World2Setup): World2Pair[] {
  const gen = new PromptGenerator(worldPromptOptions({ version: 2, ...setup.world }, 'heldout', deriveSeed(setup.seed, 91)));
  const rng = Rng.fromSeed(deriveSeed(setup.seed, 92));
  const out: World2Pair[] = [];
  for (const [i, spec] of gen.take(setup.pairs).entries()) {
    const [la, lb] = [0, 1].map(() => sampleDataLatent(spec, rng, setup.data, 2));
    if (la === undefined || lb === undefined) continue;
    const [sa, sb] = [decodeLatent(la), decodeLatent(lb)];
    const [ra, rb] = [evaluateScene(spec, sa), evaluateScene(spec, sb)];
    const [ga, gb] = [goldScores(ra), goldScores(rb)];
    const gold = {
      TA: goldPreference(ga.TA, gb.TA, setup.tie.TA),
      MQ: goldPreference(ga.MQ, gb.MQ, setup.tie.MQ),
      VQ: goldPreference(ga.VQ, gb.VQ, setup.tie.VQ),
      OA: goldPreference(ga.overall, gb.overall, setup.tie.OA),
    };
    const globalOA = goldPreference(goldScores(ra, { globalOnly: true }).overall, goldScores(rb, { globalOnly: true }).overall, setup.tie.OA);
    const render = (s: typeof sa, k: number): RawVideo => renderScene(s, { frames: WORLD2_FRAMES, fps: 8, patternSeed: deriveSeed(setup.seed, i, k) });
    out.push({ prompt: promptText(spec), a: render(sa, 0), b: render(sb, 1), gold, local: gold.OA !== 0 && gold.OA !== globalOA });
  }
  return out;
}

export interface World2RowStats {
  readonly accuracy: Record<PairwiseDimension, number>;
  readonly nonTie: Record<PairwiseDimension, number>;
  /** OA accuracy over non-tie pairs decided by local / by global evidence. */
  readonly accuracyLocal: number;
  readonly accuracyGlobal: number;
  readonly pairsLocal: number;
  readonly pairsGlobal: number;
  readonly meanFramesViewed: number;
  readonly meanToolCalls: number;
  readonly judgmentsPerSecond: number;
  readonly hallucinationsPerJudgment: number;
  readonly failures: number;
}

export interface World2Row {
  readonly reasoner: EmbeddedReasonerOptions;
  readonly options: { initialFrames?: number; maxToolCalls?: number };
}

/** Judges every pair with one setting. */
export async function runWorld2Row(modelDir: string, pairs: readonly World2Pair[], row: World2Row): Promise<World2RowStats> {
  const judge = await createEmbeddedJudge({ modelDir, reasoner: { temporal: true, ...row.reasoner }, maxImages: 2 * WORLD2_FRAMES });
  const correct = { TA: 0, MQ: 0, VQ: 0, OA: 0 };
  const counted = { TA: 0, MQ: 0, VQ: 0, OA: 0 };
  const split = { local: [0, 0], global: [0, 0] };
  let frames = 0;
  let tools = 0;
  let hallucinations = 0;
  let failures = 0;
  const t0 = performance.now();
  try {
    for (const [i, p] of pairs.entries()) {
      try {
        const v = await judge.judge({
          id: `w2-${i}`,
          prompt: p.prompt,
          mode: 'pairwise',
          videos: [new RawFrameSource(p.a, 'a'), new RawFrameSource(p.b, 'b')],
          options: row.options,
        });
        frames += v.framesViewed.reduce((s, f) => s + f.length, 0);
        tools += v.toolCalls;
        hallucinations += v.hallucinations.length;
        for (const d of DIMS) {
          if (p.gold[d] === 0 || v.answer === null || v.answer[d] === undefined) continue;
          counted[d] += 1;
          if (v.answer[d] === p.gold[d]) correct[d] += 1;
        }
        if (p.gold.OA !== 0 && v.answer !== null) {
          const bucket = p.local ? split.local : split.global;
          bucket[0] = (bucket[0] ?? 0) + (v.answer.OA === p.gold.OA ? 1 : 0);
          bucket[1] = (bucket[1] ?? 0) + 1;
        }
      } catch {
        failures += 1;
      }
    }
  } finally {
    await judge.close();
  }
  const n = Math.max(1, pairs.length - failures);
  const ratio = (c: number, t: number): number => (t === 0 ? NaN : c / t);
  return {
    accuracy: { TA: ratio(correct.TA, counted.TA), MQ: ratio(correct.MQ, counted.MQ), VQ: ratio(correct.VQ, counted.VQ), OA: ratio(correct.OA, counted.OA) },
    nonTie: counted,
    accuracyLocal: ratio(split.local[0] ?? 0, split.local[1] ?? 0),
    accuracyGlobal: ratio(split.global[0] ?? 0, split.global[1] ?? 0),
    pairsLocal: split.local[1] ?? 0,
    pairsGlobal: split.global[1] ?? 0,
    meanFramesViewed: frames / n,
    meanToolCalls: tools / n,
    judgmentsPerSecond: pairs.length / ((performance.now() - t0) / 1000),
    hallucinationsPerJudgment: hallucinations / n,
    failures,
  };
}

export type World2Results = Record<'initialOnly' | 'thinking' | 'random' | 'evenlySpaced' | 'allFrames', World2RowStats> & {
  /** The same comparison at a tight budget: thinking with one tool call, and the controls at its mean frame count. */
  readonly oneCall: Record<'thinking' | 'random' | 'evenlySpaced', World2RowStats>;
};

/** The even frame count nearest to a mean (evenly spaced frames split the count between the two videos). */
const sameBudget = (mean: number): number => 2 * Math.round(mean / 2);

/** The five rows; random and evenly spaced get thinking's mean frame budget. */
export async function runWorld2Bench(
  modelDir: string,
  pairs: readonly World2Pair[],
  log: (line: string) => void = () => {},
  thinkingOptions: EmbeddedReasonerOptions = {},
): Promise<World2Results> {
  const initialOnly = await runWorld2Row(modelDir, pairs, { reasoner: {}, options: { maxToolCalls: 0 } });
  log(`initial only: OA ${initialOnly.accuracy.OA.toFixed(3)}`);
  const thinking = await runWorld2Row(modelDir, pairs, { reasoner: thinkingOptions, options: {} });
  log(`thinking: OA ${thinking.accuracy.OA.toFixed(3)}, frames ${thinking.meanFramesViewed.toFixed(1)}`);
  const budget = sameBudget(thinking.meanFramesViewed);
  const random = await runWorld2Row(modelDir, pairs, {
    reasoner: { selection: 'random', randomFrames: Math.max(0, budget - 8), selectionSeed: 5 },
    options: {},
  });
  log(`random: OA ${random.accuracy.OA.toFixed(3)}, frames ${random.meanFramesViewed.toFixed(1)}`);
  const evenlySpaced = await runWorld2Row(modelDir, pairs, { reasoner: {}, options: { initialFrames: budget, maxToolCalls: 0 } });
  log(`evenly spaced: OA ${evenlySpaced.accuracy.OA.toFixed(3)}, frames ${evenlySpaced.meanFramesViewed.toFixed(1)}`);
  const allFrames = await runWorld2Row(modelDir, pairs, { reasoner: {}, options: { initialFrames: 2 * WORLD2_FRAMES, maxToolCalls: 0 } });
  log(`all frames: OA ${allFrames.accuracy.OA.toFixed(3)}`);
  const tight = await runWorld2Row(modelDir, pairs, { reasoner: thinkingOptions, options: { maxToolCalls: 1 } });
  const tightBudget = sameBudget(tight.meanFramesViewed);
  const oneCall = {
    thinking: tight,
    random: await runWorld2Row(modelDir, pairs, {
      reasoner: { selection: 'random', randomFrames: Math.max(0, tightBudget - 8), selectionSeed: 5 },
      options: {},
    }),
    evenlySpaced: await runWorld2Row(modelDir, pairs, { reasoner: {}, options: { initialFrames: tightBudget, maxToolCalls: 0 } }),
  };
  log(
    `one call: thinking OA ${tight.accuracy.OA.toFixed(3)} (${tight.meanFramesViewed.toFixed(1)} frames), random ${oneCall.random.accuracy.OA.toFixed(3)}, evenly spaced ${oneCall.evenlySpaced.accuracy.OA.toFixed(3)}`,
  );
  return { initialOnly, thinking, random, evenlySpaced, allFrames, oneCall };
}

export const WORLD2_DEFAULT_DATA: DataImperfection = { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3, ...TEMPORAL_DATA_DEFAULTS };
