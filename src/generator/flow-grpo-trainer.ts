/**
 * The Flow-GRPO update of the embedded policy (DESIGN.md §3): per stored SDE step r = exp(log p_θ − log p_old), the
 * clipped surrogate max(−A·r, −A·clip(r, 1−ε, 1+ε)) averaged over (video, step) rows, plus β·KL to the reference
 * (adapters off) = mean‖μ_θ − μ_ref‖² / (2σ²) with σ the step's std. Only the LoRA adapters train (Adam, global-norm
 * gradient clipping); `timestepFraction` trains the first part of the stored steps; inner epochs re-use the batch.
 * An update is all or nothing: when a loss, the gradients, the new parameters or the optimizer moments are not finite,
 * the adapters and the Adam state are put back as they were before the update and it fails with UPDATE_REJECTED.
 */
import { VrGrpoError } from '../errors/index.js';
import { Adam, clipByGlobalNorm, scoped, tf, type AdamState, type Scalar } from '../tensor/index.js';
import type { FlowPolicy } from './flow-policy.js';
import { trajectoryLogProbs } from './sampler.js';
import { selectVideos, type TrajectoryBatch } from './trajectory.js';

/** A change of the training hyperparameters (`TrainableGenerator.adjustTraining`). */
export interface TrainingAdjustment {
  /** Multiplies the learning rate. */
  readonly learningRateFactor?: number;
  /** Multiplies β (after `betaFloor`). */
  readonly betaFactor?: number;
  /** β is at least this before the factor (so a run with β = 0 can gain a KL term). */
  readonly betaFloor?: number;
}

export interface FlowGrpoOptions {
  readonly learningRate: number;
  /** PPO clip range ε (tiny: log p is a mean over latent elements). */
  readonly clipRange: number;
  /** KL weight β. */
  readonly beta: number;
  /** Fraction of the stored SDE steps trained (the first ones). */
  readonly timestepFraction: number;
  readonly maxGradNorm: number;
  /** Passes over the batch per update; the first is on-policy. */
  readonly innerEpochs: number;
  /**
   * Learning-rate schedule over the optimizer's updates (one per inner epoch): constant, or cosine from
   * `learningRate` down to `minFraction`·`learningRate` at `totalUpdates` (and held there). Default constant.
   * It follows the optimizer's own step count, so a resumed trainer continues on the same curve.
   */
  readonly schedule?: LearningRateSchedule;
}

export type LearningRateSchedule = { readonly kind: 'constant' } | { readonly kind: 'cosine'; readonly totalUpdates: number; readonly minFraction: number };

