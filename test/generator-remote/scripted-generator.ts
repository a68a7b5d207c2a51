/**
 * A scripted `TrainableGenerator` for the worker tests: tiny deterministic videos, and behaviour chosen by the first
 * prompt — `big` makes 64×64 videos (36 KiB each), `fail` throws a plain Error, `fail:<CODE>` a VrGrpoError with that code, `gate:<name>` waits until
 * `release(name)` (so tests can hold the generator busy without sleeping). It records every call and the largest
 * number of calls ever running at once (the worker must serialize them).
 */
import { VrGrpoError, type ErrorCode } from '../../src/errors/index.js';
import type { UpdateStats } from '../../src/generator/flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, GeneratedVideo, RolloutAdvantages, TrainableGenerator } from '../../src/generator/generator.js';

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Frame size of scripted videos. */
export const SCRIPTED_SIZE = { width: 4, height: 2, frameCount: 3, fps: 8 } as const;

export class ScriptedGenerator implements TrainableGenerator {
  readonly name = 'scripted';
  /** Every call in order: `generate:<first prompt>`, `update:<ids>`, `discard:<ids>`. */
  readonly calls: string[] = [];
  /** Rollouts held (id → video count). */
  readonly held = new Map<string, number>();
  maxActive = 0;
  closed = false;
  #active = 0;
  #rollouts = 0;
  readonly #gates = new Map<string, Deferred>();
  readonly #started = new Map<string, Deferred>();
  readonly #discarded = new Map<string, Deferred>();

  #deferred(map: Map<string, Deferred>, key: string): Deferred {
    let d = map.get(key);
    if (d === undefined) {
      d = deferred();
      map.set(key, d);
    }
    return d;
  }

  /** Resolves when a `gate:<name>` rollout has started. */
  whenStarted(name: string): Promise<void> {
    return this.#deferred(this.#started, name).promise;
  }

  /** Lets a `gate:<name>` rollout finish (before or after it started). */
  release(name: string): void {
    this.#deferred(this.#gates, name).resolve();
  }

  /** Resolves when `rolloutId` has been discarded. */
  whenDiscarded(rolloutId: string): Promise<void> {
    return this.#deferred(this.#discarded, rolloutId).promise;
  }

  async #busy<T>(run: () => Promise<T>): Promise<T> {
    this.#active += 1;
    this.maxActive = Math.max(this.maxActive, this.#active);
    try {
      return await run();
    } finally {
      this.#active -= 1;
    }
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    const first = request.prompts[0] ?? '';
    this.calls.push(`generate:${first}`);
    return this.#busy(async () => {
      if (first === 'fail') throw new Error('boom');
      if (first.startsWith('fail:')) throw new VrGrpoError(first.slice(5) as ErrorCode, `scripted failure ${first.slice(5)}`);
      if (first.startsWith('gate:')) {
        const name = first.slice(5);
        this.#deferred(this.#started, name).resolve();
        await this.#deferred(this.#gates, name).promise;
      }
      const { frameCount, fps } = SCRIPTED_SIZE;
      const [width, height] = first === 'big' ? [64, 64] : [SCRIPTED_SIZE.width, SCRIPTED_SIZE.height];
      const videos: GeneratedVideo[] = [];
      request.prompts.forEach((prompt, promptIndex) => {
        for (let member = 0; member < request.groupSize; member++) {
          const data = new Uint8Array(width * height * 3 * frameCount);
          for (let i = 0; i < data.length; i++) data[i] = (request.seed * 31 + promptIndex * 7 + member * 3 + i) % 256;
          videos.push({
            id: `p${promptIndex}-m${member}`,
            prompt,
            promptIndex,
            member,
            video: { width, height, frameCount, fps, data },
            latent: Float32Array.from([request.seed, promptIndex, member, 0.1]),
            mp4Path: null,
          });
        }
      });
      this.#rollouts += 1;
      const rolloutId = `s${this.#rollouts}`;
      this.held.set(rolloutId, videos.length);
      return { rolloutId, videos, trajectory: null, timing: { sampleMs: 1, renderMs: 2, encodeMs: 0 } };
    });
  }

  update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    this.calls.push(`update:${rollouts.map((r) => r.rolloutId).join(',')}`);
    return this.#busy(() => {
      for (const r of rollouts) {
        const count = this.held.get(r.rolloutId);
        if (count === undefined) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `unknown or expired rollout ${r.rolloutId}`));
        if (count !== r.advantages.length)
          return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `rollout ${r.rolloutId} has ${count} videos, got ${r.advantages.length} advantages`));
      }
      for (const r of rollouts) this.held.delete(r.rolloutId);
      const videos = rollouts.reduce((n, r) => n + r.advantages.filter((a) => a !== null).length, 0);
      // policyLoss NaN: non-finite statistics must survive the wire (as null) and come back as NaN.
      return Promise.resolve({
        rows: videos * 2,
        videos,
        policyLoss: Number.NaN,
        klLoss: 0,
        approxKl: 0,
        clipFracHigh: 0,
        clipFracLow: 0,
        ratioMean: 1,
        ratioStd: 0,
        onPolicyMaxRatioDeviation: 0,
        gradNorm: 0.5,
      });
    });
  }

  discard(rolloutIds: readonly string[]): Promise<void> {
    this.calls.push(`discard:${rolloutIds.join(',')}`);
    for (const id of rolloutIds) {
      this.held.delete(id);
      this.#deferred(this.#discarded, id).resolve();
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const gate of this.#gates.values()) gate.resolve();
    return Promise.resolve();
  }
}
