/**
 * Imitation (cold start and rejection-sampling fine-tuning): maximum likelihood of recorded actions — the loss is
 * −mean log π(action | features) over turns, each turn's full action (act, slots when looking, the answer heads of
 * the answer mode). Adam with cosine decay to 10 %, global-norm clipping, seeded shuffling.
 */
import { Rng } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import { encodeSteps, sliceSteps, type PolicyNet, type PolicyStep } from './policy-net.js';
import { Adam, clipByGlobalNorm, scoped, tf, type Scalar, type Tensor } from '../tensor/index.js';

export interface ImitationOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Default 1. */
  readonly maxGradNorm?: number;
}

export interface ImitationResult {
  readonly rows: number;
  /** Mean negative log-likelihood per epoch. */
  readonly lossCurve: readonly { readonly epoch: number; readonly loss: number }[];
  readonly seconds: number;
}

/** Named gradients of the net's variables (tfjs keys gradients by the variables' internal names). */
export function namedGrads(net: PolicyNet, grads: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of net.vars) {
    const g = grads[v.name];
    if (g !== undefined) out[name] = g;
  }
  return out;
}

export function fitImitation(net: PolicyNet, steps: readonly PolicyStep[], o: ImitationOptions): ImitationResult {
  if (!Number.isInteger(o.epochs) || o.epochs < 0 || !Number.isInteger(o.batchSize) || o.batchSize < 1 || !(o.learningRate > 0)) {
    throw new VrGrpoError('INVALID_ARGUMENT', `invalid imitation options ${JSON.stringify(o)}`);
  }
  const started = performance.now();
  const lossCurve: { epoch: number; loss: number }[] = [];
  if (steps.length === 0 || o.epochs === 0) return { rows: steps.length, lossCurve, seconds: 0 };
  const all = encodeSteps(steps, net.inputSize);
  const rng = Rng.fromSeed(o.seed);
  const adam = new Adam(net.vars, { learningRate: o.learningRate });
  const batchesPerEpoch = Math.ceil(steps.length / o.batchSize);
  const total = o.epochs * batchesPerEpoch;
  let k = 0;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: steps.length }, (_, i) => i));
      let sum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const rows = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
        const batch = sliceSteps(all, rows);
        adam.learningRate = o.learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * k) / Math.max(1, total))));
        k += 1;
        sum += scoped(() => {
          const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(net.stepLogProbs(batch))) as Scalar, [...net.vars.values()]);
          adam.apply(clipByGlobalNorm(namedGrads(net, grads), o.maxGradNorm ?? 1).grads);
          return (value.dataSync()[0] ?? NaN) * rows.length;
        });
      }
      const loss = sum / steps.length;
      if (!Number.isFinite(loss)) throw new VrGrpoError('TRAINING_DIVERGED', `imitation diverged at epoch ${epoch} (loss ${loss}); lower the learning rate`);
      lossCurve.push({ epoch, loss: Math.round(loss * 10000) / 10000 });
    }
  } finally {
    adam.dispose();
  }
  return { rows: steps.length, lossCurve, seconds: (performance.now() - started) / 1000 };
}
