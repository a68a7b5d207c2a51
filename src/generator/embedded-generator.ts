/** The embedded generator: the tfjs flow policy sampled in-process, latents rendered by the world's renderer. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng, deriveSeed } from '../common/rng.js';
import type { Config } from '../config/index.js';
import { VrGrpoError } from '../errors/index.js';
import type { Media, RawVideo } from '../media/index.js';
import { decodeLatent, latentDimOf, renderScene } from '../world/index.js';
import { loadCheckpoint, policyFromCheckpoint, saveCheckpoint } from './checkpoint.js';
import { FlowGrpoTrainer, type FlowGrpoOptions, type TrainingAdjustment, type UpdateStats } from './flow-grpo-trainer.js';
import type { FlowPolicy } from './flow-policy.js';
import {
  orderedUpdateEntries,
  type GenerateRequest,
  type GenerateResult,
  type GeneratedVideo,
  type ReplayedRollout,
  type RolloutAdvantages,
  type TrainableGenerator,
} from './generator.js';
import { policyDigest } from './policy-digest.js';
import { concatBatches, type TrajectoryBatch } from './trajectory.js';
import type { AdamState } from '../tensor/index.js';
import { sampleLatents, type SamplerOptions } from './sampler.js';
import { textFeatures } from './text-features.js';

export interface EmbeddedGeneratorOptions {
  readonly config: Config;
  /** The policy to sample (owned by the caller), or null to load `config.generator.checkpoint`. */
  readonly policy?: FlowPolicy;
  /** Needed only for requests with `mp4Dir`. */
  readonly media?: Media;
  /** Makes the generator trainable (Flow-GRPO on the LoRA adapters). */
  readonly trainer?: FlowGrpoOptions;
  /** Adam state to resume the trainer from. */
  readonly optimizerState?: AdamState;
  /** Rollouts kept for a later update; older ones are forgotten. Default 4. */
  readonly maxPendingRollouts?: number;
}

/** The Flow-GRPO trainer options of `config.training` for a run of `totalSteps` steps (the schedule's length). */
export function trainerOptionsFrom(config: Config, totalSteps: number = config.training.steps): FlowGrpoOptions {
  const t = config.training;
  return {
    learningRate: t.learningRate,
    clipRange: t.clipRange,
    beta: t.beta,
    timestepFraction: t.timestepFraction,
    maxGradNorm: t.maxGradNorm,
    innerEpochs: t.innerEpochs,
    schedule: t.lrSchedule === 'constant' ? { kind: 'constant' } : { kind: 'cosine', totalUpdates: totalSteps * t.innerEpochs, minFraction: t.lrMinFraction },
  };
}

/** `trainerOptionsFrom` at a constant learning rate (no schedule): short experiment runs and tests. */
export function constantTrainerOptionsFrom(config: Config): FlowGrpoOptions {
  return { ...trainerOptionsFrom(config), schedule: { kind: 'constant' } };
}

/** The configured sampler options (SDE mode). */
export function samplerOptionsFrom(config: Config): SamplerOptions {
  const s = config.generator.sampler;
  return { mode: 'sde', steps: s.steps, noiseLevel: s.noiseLevel, shift: s.shift, sdeWindow: { ...s.sdeWindow }, sameNoiseInGroup: s.sameNoiseInGroup };
}

/**
 * Refuses a policy whose latent length is not the configured world's (35 numbers in world v1, 77 in v2): a v1 policy
 * in a v2 world would silently render scenes without events, a v2 policy in a v1 world would draw events and local defects v1 prompts never ask for.
 * CONFIG_INVALID, naming both lengths and the two ways to fix it.
 */
export function assertPolicyFitsWorld(latentDim: number, config: Config, source: string): void {
  const version = config.world.version;
  const expected = latentDimOf(version);
  if (latentDim === expected) return;
  const fits = ([1, 2] as const).find((v) => latentDimOf(v) === latentDim);
  const shipped = version === 2 ? 'models/generator-base-v2, as configs/world-v2.yaml does' : 'models/generator-base';
  const fix = `${fits === undefined ? '' : `set world.version: ${fits} (the world it was trained in), or `}set generator.checkpoint to a world v${version} checkpoint (${shipped})`;
  throw new VrGrpoError('CONFIG_INVALID', `${source} has latentDim ${latentDim}, but world.version ${version} needs latentDim ${expected}: ${fix}`, {
    details: { field: 'world.version', source, latentDim, expected, worldVersion: version },
  });
}

export class EmbeddedGenerator implements TrainableGenerator {
  readonly name = 'embedded';
  private closed = false;
  private rollouts = 0;
  private readonly pending = new Map<string, TrajectoryBatch>();
  private readonly trainer: FlowGrpoTrainer | null;
  private readonly maxPending: number;

