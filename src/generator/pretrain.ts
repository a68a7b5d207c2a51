/**
 * Pretrains the base policy by flow matching on (prompt, latent) pairs from the world's deliberately imperfect data
 * distribution (wrong attributes and visible defects in part of the data), so the base model is mediocre and GRPO has
 * room to improve it. Reproducible from the config's pretrain seed. In world v2 (`world.version: 2`) the latents are
 * v2's 77 numbers, prompts carry events, and the data also has wrong, missing, spurious or late events and temporally
 * local defects (`pretrain.data.eventNoise`, `spuriousEventProbability`, `localDefectProbability`).
 */
import { Rng, deriveSeed } from '../common/rng.js';
import type { Config } from '../config/index.js';
import { Adam, scoped, tf, type Scalar, type Tensor2D } from '../tensor/index.js';
import { PromptGenerator, latentDimOf, promptText, sampleDataLatent, worldPromptOptions } from '../world/index.js';
import { FlowPolicy, type PolicyArchitecture } from './flow-policy.js';
import { evaluatePolicyGold, type GoldSummary } from './gold-eval.js';
import { samplerOptionsFrom } from './embedded-generator.js';
import { textFeatures } from './text-features.js';

export interface PretrainProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly elapsedMs: number;
}

export interface PretrainResult {
  readonly policy: FlowPolicy;
  /** Mean loss over each logging window. */
  readonly lossCurve: readonly { readonly step: number; readonly loss: number }[];
  readonly heldOut: GoldSummary;
  readonly train: GoldSummary;
  readonly seconds: number;
}

/** The policy architecture of a config: the generator's sizes, the latent length of the config's world version. */
export function architectureFrom(config: Config): PolicyArchitecture {
  const g = config.generator;
  return {
    latentDim: latentDimOf(config.world.version),
    textFeatures: g.textFeatures,
    textEmbedDim: g.textEmbedDim,
    hiddenDim: g.hiddenDim,
    depth: g.depth,
    timeFeatures: g.timeFeatures,
    loraRank: g.lora.rank,
    loraAlpha: g.lora.alpha,
  };
}

/** Runs flow-matching pretraining. `onProgress` is called every `logEvery` steps. */
export async function pretrainGenerator(
  config: Config,
  options: { onProgress?: (p: PretrainProgress) => void; logEvery?: number } = {},
): Promise<PretrainResult> {
  const p = config.pretrain;
  const w = config.world;
  const started = performance.now();
  const policy = FlowPolicy.create(architectureFrom(config), deriveSeed(p.seed, 1));
  const vars = policy.trainable('base');
  const adam = new Adam(policy.base, { learningRate: p.learningRate });
  const prompts = new PromptGenerator(worldPromptOptions(w, 'train', deriveSeed(p.seed, 2)));
  const rng = Rng.fromSeed(deriveSeed(p.seed, 3));
  const dim = policy.architecture.textFeatures;
  const featureCache = new Map<string, Float32Array>();
  const B = p.batchSize;
  const L = policy.architecture.latentDim;
  const logEvery = options.logEvery ?? 100;
  const lossCurve: { step: number; loss: number }[] = [];
  let windowLoss = 0;
  let windowCount = 0;
  try {
    for (let step = 1; step <= p.steps; step++) {
      const feats = new Float32Array(B * dim);
      const x0 = new Float32Array(B * L);
      const eps = new Float32Array(B * L);
      const sigma = new Float32Array(B);
      for (let i = 0; i < B; i++) {
        const spec = prompts.next();
        const text = promptText(spec);
        let f = featureCache.get(text);
        if (f === undefined) {
          f = textFeatures(text, dim);
          featureCache.set(text, f);
        }
        feats.set(f, i * dim);
        x0.set(sampleDataLatent(spec, rng, p.data, w.version), i * L);
        for (let j = 0; j < L; j++) eps[i * L + j] = rng.normal();
        sigma[i] = rng.next();
      }
      // Cosine learning-rate decay to 10 %.
      adam.learningRate = p.learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / p.steps)));
      const loss = scoped(() => {
        const x0t = tf.tensor2d(x0, [B, L]);
        const epst = tf.tensor2d(eps, [B, L]);
        const sig = tf.tensor2d(sigma, [B, 1]);
        const xt = tf.add<Tensor2D>(tf.mul(tf.sub(1, sig), x0t), tf.mul(sig, epst));
        const target = tf.sub(epst, x0t);
        const featT = tf.tensor2d(feats, [B, dim]);
        const { value, grads } = tf.variableGrads(() => {
          const v = policy.velocity(xt, sig, policy.embedText(featT, false), false);
          return tf.mean<Scalar>(tf.square(tf.sub(v, target)));
        }, vars);
        const named: Record<string, tf.Tensor> = {};
        for (const [name, variable] of policy.base) {
          const g = grads[variable.name];
          if (g !== undefined) named[name] = g;
        }
        adam.apply(named);
        return value.dataSync()[0] ?? NaN;
      });
      windowLoss += loss;
      windowCount += 1;
      if (step % logEvery === 0 || step === p.steps) {
        const mean = windowLoss / windowCount;
        lossCurve.push({ step, loss: mean });
        options.onProgress?.({ step, steps: p.steps, loss: mean, elapsedMs: performance.now() - started });
        windowLoss = 0;
        windowCount = 0;
        // Let timers and I/O run between windows.
        await new Promise((r) => setImmediate(r));
      }
    }
  } catch (e) {
    adam.dispose();
    policy.dispose();
    throw e;
  }
  adam.dispose();
  policy.trainable('lora');
  const sampler = samplerOptionsFrom(config);
  const evalSeed = deriveSeed(p.seed, 4);
  const heldOut = evaluatePolicyGold(policy, config, { split: 'heldout', prompts: p.evalPrompts, seed: evalSeed, sampler, useLora: false });
  const train = evaluatePolicyGold(policy, config, { split: 'train', prompts: p.evalPrompts, seed: evalSeed, sampler, useLora: false });
  return { policy, lossCurve, heldOut, train, seconds: (performance.now() - started) / 1000 };
}
