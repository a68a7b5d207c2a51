/**
 * Gold-labelled video pairs for training and measuring the learned judge: two samples of the generator for one
 * prompt of the world's grammar, with the gold evaluator's preference per dimension (ties below GOLD_TIE). The same
 * construction as `bench/judge.ts`; the judge never sees the gold scores. World v2 pairs (`buildDataPairs`) are two
 * draws of the world's imperfect data distribution for one prompt instead — bench:judge's world-v2 construction
 * (bench/support/judge-world2.ts), with events and temporally local defects at known rates.
 */
import { Rng, deriveSeed } from '../common/rng.js';
import type { Generator } from '../generator/index.js';
import { framesOf, type RawVideo } from '../media/index.js';
import type { PairwiseDimension, Preference } from '../protocol/index.js';
import {
  PromptGenerator,
  decodeLatent,
  evaluateScene,
  goldPreference,
  goldScores,
  promptText,
  renderScene,
  sampleDataLatent,
  worldPromptOptions,
  type DataImperfection,
  type Split,
} from '../world/index.js';

/** Gold preference tie thresholds per dimension (as in bench/judge.ts). */
export const GOLD_TIE: Readonly<Record<PairwiseDimension, number>> = Object.freeze({ TA: 0.04, MQ: 0.1, VQ: 0.1, OA: 0.03 });

export type GoldPreferences = Readonly<Record<PairwiseDimension, Preference>>;

export interface GoldPair {
  readonly id: string;
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  readonly gold: GoldPreferences;
  /**
   * World v2: the gold overall preference is decided and differs from the one the evidence global in time gives
   * (`goldScores(…, { globalOnly: true })`): only evidence local in time decides it. Absent for world v1 pairs.
   */
  readonly local?: boolean;
}

export interface GoldPairOptions {
  readonly split: Split;
  readonly count: number;
  readonly seed: number;
  readonly world: { readonly splitSeed: number; readonly heldOutFraction: number; readonly secondObjectProbability: number };
  /** Keep only pairs whose overall gold preference is decided (not a tie). Default false. */
  readonly decidedOverall?: boolean;
}

/**
 * `count` pairs, deterministic from the seed: prompts from `deriveSeed(seed, 77)`, generated in chunks of 64 with seed
 * `deriveSeed(seed, 78, start)` — with the config's root seed and the held-out split these are exactly bench/judge.ts's
 * pairs.
 */
export async function buildGoldPairs(generator: Generator, o: GoldPairOptions): Promise<GoldPair[]> {
  const prompts = new PromptGenerator({
    seed: deriveSeed(o.seed, 77),
    split: o.split,
    splitSeed: o.world.splitSeed,
    heldOutFraction: o.world.heldOutFraction,
    secondObjectProbability: o.world.secondObjectProbability,
  });
  const pairs: GoldPair[] = [];
  // Bounded: ties are dropped only with decidedOverall, which needs ~15 % more prompts.
  for (let start = 0; pairs.length < o.count && start < 4 * o.count + 256; start += 64) {
    const specs = prompts.take(start < o.count ? Math.min(64, o.count - start) : 64);
    const res = await generator.generate({ prompts: specs.map(promptText), groupSize: 2, seed: deriveSeed(o.seed, 78, start) });
    specs.forEach((spec, i) => {
      const va = res.videos[2 * i];
      const vb = res.videos[2 * i + 1];
      if (va?.latent == null || vb?.latent == null || pairs.length >= o.count) return;
      const ga = goldScores(evaluateScene(spec, decodeLatent(va.latent)));
      const gb = goldScores(evaluateScene(spec, decodeLatent(vb.latent)));
      const gold = {
        TA: goldPreference(ga.TA, gb.TA, GOLD_TIE.TA),
        MQ: goldPreference(ga.MQ, gb.MQ, GOLD_TIE.MQ),
        VQ: goldPreference(ga.VQ, gb.VQ, GOLD_TIE.VQ),
        OA: goldPreference(ga.overall, gb.overall, GOLD_TIE.OA),
      };
      if (o.decidedOverall === true && gold.OA === 0) return;
      pairs.push({
        id: `${o.split}-${o.seed}-${start + i}`,
        prompt: promptText(spec),
        a: framesOf(va.video, 'a gold pair'),
        b: framesOf(vb.video, 'a gold pair'),
        gold,
      });
    });
  }
  return pairs;
}

export interface DataPairOptions {
  readonly split: Split;
  readonly count: number;
  readonly seed: number;
  readonly world: { readonly splitSeed: number; readonly heldOutFraction: number; readonly secondObjectProbability: number; readonly eventProbability: number };
  /** Frames per video (48 in world v2). */
  readonly frames: number;
  /** The data distribution both videos are drawn from (`pretrain.data`, with the v2 imperfections). */
  readonly data: DataImperfection;
  /** Keep only pairs whose overall gold preference is decided (not a tie). Default false. */
  readonly decidedOverall?: boolean;
}

/**
 * `count` world-v2 pairs, deterministic from the seed: prompts of world v2 from `deriveSeed(seed, 91)`, latents from
 * `deriveSeed(seed, 92)`, render patterns from `deriveSeed(seed, i, k)`. With the config's root seed, the held-out
 * split and no tie filter these are exactly bench:judge's world-v2 pairs.
 */
export function buildDataPairs(o: DataPairOptions): GoldPair[] {
  const prompts = new PromptGenerator(worldPromptOptions({ version: 2, ...o.world }, o.split, deriveSeed(o.seed, 91)));
  const rng = Rng.fromSeed(deriveSeed(o.seed, 92));
  const out: GoldPair[] = [];
  for (let i = 0; out.length < o.count && i < 4 * o.count + 256; i++) {
    const spec = prompts.next();
    const la = sampleDataLatent(spec, rng, o.data, 2);
    const lb = sampleDataLatent(spec, rng, o.data, 2);
    const [sa, sb] = [decodeLatent(la), decodeLatent(lb)];
    const [ra, rb] = [evaluateScene(spec, sa), evaluateScene(spec, sb)];
    const [ga, gb] = [goldScores(ra), goldScores(rb)];
    const gold = {
      TA: goldPreference(ga.TA, gb.TA, GOLD_TIE.TA),
      MQ: goldPreference(ga.MQ, gb.MQ, GOLD_TIE.MQ),
      VQ: goldPreference(ga.VQ, gb.VQ, GOLD_TIE.VQ),
      OA: goldPreference(ga.overall, gb.overall, GOLD_TIE.OA),
    };
    if (o.decidedOverall === true && gold.OA === 0) continue;
    const globalOA = goldPreference(goldScores(ra, { globalOnly: true }).overall, goldScores(rb, { globalOnly: true }).overall, GOLD_TIE.OA);
    const render = (scene: typeof sa, k: number): RawVideo => renderScene(scene, { frames: o.frames, fps: 8, patternSeed: deriveSeed(o.seed, i, k) });
    out.push({
      id: `${o.split}-v2-${o.seed}-${i}`,
      prompt: promptText(spec),
      a: render(sa, 0),
      b: render(sb, 1),
      gold,
      local: gold.OA !== 0 && gold.OA !== globalOA,
    });
  }
  return out;
}