  private constructor(
    readonly policy: FlowPolicy,
    private readonly ownsPolicy: boolean,
    private readonly config: Config,
    private readonly media: Media | undefined,
    options: EmbeddedGeneratorOptions,
  ) {
    this.trainer = options.trainer === undefined ? null : new FlowGrpoTrainer(policy, options.trainer, options.optimizerState);
    this.maxPending = options.maxPendingRollouts ?? 4;
  }

  /**
   * The generator for `options.policy`, or for `config.generator.checkpoint` loaded here. Rejects (never throws) with
   * CONFIG_INVALID when the policy's latent length is not the world version's (see {@link assertPolicyFitsWorld}), and
   * with the checkpoint's errors.
   */
  static create(options: EmbeddedGeneratorOptions): Promise<EmbeddedGenerator> {
    try {
      return Promise.resolve(EmbeddedGenerator.build(options));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private static build(options: EmbeddedGeneratorOptions): EmbeddedGenerator {
    const { config } = options;
    if (options.policy !== undefined) {
      assertPolicyFitsWorld(options.policy.architecture.latentDim, config, 'the given policy');
      return new EmbeddedGenerator(options.policy, false, config, options.media, options);
    }
    const g = config.generator;
    const checkpoint = loadCheckpoint(g.checkpoint);
    assertPolicyFitsWorld(checkpoint.manifest.architecture.latentDim, config, `generator checkpoint ${checkpoint.dir}`);
    const policy = policyFromCheckpoint(checkpoint, {
      textFeatures: g.textFeatures,
      textEmbedDim: g.textEmbedDim,
      hiddenDim: g.hiddenDim,
      depth: g.depth,
      timeFeatures: g.timeFeatures,
    });
    try {
      return new EmbeddedGenerator(policy, true, config, options.media, options);
    } catch (e) {
      policy.dispose();
      throw e;
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult<RawVideo>> {
    if (this.closed) throw new VrGrpoError('CLOSED', 'generator is closed');
    const { prompts, groupSize } = request;
    if (prompts.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'no prompts');
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new VrGrpoError('INVALID_ARGUMENT', `groupSize must be an integer >= 1, got ${groupSize}`);
    if (request.mp4Dir !== undefined && this.media === undefined) {
      throw new VrGrpoError('INVALID_ARGUMENT', 'mp4Dir was given but the generator has no media adapter');
    }
    const world = this.config.world;
    const n = prompts.length * groupSize;
    const t0 = performance.now();
    const { latents, trajectory } = this.#sample(request);
    const t1 = performance.now();
    const L = this.policy.architecture.latentDim;
    const videos: GeneratedVideo<RawVideo>[] = [];
    for (let i = 0; i < n; i++) {
      const latent = latents.slice(i * L, (i + 1) * L);
      const scene = decodeLatent(latent, world.width, world.height);
      const promptIndex = Math.floor(i / groupSize);
      videos.push({
        id: `p${promptIndex}-m${i % groupSize}`,
        prompt: prompts[promptIndex] ?? '',
        promptIndex,
        member: i % groupSize,
        video: renderScene(scene, { frames: world.frames, fps: world.fps }),
        latent,
        mp4Path: null,
      });
    }
    const t2 = performance.now();
    let out = videos;
    if (request.mp4Dir !== undefined && this.media !== undefined) {
      const dir = resolve(request.mp4Dir);
      mkdirSync(dir, { recursive: true });
      const media = this.media;
      out = [];
      for (const v of videos) {
        const path = join(dir, `${v.id}.mp4`);
        await media.encodeMp4(v.video, path);
        out.push({ ...v, mp4Path: path });
      }
    }
    const t3 = performance.now();
    const rolloutId = `r${++this.rollouts}`;
    if (this.trainer !== null) {
      this.pending.set(rolloutId, trajectory);
      for (const key of this.pending.keys()) if (this.pending.size > this.maxPending) this.pending.delete(key);
    }
    return { rolloutId, videos: out, trajectory, timing: { sampleMs: t1 - t0, renderMs: t2 - t1, encodeMs: t3 - t2 } };
  }

  /**
   * The SDE sampling of a request: latents and trajectories, all randomness from `request.seed` — the same request on
   * the same policy gives the same numbers, which is what a replay relies on.
   */
  #sample(request: Pick<GenerateRequest, 'prompts' | 'groupSize' | 'seed' | 'sampler' | 'reference'>): { latents: Float32Array; trajectory: TrajectoryBatch } {
    const { prompts, groupSize } = request;
    const dim = this.policy.architecture.textFeatures;
    const features = new Float32Array(prompts.length * groupSize * dim);
    const groups: number[] = [];
    prompts.forEach((p, i) => {
      const f = textFeatures(p, dim);
      for (let m = 0; m < groupSize; m++) {
        features.set(f, (i * groupSize + m) * dim);
        groups.push(i);
      }
    });
    const options: SamplerOptions = { ...samplerOptionsFrom(this.config), ...request.sampler };
    const rng = Rng.fromSeed(deriveSeed(request.seed, 0x5a3e));
    return sampleLatents(this.policy, { textFeatures: features, groups }, rng, options, request.reference !== true);
  }

  /** Digest of the adapters (see ./policy-digest.ts). */
  policyDigest(): Promise<string> {
    return Promise.resolve(policyDigest(this.policy.parameters('lora')));
  }

  /**
   * Puts restored adapters and optimizer state in place and releases every outstanding rollout (sampled by another
   * policy). The caller checked that the state is sound (src/generator/worker-state.ts).
   */
  loadAdapterState(lora: ReadonlyMap<string, Float32Array>, optimizer: AdamState | null): void {
    if (this.trainer === null) this.policy.setParameters(lora);
    else this.trainer.load(lora, optimizer);
    this.pending.clear();
  }

  /** Scales the learning rate and β from the next update on (the guard); NOT_SUPPORTED without a trainer. */
  adjustTraining(change: TrainingAdjustment): Promise<{ readonly learningRate: number; readonly beta: number }> {
    if (this.trainer === null) return Promise.reject(new VrGrpoError('NOT_SUPPORTED', 'this generator was created without trainer options'));
    return Promise.resolve(this.trainer.adjust(change));
  }

  /** Adam state of the trainer (for checkpoints); null when not trainable. */
  optimizerState(): AdamState | null {
    return this.trainer?.optimizerState() ?? null;
  }

  /**
   * Writes the adapters and the Adam state (when trainable) to `dir` atomically, as a checkpoint referring to the
   * configured base checkpoint; `readAdapterState` reads them back.
   */
  saveAdapters(dir: string, metadata: Record<string, unknown>): void {
    const optimizer = this.optimizerState();
    saveCheckpoint(dir, {
      policy: this.policy,
      base: { ref: this.config.generator.checkpoint },
      lora: true,
      ...(optimizer === null ? {} : { optimizer }),
      metadata,
    });
  }

  readonly replays = true;

  update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    if (this.trainer === null) return Promise.reject(new VrGrpoError('NOT_SUPPORTED', 'this generator was created without trainer options'));
    const held: { order?: number; batch: TrajectoryBatch | ReplayedRollout; advantages: readonly (number | null)[] }[] = [];
    for (const r of rollouts) {
      const batch = this.pending.get(r.rolloutId);
      if (batch === undefined) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `unknown or expired rollout ${r.rolloutId}`));
      if (r.advantages.length !== batch.count)
        return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `rollout ${r.rolloutId} has ${batch.count} videos, got ${r.advantages.length} advantages`));
      held.push({ ...(r.order === undefined ? {} : { order: r.order }), batch, advantages: r.advantages });
    }
    for (const [i, r] of replays.entries()) {
      const count = r.prompts.length * r.groupSize;
      if (r.prompts.length === 0 || !Number.isInteger(r.groupSize) || r.groupSize < 1 || r.advantages.length !== count) {
        return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `replay ${i} has ${count} videos, got ${r.advantages.length} advantages`));
      }
    }
    if (held.length === 0 && replays.length === 0) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', 'no rollouts to update from'));
    for (const r of replays) held.push({ ...(r.order === undefined ? {} : { order: r.order }), batch: r, advantages: r.advantages });
    const batches: TrajectoryBatch[] = [];
    const advantages: (number | null)[] = [];
    try {
      // Rows in the update's order; a replay is re-sampled here (same request, same policy: the same trajectories).
      for (const entry of orderedUpdateEntries(held)) {
        batches.push('prompts' in entry.batch ? this.#sample(entry.batch).trajectory : entry.batch);
        advantages.push(...entry.advantages);
      }
      const stats = this.trainer.update(concatBatches(batches), advantages);
      // Used: their trajectories are released. A refused update (UPDATE_REJECTED: the policy unchanged) keeps them,
      // so the caller may retry with other advantages or discard them.
      for (const r of rollouts) this.pending.delete(r.rolloutId);
      return Promise.resolve(stats);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  discard(rolloutIds: readonly string[]): Promise<void> {
    for (const id of rolloutIds) this.pending.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.pending.clear();
      this.trainer?.dispose();
      if (this.ownsPolicy) this.policy.dispose();
    }
    return Promise.resolve();
  }
}
