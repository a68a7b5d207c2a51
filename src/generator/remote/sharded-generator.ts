/**
 * `ShardedGenerator`: one policy served by several generator workers (`generator.worker.urls`). A rollout's prompts are
 * split into contiguous shards, one per worker, each sampled with its own seed derived from the request's; the results
 * are gathered in prompt order under one handle. An update goes to every worker: its own shard by handle, the other
 * shards as replays (the worker re-samples them from the same request — identical, since sampling is deterministic by
 * seed on identical policies), so every worker applies the same update. After each update the workers' policy digests
 * and update counts must agree, or the run stops with GENERATOR_STATE_LOST: the proof that they are in step.
 * Workers must announce `features.replay`; save/restore go to every worker (the reference lists each one's).
 */
import { deriveSeed } from '../../common/rng.js';
import { VrGrpoError } from '../../errors/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type {
  GenerateRequest,
  GenerateResult,
  GeneratedVideo,
  ReplayedRollout,
  RolloutAdvantages,
  SavedGeneratorState,
  TrainableGenerator,
} from '../generator.js';
import type { ReconnectingGenerator } from './reconnecting-generator.js';

/** Sizes of `n` contiguous shards of `count` items, as even as possible, largest first; shards may be empty. */
export function shardSizes(count: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => Math.floor(count / n) + (k < count % n ? 1 : 0));
}

/** One worker's part of a rollout: what it was asked (enough to replay it) and the handle it returned. */
interface Shard {
  readonly worker: number;
  readonly rolloutId: string;
  readonly prompts: readonly string[];
  readonly seed: number;
  /** Index of the shard's first video in the gathered rollout. */
  readonly offset: number;
  readonly videos: number;
}

interface ShardedRollout {
  readonly groupSize: number;
  readonly sampler: GenerateRequest['sampler'];
  readonly shards: readonly Shard[];
}

function inStep(workers: readonly ReconnectingGenerator[], url: (i: number) => string): { policyUpdates: number | null; policyDigest: string | null } {
  const seen = workers.map((w) => w.lastPolicy);
  const first = seen[0] ?? null;
  for (const [i, p] of seen.entries()) {
    if (p === null || first === null || p.policyDigest !== first.policyDigest || p.policyUpdates !== first.policyUpdates) {
      throw new VrGrpoError(
        'GENERATOR_STATE_LOST',
        `generator workers are out of step after an update: ${url(0)} serves ${first?.policyDigest ?? 'no digest'} after ${String(first?.policyUpdates)} updates, ${url(i)} ${p?.policyDigest ?? 'no digest'} after ${String(p?.policyUpdates)}`,
        { details: { workers: seen.map((s, k) => ({ url: url(k), ...s })) } },
      );
    }
  }
  if (first?.policyDigest == null) throw new VrGrpoError('GENERATOR_STATE_LOST', 'generator workers report no policy digest: they cannot be proven in step');
  return first;
}

export class ShardedGenerator implements TrainableGenerator {
  readonly name: string;
  readonly replays = false;
  readonly #rollouts = new Map<string, ShardedRollout>();
  #next = 1;

  private constructor(
    private readonly workers: readonly ReconnectingGenerator[],
    private readonly urls: readonly string[],
  ) {
    this.name = `sharded:${workers.length}x${workers[0]?.name ?? '?'}`;
  }

