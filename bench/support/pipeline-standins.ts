/**
 * Accelerator-bound stand-ins for `BENCH_MODE=accelerator npm run bench:pipeline` and its test: a trainable generator
 * and a judge whose service time is spent *waiting* on a timer — as a host waits on its GPU kernel — not computing.
 * They sit behind the real servers (`GeneratorWorkerServer`, `RewardServer`), so the coordinator drives them through
 * the real generator-worker and reward protocols with real-size raw frames. Both are deterministic (videos from the
 * rollout seed and the policy, verdicts from the videos), so a run and its resume can be compared number for number,
 * and both record when each call started and ended.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import { VrGrpoError } from '../../src/errors/index.js';
import type { UpdateStats } from '../../src/generator/flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, GeneratedVideo, RolloutAdvantages, TrainableGenerator } from '../../src/generator/generator.js';
import { GeneratorWorkerServer } from '../../src/generator/remote/worker-server.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import type { Preference } from '../../src/protocol/index.js';
import { RewardServer } from '../../src/reward-server/index.js';

/** One call of a stand-in: what, when (`performance.now()` of this process), and for rollouts the policy it sampled. */
export interface StandinEvent {
  readonly kind: 'rollout' | 'update' | 'judgment';
  readonly startMs: number;
  readonly endMs: number;
  /** Rollouts: policy updates applied before it started (its staleness is `step - 1 - this`). */
  readonly policyUpdates?: number;
}

/** Size of the videos the stand-in generator returns (the embedded default: `world.width/height/frames/fps`). */
export interface VideoSize {
  readonly width: number;
  readonly height: number;
  readonly frameCount: number;
  readonly fps: number;
}

export interface WaitingGeneratorOptions {
  readonly size: VideoSize;
  /** Wait per video of a rollout, in milliseconds (a rollout of n videos waits n × this). */
  readonly generateMsPerVideo: number;
  /** Wait per policy update, in milliseconds. */
  readonly updateMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A 32-bit mix of integers (deterministic colours from the rollout seed). */
function mix(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A video of one colour: the 3-byte pattern doubled across the buffer (memcpy speed, real size). */
function solidVideo(size: VideoSize, rgb: readonly [number, number, number]): RawVideo {
  const data = new Uint8Array(size.width * size.height * 3 * size.frameCount);
  data.set(rgb);
  for (let filled = 3; filled < data.length; filled *= 2) data.copyWithin(filled, 0, Math.min(filled, data.length - filled));
  return { ...size, data };
}

const clampByte = (x: number): number => Math.max(0, Math.min(255, Math.round(x)));

/**
 * A `TrainableGenerator` on an accelerator, seen from its host: `generate()` waits `generateMsPerVideo` per video and
 * returns one-colour videos at real size whose colours derive from the seed and the policy; `update()` waits `updateMs`
 * and moves the policy (one number: how much redder videos come out) by the advantages — so a lost, repeated or
 * reordered update shows in every later video. Calls must not overlap (the worker serializes them); an overlap throws.
 */
export class WaitingGenerator implements TrainableGenerator {
  readonly name = 'waiting-standin';
  readonly events: StandinEvent[] = [];
  /** The advantages of every applied update, in order (what exact resume compares). */
  readonly advantages: (number | null)[][] = [];
  #policy = 0;
  #updates = 0;
  #rollouts = 0;
  #busy = false;
  /** Redness of each video of the rollouts not yet updated or discarded. */
  readonly #pending = new Map<string, readonly number[]>();

  constructor(private readonly options: WaitingGeneratorOptions) {}

  policyUpdates(): number {
    return this.#updates;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.#serve('rollout', request.prompts.length * request.groupSize * this.options.generateMsPerVideo, () => {
      const videos: GeneratedVideo[] = [];
      const redness: number[] = [];
      request.prompts.forEach((prompt, p) => {
        for (let m = 0; m < request.groupSize; m++) {
          const h = mix(request.seed, p, m);
          const red = clampByte((h & 0xff) * 0.5 + 64 + this.#policy);
          const blue = clampByte(((h >>> 8) & 0xff) * 0.5 + 64);
          redness.push(red - blue);
          videos.push({
            id: `p${p}-m${m}`,
            prompt,
            promptIndex: p,
            member: m,
            video: solidVideo(this.options.size, [red, (h >>> 16) & 0xff, blue]),
            latent: null,
            mp4Path: null,
          });
        }
      });
      const rolloutId = `w${this.#rollouts++}`;
      this.#pending.set(rolloutId, redness);
      return {
        rolloutId,
        videos,
        trajectory: null,
        timing: { sampleMs: request.prompts.length * request.groupSize * this.options.generateMsPerVideo, renderMs: 0, encodeMs: 0 },
      };
    });
  }

  async update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    for (const r of rollouts) {
      const redness = this.#pending.get(r.rolloutId);
      if (redness === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `unknown rollout ${r.rolloutId}`);
      if (redness.length !== r.advantages.length) throw new VrGrpoError('INVALID_ARGUMENT', `rollout ${r.rolloutId} has ${redness.length} videos`);
    }
    return this.#serve('update', this.options.updateMs, () => {
      let step = 0;
      let used = 0;
      for (const r of rollouts) {
        const redness = this.#pending.get(r.rolloutId) ?? [];
        r.advantages.forEach((a, i) => {
          if (a === null) return;
          step += a * (redness[i] ?? 0);
          used += 1;
        });
        this.#pending.delete(r.rolloutId);
        this.advantages.push([...r.advantages]);
      }
      const move = used === 0 ? 0 : step / used / 8;
      this.#policy += move;
      this.#updates += 1;
      const stats: UpdateStats = {
        rows: used,
        videos: used,
        policyLoss: -move,
        klLoss: 0,
        approxKl: 0,
        clipFracHigh: 0,
        clipFracLow: 0,
        ratioMean: 1,
        ratioStd: 0,
        onPolicyMaxRatioDeviation: 0,
        gradNorm: Math.abs(move),
      };
      return stats;
    });
  }

  discard(rolloutIds: readonly string[]): Promise<void> {
    for (const id of rolloutIds) this.#pending.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#pending.clear();
    return Promise.resolve();
  }

  /** Waits `ms` (the accelerator's work), then answers; records the call. */
  async #serve<T>(kind: 'rollout' | 'update', ms: number, answer: () => T): Promise<T> {
    if (this.#busy) throw new VrGrpoError('INVALID_STATE', 'the stand-in generator was called while busy');
    this.#busy = true;
    const startMs = performance.now();
    const policyUpdates = this.#updates;
    try {
      await sleep(ms);
      const value = answer();
      this.events.push({ kind, startMs, endMs: performance.now(), ...(kind === 'rollout' ? { policyUpdates } : {}) });
      return value;
    } finally {
      this.#busy = false;
    }
  }
}

