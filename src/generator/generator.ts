/** The `Generator` contract: given prompts, a group size and a seed, return videos and what a policy update needs. */
import type { VideoHandle } from '../media/index.js';
import type { JudgeCopySpec } from '../protocol/generator-messages.js';
import type { TrainingAdjustment, UpdateStats } from './flow-grpo-trainer.js';
import type { SamplerOptions } from './sampler.js';
import type { TrajectoryBatch } from './trajectory.js';

export interface GenerateRequest {
  readonly prompts: readonly string[];
  /** Videos per prompt (G). */
  readonly groupSize: number;
  /** All randomness of the request (initial noise, SDE noise) derives from this seed. */
  readonly seed: number;
  /** Overrides of the configured sampler. */
  readonly sampler?: Partial<SamplerOptions>;
  /** When set, an MP4 of every video is written into this folder. */
  readonly mp4Dir?: string;
  /** Sample from the reference model (adapters off). Default false. */
  readonly reference?: boolean;
  /**
   * How the videos come back: `inline` (the frames; default) or `reference` (a remote worker writes MP4s under its
   * shared artifact root, and the videos are file references; in-process generators refuse it).
   */
  readonly delivery?: { readonly mode: 'inline' } | { readonly mode: 'reference'; readonly judgeCopy?: JudgeCopySpec | null };
}

/** One generated video; `V` narrows how it is held (in-process generators: always the frames). */
export interface GeneratedVideo<V extends VideoHandle = VideoHandle> {
  /** Stable id within the request: `p<promptIndex>-m<member>`. */
  readonly id: string;
  readonly prompt: string;
  readonly promptIndex: number;
  readonly member: number;
  /** The frames, or — delivered by reference (`GenerateRequest.delivery`) — where the worker wrote them. */
  readonly video: V;
  /** The scene latent, for generators of the embedded world; null otherwise. */
  readonly latent: Float32Array | null;
  readonly mp4Path: string | null;
}

export interface GenerateTiming {
  readonly sampleMs: number;
  readonly renderMs: number;
  readonly encodeMs: number;
}

export interface GenerateResult<V extends VideoHandle = VideoHandle> {
  /** Handle of this rollout for a later `update` (the generator keeps its trajectories until then). */
  readonly rolloutId: string;
  /** Videos in prompt-major order: all members of prompt 0, then prompt 1, … */
  readonly videos: readonly GeneratedVideo<V>[];
  /** Trajectories of the SDE steps, row i = videos[i] (in-process generators). */
  readonly trajectory: TrajectoryBatch | null;
  readonly timing: GenerateTiming;
}

export interface Generator {
  readonly name: string;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  close(): Promise<void>;
}

/** Advantages for the videos of one rollout (same order as its videos; null = masked out of the update). */
export interface RolloutAdvantages {
  readonly rolloutId: string;
  readonly advantages: readonly (number | null)[];
  /** Place of these rows in the update (see {@link orderedUpdateEntries}). */
  readonly order?: number;
}

/**
 * A rollout another worker sampled (multi-worker sharding): re-sampled here from the same request on an identical
 * policy (sampling is deterministic by seed), it gives the trajectories that worker has, so every worker applies the
 * same update.
 */
export interface ReplayedRollout {
  readonly prompts: readonly string[];
  readonly groupSize: number;
  readonly seed: number;
  readonly sampler?: Partial<SamplerOptions>;
  /** One per video of the rollout, in its order; null = masked out. */
  readonly advantages: readonly (number | null)[];
  /** Place of these rows in the update (see {@link orderedUpdateEntries}). */
  readonly order?: number;
}

/**
 * The entries of an update in the order their rows are concatenated: ascending `order`, then those without one in the
 * order given (rollouts before replays). Workers that apply the same update in parallel (sharding) must see the same
 * row order, or floating-point sums differ and their policies drift apart.
 */
export function orderedUpdateEntries<T extends { readonly order?: number }>(entries: readonly T[]): T[] {
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => (a.entry.order ?? Number.MAX_SAFE_INTEGER) - (b.entry.order ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((x) => x.entry);
}

/** A saved training state of a generator, and the policy it holds. */
export interface SavedGeneratorState {
  /** Opaque reference `restoreState` takes (a worker: the state folder's absolute path). */
  readonly ref: string;
  /** Updates since the base checkpoint; null when not counted. */
  readonly policyUpdates: number | null;
  /** SHA-256 of the trainable parameters (see src/generator/policy-digest.ts); null when not computed. */
  readonly policyDigest: string | null;
}

/** A generator whose policy can be updated from advantages (in-process or a remote worker). */
export interface TrainableGenerator extends Generator {
  /**
   * One policy update from the given rollouts (and, for a generator that declares `replays`, rollouts re-sampled from
   * other workers' requests); their trajectories are released afterwards.
   */
  update(rollouts: readonly RolloutAdvantages[], replays?: readonly ReplayedRollout[]): Promise<UpdateStats>;
  /** Whether `update` takes replays. Absent: it does not (NOT_SUPPORTED when given some). */
  readonly replays?: boolean;
  /** Digest of the trainable parameters: two generators with equal digests serve the same policy. */
  policyDigest?(): Promise<string>;
  /** Saves the training state (adapters, optimizer, update count; not rollouts) under `tag`. */
  saveState?(tag: string): Promise<SavedGeneratorState>;
  /** Restores a saved state; every outstanding rollout is released (another policy sampled it). */
  restoreState?(ref: string): Promise<SavedGeneratorState>;
  /** Forgets rollouts that will not be used (e.g. a failed step). */
  discard(rolloutIds: readonly string[]): Promise<void>;
  /** Scales the learning rate and β from the next update on (the guard). Absent: it cannot (remote workers today). */
  adjustTraining?(change: TrainingAdjustment): Promise<{ readonly learningRate: number; readonly beta: number }>;
  /**
   * Policy updates applied since the base checkpoint, for a generator that keeps its policy across restarts (a worker
   * with a state folder, src/generator/worker-state.ts). Absent: the generator does not keep count.
   */
  policyUpdates?(): number;
  /**
   * After a GENERATOR_UNAVAILABLE, gets the generator serving again (a remote worker: reconnect and check its policy);
   * rejects when it cannot. Absent: a failure cannot be recovered from.
   */
  recover?(): Promise<void>;
}