  /**
   * Over connected workers (one per URL, in order). GENERATOR_FAILED when a worker cannot replay; GENERATOR_STATE_LOST
   * when they do not serve the same policy now (digests from `status`).
   */
  static async over(workers: readonly ReconnectingGenerator[], urls: readonly string[]): Promise<ShardedGenerator> {
    if (workers.length < 1 || workers.length !== urls.length) throw new VrGrpoError('INVALID_ARGUMENT', 'one worker per URL, at least one');
    const noReplay = workers.findIndex((w) => !w.replays);
    if (noReplay >= 0) {
      throw new VrGrpoError('GENERATOR_FAILED', `generator worker ${urls[noReplay]} cannot replay rollouts (features.replay), which sharding needs`, {
        details: { url: urls[noReplay] },
      });
    }
    const digests = await Promise.all(workers.map((w) => w.policyDigest()));
    const odd = digests.findIndex((d) => d !== digests[0]);
    if (odd >= 0) {
      throw new VrGrpoError('GENERATOR_STATE_LOST', `generator workers serve different policies: ${urls[0]} ${digests[0]}, ${urls[odd]} ${digests[odd]}`, {
        details: { urls, digests },
      });
    }
    return new ShardedGenerator(workers, urls);
  }

  policyUpdates(): number {
    return this.workers[0]?.policyUpdates() ?? 0;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const sizes = shardSizes(request.prompts.length, this.workers.length);
    let start = 0;
    const asked = sizes.map((size, worker) => {
      const prompts = request.prompts.slice(start, start + size);
      const first = start;
      start += size;
      return { worker, prompts, firstPrompt: first, seed: deriveSeed(request.seed, worker) };
    });
    const settled = await Promise.allSettled(
      asked.map((a) => (a.prompts.length === 0 ? Promise.resolve(null) : this.#worker(a.worker).generate({ ...request, prompts: a.prompts, seed: a.seed }))),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      // Give back what the others sampled: the step is retried or the run stops.
      await Promise.allSettled(
        settled.map((s, k) => (s.status === 'fulfilled' && s.value !== null ? this.#worker(k).discard([s.value.rolloutId]) : Promise.resolve())),
      );
      throw failed.reason;
    }
    const videos: GeneratedVideo[] = [];
    const shards: Shard[] = [];
    const timing = { sampleMs: 0, renderMs: 0, encodeMs: 0 };
    for (const [k, s] of settled.entries()) {
      const a = asked[k];
      if (s.status !== 'fulfilled' || s.value === null || a === undefined) continue;
      shards.push({ worker: k, rolloutId: s.value.rolloutId, prompts: a.prompts, seed: a.seed, offset: videos.length, videos: s.value.videos.length });
      for (const v of s.value.videos) {
        const promptIndex = v.promptIndex + a.firstPrompt;
        videos.push({ ...v, id: `p${promptIndex}-m${v.member}`, promptIndex });
      }
      // Shards run side by side: the slowest one is the rollout's time.
      timing.sampleMs = Math.max(timing.sampleMs, s.value.timing.sampleMs);
      timing.renderMs = Math.max(timing.renderMs, s.value.timing.renderMs);
      timing.encodeMs = Math.max(timing.encodeMs, s.value.timing.encodeMs);
    }
    const rolloutId = `s${this.#next++}`;
    this.#rollouts.set(rolloutId, { groupSize: request.groupSize, sampler: request.sampler, shards });
    return { rolloutId, videos, trajectory: null, timing };
  }

  /** The same update on every worker (own shard by handle, the others as replays); their policies must then agree. */
  async update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    if (replays.length > 0) throw new VrGrpoError('NOT_SUPPORTED', 'a sharded generator takes no replays itself');
    const own: RolloutAdvantages[][] = this.workers.map(() => []);
    const all: { worker: number; replay: ReplayedRollout }[] = [];
    // Every shard gets its global place, so every worker concatenates the same rows in the same order.
    let order = 0;
    for (const r of rollouts) {
      const sharded = this.#rollouts.get(r.rolloutId);
      if (sharded === undefined)
        throw new VrGrpoError('INVALID_ARGUMENT', `unknown or expired rollout ${r.rolloutId}`, { details: { rolloutId: r.rolloutId } });
      const total = sharded.shards.reduce((n, s) => n + s.videos, 0);
      if (r.advantages.length !== total)
        throw new VrGrpoError('INVALID_ARGUMENT', `rollout ${r.rolloutId} has ${total} videos, got ${r.advantages.length} advantages`);
      for (const s of sharded.shards) {
        const advantages = r.advantages.slice(s.offset, s.offset + s.videos);
        own[s.worker]?.push({ rolloutId: s.rolloutId, advantages, order });
        const replay = { prompts: s.prompts, groupSize: sharded.groupSize, seed: s.seed, advantages, order };
        order += 1;
        all.push({ worker: s.worker, replay: sharded.sampler === undefined ? replay : { ...replay, sampler: sharded.sampler } });
      }
    }
    const results = await Promise.all(
      this.workers.map((w, k) =>
        w.update(
          own[k] ?? [],
          all.filter((x) => x.worker !== k).map((x) => x.replay),
        ),
      ),
    );
    for (const r of rollouts) this.#rollouts.delete(r.rolloutId);
    inStep(this.workers, (i) => this.urls[i] ?? '?');
    const stats = results[0];
    if (stats === undefined) throw new VrGrpoError('INVALID_STATE', 'no workers');
    return stats;
  }

  async discard(rolloutIds: readonly string[]): Promise<void> {
    for (const id of rolloutIds) {
      const sharded = this.#rollouts.get(id);
      if (sharded === undefined) continue;
      this.#rollouts.delete(id);
      await Promise.all(sharded.shards.map((s) => this.#worker(s.worker).discard([s.rolloutId])));
    }
  }

  async policyDigest(): Promise<string> {
    const digests = await Promise.all(this.workers.map((w) => w.policyDigest()));
    if (digests.some((d) => d !== digests[0]))
      throw new VrGrpoError('GENERATOR_STATE_LOST', 'generator workers serve different policies', { details: { digests } });
    return digests[0] ?? '';
  }

  /** Saves every worker's state; the reference is the JSON list of the workers' references, in URL order. */
  async saveState(tag: string): Promise<SavedGeneratorState> {
    const saved = await Promise.all(this.workers.map((w) => this.#stateful(w).saveState(tag)));
    return { ref: JSON.stringify(saved.map((s) => s.ref)), policyUpdates: saved[0]?.policyUpdates ?? null, policyDigest: saved[0]?.policyDigest ?? null };
  }

  /** Restores each worker from its part of a `saveState` reference; the restored policies must agree. */
  async restoreState(ref: string): Promise<SavedGeneratorState> {
    let refs: unknown;
    try {
      refs = JSON.parse(ref);
    } catch {
      refs = null;
    }
    if (!Array.isArray(refs) || refs.length !== this.workers.length || !refs.every((r) => typeof r === 'string')) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `a sharded state reference lists one state per worker (${this.workers.length}); got ${ref.slice(0, 200)}`);
    }
    const restored = await Promise.all(this.workers.map((w, k) => this.#stateful(w).restoreState(refs[k] as string)));
    this.#rollouts.clear();
    const digest = restored[0]?.policyDigest ?? null;
    if (restored.some((r) => r.policyDigest !== digest)) {
      throw new VrGrpoError('GENERATOR_STATE_LOST', 'the restored worker states serve different policies', {
        details: { digests: restored.map((r) => r.policyDigest) },
      });
    }
    return { ref, policyUpdates: restored[0]?.policyUpdates ?? null, policyDigest: digest };
  }

  async recover(): Promise<void> {
    for (const w of this.workers) await w.recover();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }

  #worker(k: number): ReconnectingGenerator {
    const w = this.workers[k];
    if (w === undefined) throw new VrGrpoError('INVALID_STATE', `no worker ${k}`);
    return w;
  }

  #stateful(w: ReconnectingGenerator): Required<Pick<ReconnectingGenerator, 'saveState' | 'restoreState'>> {
    const { saveState, restoreState } = w;
    if (saveState === undefined || restoreState === undefined)
      throw new VrGrpoError('NOT_SUPPORTED', `generator worker ${w.name} keeps no state (--state-dir)`);
    return { saveState, restoreState };
  }
}
