/** Measures a policy against the world's gold evaluator on seeded prompts of a split (train or held-out). */
import { Rng, deriveSeed } from '../common/rng.js';
import type { Config } from '../config/index.js';
import {
  GOLD_ATTRIBUTES,
  PromptGenerator,
  decodeLatent,
  evaluateScene,
  promptText,
  worldPromptOptions,
  type GoldAttribute,
  type GoldReport,
  type Split,
} from '../world/index.js';
import type { FlowPolicy } from './flow-policy.js';
import { sampleLatents, type SamplerOptions } from './sampler.js';
import { textFeatures } from './text-features.js';

export interface GoldSummary {
  readonly split: Split;
  readonly prompts: number;
  /** Mean attribute accuracy over prompts. */
  readonly accuracy: number;
  /** Fraction of videos with every attribute right. */
  readonly allCorrect: number;
  /**
   * Accuracy of each attribute that was checked at least once; attributes with no checks are left out (world v2's
   * 'event' and 'eventTime' on v1 scenes, 'speed' when no prompt object moves), never reported as 0.
   */
  readonly perAttribute: Readonly<Partial<Record<GoldAttribute, number>>>;
  /** Mean gold quality (1 = no defects). */
  readonly quality: number;
  /** World v2: mean attribute accuracy over the prompts with at least one event, and how many there were (absent in v1, and when no prompt has an event). */
  readonly withEvents?: { readonly prompts: number; readonly accuracy: number };
}

export function evaluatePolicyGold(
  policy: FlowPolicy,
  config: Config,
  options: {
    split: Split;
    prompts: number;
    seed: number;
    sampler: SamplerOptions;
    useLora: boolean;
    /** Called with each prompt's gold report (e.g. to score local defects too, `goldScores`). */
    onReport?: (report: GoldReport) => void;
  },
): GoldSummary {
  const w = config.world;
  const gen = new PromptGenerator(worldPromptOptions(w, options.split, deriveSeed(options.seed, options.split === 'train' ? 1 : 2)));
  const specs = gen.take(options.prompts);
  const dim = policy.architecture.textFeatures;
  const features = new Float32Array(specs.length * dim);
  specs.forEach((s, i) => features.set(textFeatures(promptText(s), dim), i * dim));
  const rng = Rng.fromSeed(deriveSeed(options.seed, 0xe7a1));
  const { latents } = sampleLatents(policy, { textFeatures: features, groups: specs.map((_, i) => i) }, rng, options.sampler, options.useLora);
  const L = policy.architecture.latentDim;
  let acc = 0;
  let all = 0;
  let quality = 0;
  let eventPrompts = 0;
  let eventAcc = 0;
  const correct = Object.fromEntries(GOLD_ATTRIBUTES.map((a) => [a, 0])) as Record<GoldAttribute, number>;
  const total = Object.fromEntries(GOLD_ATTRIBUTES.map((a) => [a, 0])) as Record<GoldAttribute, number>;
  specs.forEach((spec, i) => {
    const report = evaluateScene(spec, decodeLatent(latents.subarray(i * L, (i + 1) * L), w.width, w.height));
    options.onReport?.(report);
    acc += report.accuracy;
    all += report.allCorrect ? 1 : 0;
    quality += report.quality;
    if (spec.objects.some((o) => o.event !== undefined)) {
      eventPrompts += 1;
      eventAcc += report.accuracy;
    }
    for (const a of GOLD_ATTRIBUTES) {
      correct[a] += report.attributes[a].correct;
      total[a] += report.attributes[a].total;
    }
  });
  const n = specs.length;
  const perAttribute: Partial<Record<GoldAttribute, number>> = {};
  for (const a of GOLD_ATTRIBUTES) if (total[a] > 0) perAttribute[a] = correct[a] / total[a];
  // Absent when no prompt has an event (a NaN accuracy would not be a valid step record: a small world-v2 evaluation).
  const withEvents = w.version === 2 && eventPrompts > 0 ? { withEvents: { prompts: eventPrompts, accuracy: eventAcc / eventPrompts } } : {};
  return { split: options.split, prompts: n, accuracy: acc / n, allCorrect: all / n, perAttribute, quality: quality / n, ...withEvents };
}