/** The learning rate of update number `done` + 1 (`done` updates already applied). */
export function scheduledLearningRate(base: number, schedule: LearningRateSchedule | undefined, done: number): number {
  if (schedule === undefined || schedule.kind === 'constant') return base;
  const progress = Math.min(1, done / Math.max(1, schedule.totalUpdates));
  return base * (schedule.minFraction + (1 - schedule.minFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export interface UpdateStats {
  readonly rows: number;
  readonly videos: number;
  readonly policyLoss: number;
  readonly klLoss: number;
  /** ½·mean((log p_θ − log p_old)²) over the last epoch's rows. */
  readonly approxKl: number;
  readonly clipFracHigh: number;
  readonly clipFracLow: number;
  readonly ratioMean: number;
  readonly ratioStd: number;
  /** Largest |r − 1| on the first (on-policy) pass: 0 up to float error. */
  readonly onPolicyMaxRatioDeviation: number;
  readonly gradNorm: number;
  /** The learning rate of the last optimizer update (absent from generators that do not report it). */
  readonly learningRate?: number;
}

/** What a refused update restores. */
interface TrainerSnapshot {
  readonly lora: ReadonlyMap<string, Float32Array>;
  readonly adam: AdamState;
  readonly learningRate: number;
}

function rejected(reason: string, epoch: number, what: 'loss' | 'gradients' | 'parameters' | 'optimizer'): VrGrpoError {
  return new VrGrpoError('UPDATE_REJECTED', `update refused: ${reason} (inner epoch ${epoch}); the policy and the optimizer state are unchanged`, {
    details: { epoch, what },
  });
}

export class FlowGrpoTrainer {
  private readonly adam: Adam;

  constructor(
    private readonly policy: FlowPolicy,
    private options: FlowGrpoOptions,
    state?: AdamState,
  ) {
    policy.trainable('lora');
    this.adam = new Adam(policy.lora, { learningRate: options.learningRate });
    if (state !== undefined) this.adam.load(state);
  }

  /**
   * Scales the learning rate (the schedule's base) and the KL weight β from the next update on — the guard's
   * reaction to a confirmed hacking signal. A β of 0 scaled up stays 0 unless `betaFloor` gives it a start.
   */
  adjust(change: TrainingAdjustment): { readonly learningRate: number; readonly beta: number } {
    const lr = this.options.learningRate * (change.learningRateFactor ?? 1);
    const beta = Math.max(this.options.beta, change.betaFloor ?? 0) * (change.betaFactor ?? 1);
    if (!(lr > 0 && Number.isFinite(lr)) || !(beta >= 0 && Number.isFinite(beta)))
      throw new VrGrpoError('INVALID_ARGUMENT', `training adjustment gives learning rate ${lr} and beta ${beta}`);
    this.options = { ...this.options, learningRate: lr, beta };
    return { learningRate: lr, beta };
  }

  optimizerState(): AdamState {
    return this.adam.state();
  }

  /** Puts adapters and an Adam state in place (a restored checkpoint); the caller checked they fit and are finite. */
  load(lora: ReadonlyMap<string, Float32Array>, state: AdamState | null): void {
    this.policy.setParameters(lora);
    if (state !== null) tf.tidy(() => this.adam.load(state));
  }

  /**
   * One update from a batch and one advantage per video (NaN or null = masked out). All or nothing: UPDATE_REJECTED
   * (the adapters and the optimizer state unchanged) when any epoch's loss, gradients, new parameters or optimizer
   * moments are not finite.
   */
  update(batch: TrajectoryBatch, advantages: readonly (number | null)[]): UpdateStats {
    if (advantages.length !== batch.count) {
      throw new VrGrpoError('INVALID_ARGUMENT', `got ${advantages.length} advantages for ${batch.count} videos`);
    }
    const before = this.#snapshot();
    try {
      return this.#update(batch, advantages);
    } catch (error) {
      this.#restore(before);
      throw error;
    }
  }

  /** Copies of the adapters, the Adam state and the learning rate (what a refused update puts back). */
  #snapshot(): TrainerSnapshot {
    const lora = new Map<string, Float32Array>();
    for (const [name, values] of this.policy.parameters('lora')) lora.set(name, values.slice());
    const state = this.adam.state();
    const copy = (r: Readonly<Record<string, Float32Array>>): Record<string, Float32Array> =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));
    return { lora, adam: { step: state.step, m: copy(state.m), v: copy(state.v) }, learningRate: this.adam.learningRate };
  }

  #restore(snapshot: TrainerSnapshot): void {
    this.policy.setParameters(snapshot.lora);
    // Inside tidy: the tensors `load` assigns from are freed, the variables keep their data.
    tf.tidy(() => this.adam.load(snapshot.adam));
    this.adam.learningRate = snapshot.learningRate;
  }

  /** UPDATE_REJECTED naming the first non-finite adapter or optimizer moment after an epoch's step, if any. */
  #assertFiniteAfterStep(epoch: number): void {
    const bad = (values: Float32Array): boolean => !values.every(Number.isFinite);
    for (const [name, values] of this.policy.parameters('lora')) {
      if (bad(values)) throw rejected(`the new parameter ${name} is not finite`, epoch, 'parameters');
    }
    const state = this.adam.state();
    for (const [name, values] of [...Object.entries(state.m), ...Object.entries(state.v)]) {
      if (bad(values)) throw rejected(`an optimizer moment of ${name} is not finite`, epoch, 'optimizer');
    }
  }

  #update(batch: TrajectoryBatch, advantages: readonly (number | null)[]): UpdateStats {
    const keep = advantages.flatMap((a, i) => (a !== null && Number.isFinite(a) ? [i] : []));
    if (keep.length === 0 || batch.steps.length === 0) {
      return {
        rows: 0,
        videos: 0,
        policyLoss: 0,
        klLoss: 0,
        approxKl: 0,
        clipFracHigh: 0,
        clipFracLow: 0,
        ratioMean: 1,
        ratioStd: 0,
        onPolicyMaxRatioDeviation: 0,
        gradNorm: 0,
        learningRate: this.adam.learningRate,
      };
    }
    const sub = selectVideos(batch, keep);
    const stepCount = Math.max(1, Math.round(this.options.timestepFraction * sub.steps.length));
    const positions = Array.from({ length: stepCount }, (_, i) => i);
    const n = sub.count;
    const rows = stepCount * n;
    const adv = new Float32Array(rows);
    const oldLp = new Float32Array(rows);
    positions.forEach((p, j) => {
      const step = sub.steps[p];
      for (let i = 0; i < n; i++) {
        adv[j * n + i] = advantages[keep[i] ?? 0] ?? 0;
        oldLp[j * n + i] = step?.logProb[i] ?? 0;
      }
    });
    const eps = this.options.clipRange;
    const vars = [...this.policy.lora.values()];
    let stats: UpdateStats | null = null;
    let onPolicyDev = 0;
    for (let epoch = 0; epoch < this.options.innerEpochs; epoch++) {
      stats = scoped(() => {
        const advT = tf.tensor1d(adv);
        const oldT = tf.tensor1d(oldLp);
        const refMean = tf.tidy(() => trajectoryLogProbs(this.policy, sub, false, positions).mean);
        let ratioOut: tf.Tensor | null = null;
        let klOut: Scalar | null = null;
        let policyOut: Scalar | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const cur = trajectoryLogProbs(this.policy, sub, true, positions);
          const ratio = tf.exp(tf.sub(cur.logProb, oldT));
          const unclipped = tf.mul(tf.neg(advT), ratio);
          const clipped = tf.mul(tf.neg(advT), tf.clipByValue(ratio, 1 - eps, 1 + eps));
          const policyLoss = tf.mean<Scalar>(tf.maximum(unclipped, clipped));
          const kl = tf.mean<Scalar>(tf.div(tf.mean(tf.square(tf.sub(cur.mean, refMean)), 1, true), tf.mul(tf.square(cur.std), 2)));
          ratioOut = tf.keep(ratio);
          klOut = tf.keep(kl);
          policyOut = tf.keep(policyLoss);
          return tf.add(policyLoss, tf.mul(kl, this.options.beta));
        }, vars);
        const named: Record<string, tf.Tensor> = {};
        for (const [name, v] of this.policy.lora) {
          const g = grads[v.name];
          if (g !== undefined) named[name] = g;
        }
        const clippedGrads = clipByGlobalNorm(named, this.options.maxGradNorm);
        const kept = [ratioOut, klOut, policyOut] as (tf.Tensor | null)[];
        // Checked before the step: a non-finite loss or gradient norm (any gradient NaN or ±Infinity) never reaches Adam.
        const lossValue = value.dataSync()[0] ?? Number.NaN;
        const normValue = clippedGrads.norm.dataSync()[0] ?? Number.NaN;
        value.dispose();
        if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
          for (const t of kept) t?.dispose();
          throw rejected(
            Number.isFinite(lossValue) ? `the gradient norm is ${normValue}` : `the loss is ${lossValue}`,
            epoch,
            Number.isFinite(lossValue) ? 'gradients' : 'loss',
          );
        }
        this.adam.learningRate = scheduledLearningRate(this.options.learningRate, this.options.schedule, this.adam.step);
        this.adam.apply(clippedGrads.grads);
        try {
          this.#assertFiniteAfterStep(epoch);
        } catch (error) {
          for (const t of kept) t?.dispose();
          throw error;
        }
        const r = ratioOut === null ? new Float32Array(0) : ((ratioOut as tf.Tensor).dataSync() as Float32Array);
        const policyLossValue = policyOut === null ? 0 : ((policyOut as Scalar).dataSync()[0] ?? 0);
        const klValue = klOut === null ? 0 : ((klOut as Scalar).dataSync()[0] ?? 0);
        for (const t of kept) t?.dispose();
        const lr = Array.from(r, (x) => Math.log(x));
        const meanR = r.reduce((s, x) => s + x, 0) / Math.max(1, r.length);
        if (epoch === 0) onPolicyDev = r.reduce((m, x) => Math.max(m, Math.abs(x - 1)), 0);
        return {
          rows,
          videos: n,
          policyLoss: policyLossValue,
          klLoss: klValue,
          approxKl: lr.reduce((s, x) => s + 0.5 * x * x, 0) / Math.max(1, lr.length),
          clipFracHigh: r.filter((x, i) => x > 1 + eps && (adv[i] ?? 0) > 0).length / Math.max(1, r.length),
          clipFracLow: r.filter((x, i) => x < 1 - eps && (adv[i] ?? 0) < 0).length / Math.max(1, r.length),
          ratioMean: meanR,
          ratioStd: Math.sqrt(r.reduce((s, x) => s + (x - meanR) ** 2, 0) / Math.max(1, r.length)),
          onPolicyMaxRatioDeviation: onPolicyDev,
          gradNorm: clippedGrads.norm.dataSync()[0] ?? 0,
          learningRate: this.adam.learningRate,
        };
      });
    }
    if (stats === null) throw new VrGrpoError('INVALID_ARGUMENT', 'innerEpochs must be >= 1');
    return { ...stats, onPolicyMaxRatioDeviation: onPolicyDev };
  }

  dispose(): void {
    this.adam.dispose();
  }
}
