/** The embedded generator: the tfjs flow policy sampled in-process, latents rendered by the world's renderer. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng, deriveSeed } from '../common/rng.js';
import type { Config } from '../config/index.js';
import { VrGrpoError } from '../errors/index.js';
import type { Media } from '../media/index.js';
import { decodeLatent, renderScene } from '../world/index.js';
import { loadCheckpoint, policyFromCheckpoint } from './checkpoint.js';
import type { FlowPolicy } from './flow-policy.js';
import type { GenerateRequest, GenerateResult, GeneratedVideo, Generator } from './generator.js';
import { sampleLatents, type SamplerOptions } from './sampler.js';
import { textFeatures } from './text-features.js';

export interface EmbeddedGeneratorOptions {
  readonly config: Config;
  /** The policy to sample (owned by the caller), or null to load `config.generator.checkpoint`. */
  readonly policy?: FlowPolicy;
  /** Needed only for requests with `mp4Dir`. */
  readonly media?: Media;
}

/** The configured sampler options (SDE mode). */
export function samplerOptionsFrom(config: Config): SamplerOptions {
  const s = config.generator.sampler;
  return { mode: 'sde', steps: s.steps, noiseLevel: s.noiseLevel, shift: s.shift, sdeWindow: { ...s.sdeWindow }, sameNoiseInGroup: s.sameNoiseInGroup };
}

export class EmbeddedGenerator implements Generator {
  readonly name = 'embedded';
  private closed = false;

  private constructor(
    readonly policy: FlowPolicy,
    private readonly ownsPolicy: boolean,
    private readonly config: Config,
    private readonly media: Media | undefined,
  ) {}

  static create(options: EmbeddedGeneratorOptions): Promise<EmbeddedGenerator> {
    const { config } = options;
    if (options.policy !== undefined) return Promise.resolve(new EmbeddedGenerator(options.policy, false, config, options.media));
    const g = config.generator;
    const policy = policyFromCheckpoint(loadCheckpoint(g.checkpoint), {
      textFeatures: g.textFeatures,
      textEmbedDim: g.textEmbedDim,
      hiddenDim: g.hiddenDim,
      depth: g.depth,
      timeFeatures: g.timeFeatures,
    });
    return Promise.resolve(new EmbeddedGenerator(policy, true, config, options.media));
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    if (this.closed) throw new VrGrpoError('INVALID_ARGUMENT', 'generator is closed');
    const { prompts, groupSize } = request;
    if (prompts.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'no prompts');
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new VrGrpoError('INVALID_ARGUMENT', `groupSize must be an integer >= 1, got ${groupSize}`);
    if (request.mp4Dir !== undefined && this.media === undefined) {
      throw new VrGrpoError('INVALID_ARGUMENT', 'mp4Dir was given but the generator has no media adapter');
    }
    const world = this.config.world;
    const dim = this.policy.architecture.textFeatures;
    const n = prompts.length * groupSize;
    const t0 = performance.now();
    const features = new Float32Array(n * dim);
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
    const { latents, trajectory } = sampleLatents(this.policy, { textFeatures: features, groups }, rng, options, request.reference !== true);
    const t1 = performance.now();
    const L = this.policy.architecture.latentDim;
    const videos: GeneratedVideo[] = [];
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
    return { videos: out, trajectory, timing: { sampleMs: t1 - t0, renderMs: t2 - t1, encodeMs: t3 - t2 } };
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.ownsPolicy) this.policy.dispose();
    }
    return Promise.resolve();
  }
}