/** Mean red minus mean blue of a frame (the stand-in judge's score). */
function frameRedness(frame: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 2 < frame.length; i += 3) s += (frame[i] ?? 0) - (frame[i + 2] ?? 0);
  return s / (frame.length / 3);
}

/**
 * A `JudgeService` on an accelerator: each judgment reads the first frame of its videos through the server's frame path,
 * waits `judgmentMs` (judgments run concurrently, as a batching inference server serves them), and answers a valid
 * verdict preferring the redder video (pointwise: scores by redness).
 */
export class WaitingJudge implements JudgeService {
  readonly backendName = 'waiting-standin';
  readonly events: StandinEvent[] = [];

  constructor(private readonly judgmentMs: number) {}

  rmVersion(): string {
    return `waiting-${this.judgmentMs}ms`;
  }

  async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    const startMs = performance.now();
    const scores: number[] = [];
    for (const video of request.videos) {
      const [frame] = await video.frames([0]);
      scores.push(frameRedness(frame ?? new Uint8Array(3)));
    }
    await sleep(this.judgmentMs);
    if (hooks.signal?.aborted === true) throw new VrGrpoError('JUDGE_FAILED', 'judgment aborted');
    const [a = 0, b = 0] = scores;
    const p: Preference = a > b ? 1 : b > a ? 2 : 0;
    const norm = (x: number): number => Math.min(1, Math.max(0, (x + 255) / 510));
    this.events.push({ kind: 'judgment', startMs, endMs: performance.now() });
    return {
      rmVersion: this.rmVersion(),
      mode: request.mode,
      answer: request.mode === 'pairwise' ? { TA: p, MQ: p, VQ: p, OA: p, CF: 1 } : null,
      scores: scores.map((s) => ({ TA: norm(s), MQ: norm(s), VQ: norm(s), overall: norm(s) })),
      framesViewed: request.videos.map(() => [1]),
      toolCalls: 0,
      hallucinations: [],
      formatErrors: 0,
      forced: false,
      timing: { totalMs: this.judgmentMs, decodeMs: 0, backendMs: this.judgmentMs },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reward servers on loopback, each with its own `WaitingJudge`; `close()` stops them and removes their artifact root. */
export interface StandinRewardServers {
  readonly urls: readonly string[];
  readonly token: string;
  readonly judges: readonly WaitingJudge[];
  /** Resolves once every server is closed, whoever closed it. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Starts `count` real reward servers (port 0, bearer token) whose judge is a `WaitingJudge(judgmentMs)`. */
export async function startStandinRewardServers(count: number, judgmentMs: number, token = 'standin'): Promise<StandinRewardServers> {
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-standin-rs-'));
  const media = await Media.create();
  const servers: RewardServer[] = [];
  const judges: WaitingJudge[] = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const judge = new WaitingJudge(judgmentMs);
      judges.push(judge);
      servers.push(
        await RewardServer.start({
          service: judge,
          media,
          log: silentLogger(),
          artifactRoot: root,
          host: '127.0.0.1',
          port: 0,
          token,
          maxInFlightPerConnection: 1024,
        }),
      );
    }
  } catch (e) {
    await close();
    throw e;
  }
  const closed = Promise.all(servers.map((s) => s.closed)).then(() => undefined);
  return { urls: servers.map((s) => s.url), token, judges, closed, close };
}

/** Starts a real generator worker on loopback (port 0, no token) serving `generator`. */
export function startStandinGeneratorWorker(generator: WaitingGenerator): Promise<GeneratorWorkerServer> {
  return GeneratorWorkerServer.start({ generator, log: silentLogger(), host: '127.0.0.1', port: 0, maxQueuedPerConnection: 64 });
}
