/**
 * The GRPO update of the learned judge's policy: per recorded turn r = exp(log π_θ(a|s) − log π_old(a|s)) with
 * log π_old recorded when the turn was sampled, the clipped surrogate max(−A·r, −A·clip(r, 1−ε, 1+ε)) averaged over
 * the turns (each turn carries its trace's group-relative advantage), Adam with global-norm clipping, `innerEpochs`
 * passes over the batch (the first is on-policy: every r is 1 up to float rounding — reported as a check).
 */
import { VrGrpoError } from '../errors/index.js';
import type { RecordedStep } from '../judge/backends/learned/index.js';
import { encodeSteps, sliceSteps, type PolicyNet } from './policy-net.js';
import { Adam, clipByGlobalNorm, scoped, tf, type Scalar, type Tensor } from '../tensor/index.js';
import { namedGrads } from './imitation.js';

export interface GrpoUpdateOptions {
  readonly learningRate: number;
  /** PPO clip range ε. */
  readonly clipRange: number;
  readonly innerEpochs: number;
  readonly maxGradNorm: number;
}

export interface GrpoUpdateStats {
  readonly rows: number;
  readonly policyLoss: number;
  /** ½·mean((log π_θ − log π_old)²) on the last pass. */
  readonly approxKl: number;
  readonly clipFraction: number;
  readonly ratioMean: number;
  /** Largest |r − 1| on the first (on-policy) pass. */
  readonly onPolicyMaxRatioDeviation: number;
  readonly gradNorm: number;
}

export class GrpoUpdater {
  private readonly adam: Adam;

  constructor(
    private readonly net: PolicyNet,
    private readonly o: GrpoUpdateOptions,
  ) {
    if (!Number.isInteger(o.innerEpochs) || o.innerEpochs < 1) throw new VrGrpoError('INVALID_ARGUMENT', `innerEpochs must be >= 1, got ${o.innerEpochs}`);
    this.adam = new Adam(net.vars, { learningRate: o.learningRate });
  }

  /** One update from recorded turns and one advantage per turn (non-finite = masked out). */
  update(steps: readonly RecordedStep[], advantages: readonly number[]): GrpoUpdateStats {
    if (advantages.length !== steps.length) throw new VrGrpoError('INVALID_ARGUMENT', `got ${advantages.length} advantages for ${steps.length} steps`);
    const keep = advantages.flatMap((a, i) => (Number.isFinite(a) && Number.isFinite(steps[i]?.logProb ?? NaN) ? [i] : []));
    if (keep.length === 0) return { rows: 0, policyLoss: 0, approxKl: 0, clipFraction: 0, ratioMean: 1, onPolicyMaxRatioDeviation: 0, gradNorm: 0 };
    const batch = sliceSteps(encodeSteps(steps, this.net.inputSize), keep);
    const adv = Float32Array.from(keep, (i) => advantages[i] ?? 0);
    const oldLp = Float32Array.from(keep, (i) => steps[i]?.logProb ?? 0);
    const eps = this.o.clipRange;
    let onPolicy = 0;
    let last: GrpoUpdateStats | null = null;
    for (let epoch = 0; epoch < this.o.innerEpochs; epoch++) {
      last = scoped(() => {
        const advT = tf.tensor1d(adv);
        const oldT = tf.tensor1d(oldLp);
        let ratioOut: Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const ratio = tf.exp(tf.sub(this.net.stepLogProbs(batch), oldT));
          ratioOut = tf.keep(ratio);
          const unclipped = tf.mul(tf.neg(advT), ratio);
          const clipped = tf.mul(tf.neg(advT), tf.clipByValue(ratio, 1 - eps, 1 + eps));
          return tf.mean<Scalar>(tf.maximum(unclipped, clipped));
        }, [...this.net.vars.values()]);
        const clippedGrads = clipByGlobalNorm(namedGrads(this.net, grads), this.o.maxGradNorm);
        this.adam.apply(clippedGrads.grads);
        const r = ratioOut === null ? new Float32Array(0) : ((ratioOut as Tensor).dataSync() as Float32Array);
        (ratioOut as Tensor | null)?.dispose();
        if (epoch === 0) onPolicy = r.reduce((m, x) => Math.max(m, Math.abs(x - 1)), 0);
        const logs = Array.from(r, (x) => Math.log(x));
        return {
          rows: keep.length,
          policyLoss: value.dataSync()[0] ?? NaN,
          approxKl: logs.reduce((s, x) => s + 0.5 * x * x, 0) / Math.max(1, logs.length),
          clipFraction: r.filter((x) => x > 1 + eps || x < 1 - eps).length / Math.max(1, r.length),
          ratioMean: r.reduce((s, x) => s + x, 0) / Math.max(1, r.length),
          onPolicyMaxRatioDeviation: 0,
          gradNorm: clippedGrads.norm.dataSync()[0] ?? 0,
        };
      });
    }
    if (last === null) throw new VrGrpoError('INVALID_ARGUMENT', 'innerEpochs must be >= 1');
    return { ...last, onPolicyMaxRatioDeviation: onPolicy };
  }

  dispose(): void {
    this.adam.dispose();
  }
}
