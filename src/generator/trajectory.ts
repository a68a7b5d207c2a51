/** Stored sampling trajectories: what a policy update needs to recompute log-probabilities (plain arrays, no tensors). */
import { VrGrpoError } from '../errors/index.js';

/** One SDE step of a batch of N videos. */
export interface TrajectoryStep {
  /** Index k of the step in the σ schedule. */
  readonly index: number;
  readonly sigma: number;
  readonly sigmaNext: number;
  /** σ_t of the step (Flow-GRPO noise scale). */
  readonly noiseScale: number;
  /** Latents before the step, N × latentDim. */
  readonly x: Float32Array;
  /** Latents after the step (the sample), N × latentDim. */
  readonly xNext: Float32Array;
  /** log p of each video's step under the sampling policy, N. */
  readonly logProb: Float32Array;
}

export interface TrajectoryBatch {
  readonly count: number;
  readonly latentDim: number;
  readonly textFeatureDim: number;
  /** Hashed text features of each video's prompt, N × textFeatureDim. */
  readonly textFeatures: Float32Array;
  /** The SDE steps, in sampling order (ODE steps are not stored: they carry no log-probability). */
  readonly steps: readonly TrajectoryStep[];
}

function pickRows(data: Float32Array, width: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** The sub-batch of the given videos (in the given order). */
export function selectVideos(batch: TrajectoryBatch, videos: readonly number[]): TrajectoryBatch {
  for (const v of videos) {
    if (!Number.isInteger(v) || v < 0 || v >= batch.count) {
      throw new VrGrpoError('INVALID_ARGUMENT', `video index ${v} out of range [0, ${batch.count})`);
    }
  }
  return {
    count: videos.length,
    latentDim: batch.latentDim,
    textFeatureDim: batch.textFeatureDim,
    textFeatures: pickRows(batch.textFeatures, batch.textFeatureDim, videos),
    steps: batch.steps.map((s) => ({
      ...s,
      x: pickRows(s.x, batch.latentDim, videos),
      xNext: pickRows(s.xNext, batch.latentDim, videos),
      logProb: pickRows(s.logProb, 1, videos),
    })),
  };
}

/** Concatenates batches with the same shape of steps (e.g. the groups of one training step). */
export function concatBatches(batches: readonly TrajectoryBatch[]): TrajectoryBatch {
  const first = batches[0];
  if (first === undefined) throw new VrGrpoError('INVALID_ARGUMENT', 'no trajectory batches to concatenate');
  const cat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  for (const b of batches) {
    if (b.latentDim !== first.latentDim || b.textFeatureDim !== first.textFeatureDim || b.steps.length !== first.steps.length) {
      throw new VrGrpoError('INVALID_ARGUMENT', 'trajectory batches differ in shape');
    }
  }
  return {
    count: batches.reduce((s, b) => s + b.count, 0),
    latentDim: first.latentDim,
    textFeatureDim: first.textFeatureDim,
    textFeatures: cat(batches.map((b) => b.textFeatures)),
    steps: first.steps.map((s, k) => ({
      ...s,
      x: cat(batches.map((b) => (b.steps[k] as TrajectoryStep).x)),
      xNext: cat(batches.map((b) => (b.steps[k] as TrajectoryStep).xNext)),
      logProb: cat(batches.map((b) => (b.steps[k] as TrajectoryStep).logProb)),
    })),
  };
}
