/** Shared helpers of the judge-training tests: gold pairs rendered from the world, perceived with rm-v2, and hand-built traces. */
import { join } from 'node:path';
import { Rng, deriveSeed } from '../../src/common/rng.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { Perception } from '../../src/judge/backends/embedded/perception/index.js';
import { SLOT_COUNT, type PolicyAction, type RecordedStep } from '../../src/judge/backends/learned/index.js';
import {
  GOLD_TIE,
  PerceptionCache,
  perceivePairs,
  perceptionRef,
  type GoldPair,
  type GoldPreferences,
  type PerceivedPair,
  type Trace,
  type TrainingData,
} from '../../src/judge-training/index.js';
import type { PairwiseAnswer } from '../../src/protocol/index.js';
import {
  PromptGenerator,
  decodeLatent,
  evaluateScene,
  goldPreference,
  goldScores,
  promptText,
  renderScene,
  sampleDataLatent,
  type Split,
} from '../../src/world/index.js';

export const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');

/**
 * `n` gold pairs with a decided overall preference, rendered from latents of the imperfect data distribution (no
 * generator needed), deterministic from the seed.
 */
export function worldPairs(n: number, seed: number, split: Split = 'train'): GoldPair[] {
  const specs = new PromptGenerator({ seed, split, splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  const rng = Rng.fromSeed(deriveSeed(seed, 1));
  const imperfection = { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 };
  const out: GoldPair[] = [];
  for (let tries = 0; out.length < n && tries < 50 * n; tries++) {
    const spec = specs.next();
    const la = sampleDataLatent(spec, rng, imperfection);
    const lb = sampleDataLatent(spec, rng, imperfection);
    const ga = goldScores(evaluateScene(spec, decodeLatent(la)));
    const gb = goldScores(evaluateScene(spec, decodeLatent(lb)));
    const gold: GoldPreferences = {
      TA: goldPreference(ga.TA, gb.TA, GOLD_TIE.TA),
      MQ: goldPreference(ga.MQ, gb.MQ, GOLD_TIE.MQ),
      VQ: goldPreference(ga.VQ, gb.VQ, GOLD_TIE.VQ),
      OA: goldPreference(ga.overall, gb.overall, GOLD_TIE.OA),
    };
    if (gold.OA === 0) continue;
    const render = (l: Float32Array): GoldPair['a'] => renderScene(decodeLatent(l), { frames: 24, fps: 8 });
    out.push({ id: `${split}-${seed}-${out.length}`, prompt: promptText(spec), a: render(la), b: render(lb), gold });
  }
  return out;
}

/** Pairs perceived once with rm-v2 (the session is closed before returning). */
export async function perceivedWorldPairs(n: number, seed: number, split: Split = 'train'): Promise<PerceivedPair[]> {
  const perception = await Perception.create(RM_V2);
  try {
    return await perceivePairs(perception, worldPairs(n, seed, split));
  } finally {
    await perception.close();
  }
}

/** Training data over rendered pairs (what `prepareTrainingData` returns, without the generator). */
export async function worldTrainingData(trainPairs: number, validationPairs: number, seed: number): Promise<TrainingData> {
  const ref = perceptionRef(RM_V2);
  const train = await perceivedWorldPairs(trainPairs, seed, 'train');
  const validation = await perceivedWorldPairs(validationPairs, seed + 1, 'heldout');
  return { train, validation, cache: new PerceptionCache(ref.version), perception: ref };
}

export const answer = (TA: 0 | 1 | 2, MQ: 0 | 1 | 2, VQ: 0 | 1 | 2, OA: 0 | 1 | 2, CF: 1 | 2 | 3 = 2): PairwiseAnswer => ({ TA, MQ, VQ, OA, CF });

/** A recorded turn with zero features (only its action and log-probability matter to filters and rewards). */
export function step(kind: PolicyAction['kind'], a: PairwiseAnswer): RecordedStep {
  const slots = Array.from({ length: SLOT_COUNT }, (_, i) => kind === 'select' && i === 0);
  return {
    features: new Float32Array(0),
    context: { selectAllowed: true, answerMode: 'per-dimension' },
    action: { kind, slots, answer: a },
    logProb: -1,
    frames: kind === 'select' ? [2, 3] : [],
  };
}

/**
 * A hand-built trace: `answers` are the answers of its turns in order (all but the last are recommendations of tool
 * turns that showed frames), the last one is the verdict's answer.
 */
export function trace(gold: GoldPreferences, answers: readonly PairwiseAnswer[], extra: Partial<Trace> = {}): Trace {
  const last = answers.at(-1) ?? null;
  const calls = Math.max(0, answers.length - 1);
  return {
    pairId: 'p',
    gold,
    steps: answers.map((a, i) => step(i < answers.length - 1 ? 'select' : 'answer', a)),
    answers,
    final: last,
    toolCalls: calls,
    successfulCalls: calls,
    framesViewed: 8 + 2 * calls,
    formatErrors: 0,
    forced: false,
    hallucinations: [],
    failed: false,
    unrepresentable: 0,
    ...extra,
  };
}
