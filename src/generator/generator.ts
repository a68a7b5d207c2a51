/** The `Generator` contract: given prompts, a group size and a seed, return videos and what a policy update needs. */
import type { RawVideo } from '../media/index.js';
import type { UpdateStats } from './flow-grpo-trainer.js';
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
}

export interface GeneratedVideo {
  /** Stable id within the request: `p<promptIndex>-m<member>`. */
  readonly id: string;
  readonly prompt: string;
  readonly promptIndex: number;
  readonly member: number;
  readonly video: RawVideo;
  /** The scene latent, for generators of the embedded world; null otherwise. */
  readonly latent: Float32Array | null;
  readonly mp4Path: string | null;
}

export interface GenerateTiming {
  readonly sampleMs: number;
  readonly renderMs: number;
  readonly encodeMs: number;
}

export interface GenerateResult {
  /** Handle of this rollout for a later `update` (the generator keeps its trajectories until then). */
  readonly rolloutId: string;
  /** Videos in prompt-major order: all members of prompt 0, then prompt 1, … */
  readonly videos: readonly GeneratedVideo[];
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
}

/** A generator whose policy can be updated from advantages (in-process or a remote worker). */
export interface TrainableGenerator extends Generator {
  /** One policy update from the given rollouts; their trajectories are released afterwards. */
  update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats>;
  /** Forgets rollouts that will not be used (e.g. a failed step). */
  discard(rolloutIds: readonly string[]): Promise<void>;
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
