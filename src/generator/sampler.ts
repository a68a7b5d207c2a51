/**
 * Samplers of the flow policy: the deterministic ODE (Euler) and the Flow-GRPO SDE that records per-step
 * log-probabilities; plus the recomputation of those log-probabilities under current parameters (what an update needs).
 */
import type { Rng } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import { scoped, tf, type Tensor1D, type Tensor2D } from '../tensor/index.js';
import type { FlowPolicy } from './flow-policy.js';
import { sigmaSchedule, sdeNoiseScale } from './schedule.js';
import { gaussianLogProb, odeStep, sdeMean, sdeStd } from './sde.js';
import type { TrajectoryBatch, TrajectoryStep } from './trajectory.js';

export interface SamplerOptions {
  /** 'sde' records log-probabilities inside the SDE window; 'ode' is deterministic given the initial noise. */
  readonly mode: 'sde' | 'ode';
  readonly steps: number;
  readonly noiseLevel: number;
  readonly shift: number;
  /** Steps with index in [start, end) are SDE steps (end null = all). */
  readonly sdeWindow: { readonly start: number; readonly end: number | null };
  /** Same initial noise for every row of one group. */
  readonly sameNoiseInGroup: boolean;
}

export interface SampleInput {
  /** N × textFeatureDim hashed text features. */
  readonly textFeatures: Float32Array;
  /** Group id of each row (rows of one group share initial noise when sameNoiseInGroup). */
  readonly groups: readonly number[];
}

export interface SampleResult {
  /** Final latents, N × latentDim. */
  readonly latents: Float32Array;
  readonly trajectory: TrajectoryBatch;
}

function isSdeStep(k: number, o: SamplerOptions): boolean {
  if (o.mode !== 'sde') return false;
  const end = o.sdeWindow.end ?? o.steps;
  return k >= o.sdeWindow.start && k < end;
}

/** Samples N latents from the policy. All randomness comes from `rng`. */
export function sampleLatents(policy: FlowPolicy, input: SampleInput, rng: Rng, options: SamplerOptions, useLora: boolean): SampleResult {
  const a = policy.architecture;
  const n = input.groups.length;
  const L = a.latentDim;
  if (input.textFeatures.length !== n * a.textFeatures) {
    throw new VrGrpoError('INVALID_ARGUMENT', `textFeatures has ${input.textFeatures.length} values, expected ${n} × ${a.textFeatures}`);
  }
  const schedule = sigmaSchedule(options.steps, options.shift);
  // Initial noise x_T ~ N(0, I), shared inside a group when asked.
  let x: Float32Array = new Float32Array(n * L);
  const groupNoise = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) {
    const g = input.groups[i] ?? i;
    let noise = options.sameNoiseInGroup ? groupNoise.get(g) : undefined;
    if (noise === undefined) {
      noise = rng.normals(L);
      if (options.sameNoiseInGroup) groupNoise.set(g, noise);
    }
    x.set(noise, i * L);
  }
  const steps: TrajectoryStep[] = [];
  const embedding = tf.tidy(() => policy.embedText(tf.tensor2d(input.textFeatures, [n, a.textFeatures]), useLora));
  try {
    for (let k = 0; k < options.steps; k++) {
      const sigma = schedule[k] ?? 0;
      const sigmaNext = schedule[k + 1] ?? 0;
      const dtValue = sigmaNext - sigma;
      const sde = isSdeStep(k, options);
      const eps = sde ? rng.normals(n * L) : null;
      const noiseScale = sdeNoiseScale(sigma, schedule, options.noiseLevel);
      const [next, logProb] = scoped(() => {
        const xt = tf.tensor2d(x, [n, L]);
        const sig = tf.fill<tf.Rank.R2>([n, 1], sigma);
        const dt = tf.fill<tf.Rank.R2>([n, 1], dtValue);
        const v = policy.velocity(xt, sig, embedding, useLora);
        if (eps === null) return [odeStep(xt, v, dt).dataSync() as Float32Array, null] as const;
        const scale = tf.fill<tf.Rank.R2>([n, 1], noiseScale);
        const mean = sdeMean(xt, v, sig, dt, scale);
        const std = sdeStd(dt, scale);
        const xNext = tf.add<Tensor2D>(mean, tf.mul(std, tf.tensor2d(eps, [n, L])));
        const lp = gaussianLogProb(xNext, mean, std);
        return [xNext.dataSync() as Float32Array, lp.dataSync() as Float32Array] as const;
      });
      if (logProb !== null) steps.push({ index: k, sigma, sigmaNext, noiseScale, x, xNext: next, logProb });
      x = next;
    }
  } finally {
    embedding.dispose();
  }
  return {
    latents: x,
    trajectory: { count: n, latentDim: L, textFeatureDim: a.textFeatures, textFeatures: input.textFeatures, steps },
  };
}

export interface RecomputedLogProbs {
  /** log p of every (step, video) pair, step-major: [S·N]. */
  readonly logProb: Tensor1D;
  /** SDE means under the evaluated parameters, [S·N, latentDim] (for the KL to a reference). */
  readonly mean: Tensor2D;
  /** Per-row step std σ_t·√(−Δt), [S·N, 1]. */
  readonly std: Tensor2D;
}

/**
 * Log-probabilities of stored trajectory steps under the policy's current parameters (adapters on or off).
 * Returns tensors for gradients: call inside tf.tidy / tf.variableGrads. `stepPositions` selects stored steps
 * (positions into `batch.steps`), default all.
 */
export function trajectoryLogProbs(policy: FlowPolicy, batch: TrajectoryBatch, useLora: boolean, stepPositions?: readonly number[]): RecomputedLogProbs {
  const positions = stepPositions ?? batch.steps.map((_, i) => i);
  const chosen = positions.map((p) => {
    const s = batch.steps[p];
    if (s === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `trajectory has no stored step ${p}`);
    return s;
  });
  const n = batch.count;
  const L = batch.latentDim;
  const rows = chosen.length * n;
  const x = new Float32Array(rows * L);
  const xNext = new Float32Array(rows * L);
  const sigma = new Float32Array(rows);
  const dt = new Float32Array(rows);
  const scale = new Float32Array(rows);
  chosen.forEach((s, j) => {
    x.set(s.x, j * n * L);
    xNext.set(s.xNext, j * n * L);
    sigma.fill(s.sigma, j * n, (j + 1) * n);
    dt.fill(s.sigmaNext - s.sigma, j * n, (j + 1) * n);
    scale.fill(s.noiseScale, j * n, (j + 1) * n);
  });
  const emb = policy.embedText(tf.tensor2d(batch.textFeatures, [n, batch.textFeatureDim]), useLora);
  const embRows = chosen.length === 1 ? emb : tf.tile<Tensor2D>(emb, [chosen.length, 1]);
  const xt = tf.tensor2d(x, [rows, L]);
  const sig = tf.tensor2d(sigma, [rows, 1]);
  const dtT = tf.tensor2d(dt, [rows, 1]);
  const scaleT = tf.tensor2d(scale, [rows, 1]);
  const v = policy.velocity(xt, sig, embRows, useLora);
  const mean = sdeMean(xt, v, sig, dtT, scaleT);
  const std = sdeStd(dtT, scaleT);
  return { logProb: gaussianLogProb(tf.tensor2d(xNext, [rows, L]), mean, std), mean, std };
}
