/**
 * Gold-labelled video pairs for training and measuring the learned judge: two samples of the generator for one
 * prompt of the world's grammar, with the gold evaluator's preference per dimension (ties below GOLD_TIE). The same
 * construction as `bench/judge.ts`; the judge never sees the gold scores.
 */
import { deriveSeed } from '../common/rng.js';
import type { Generator } from '../generator/index.js';
import type { RawVideo } from '../media/index.js';
import type { PairwiseDimension, Preference } from '../protocol/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, goldPreference, goldScores, promptText, type Split } from '../world/index.js';

/** Gold preference tie thresholds per dimension (as in bench/judge.ts). */
export const GOLD_TIE: Readonly<Record<PairwiseDimension, number>> = Object.freeze({ TA: 0.04, MQ: 0.1, VQ: 0.1, OA: 0.03 });

export type GoldPreferences = Readonly<Record<PairwiseDimension, Preference>>;

export interface GoldPair {
  readonly id: string;
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  readonly gold: GoldPreferences;
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
  const prompts = new PromptGenerator({ seed: deriveSeed(o.seed, 77), split: o.split, splitSeed: o.world.splitSeed, heldOutFraction: o.world.heldOutFraction, secondObjectProbability: o.world.secondObjectProbability });
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
      const gold = { TA: goldPreference(ga.TA, gb.TA, GOLD_TIE.TA), MQ: goldPreference(ga.MQ, gb.MQ, GOLD_TIE.MQ), VQ: goldPreference(ga.VQ, gb.VQ, GOLD_TIE.VQ), OA: goldPreference(ga.overall, gb.overall, GOLD_TIE.OA) };
      if (o.decidedOverall === true && gold.OA === 0) return;
      pairs.push({ id: `${o.split}-${o.seed}-${start + i}`, prompt: promptText(spec), a: va.video, b: vb.video, gold });
    });
  }
  return pairs;
}
