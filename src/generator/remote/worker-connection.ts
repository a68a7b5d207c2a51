/**
 * One client connection of the generator worker: parses what arrives, answers `ping` / `status` at once, and puts
 * rollout / update / discard requests on the worker's single generator queue. Every failure is answered with an
 * `error` message and the socket stays open (except a protocol mismatch: close 1002). Rollouts belong to the
 * connection that made them and are discarded when it closes. Nothing a client sends can throw out of here.
 */
import type { Logger } from '../../common/logger.js';
import { assertNever, isVrGrpoError, VrGrpoError, type ErrorCode } from '../../errors/index.js';
import { assertRawVideo, framesOf } from '../../media/index.js';
import {
  GENERATOR_PROTOCOL_VERSION,
  parseGeneratorClientMessage,
  type DiscardRequest,
  type GeneratedVideoHeader,
  type GeneratorWorkerMessage,
  type JudgeCopySpec,
  type RestoreRequest,
  type RolloutRequest,
  type SaveRequest,
  type UpdateRequest,
} from '../../protocol/generator-messages.js';
import { CLOSE_CODES, describeError as describe, type ConnectionHandler, type ServerConnection } from '../../transport/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateResult, ReplayedRollout, RolloutAdvantages, TrainableGenerator } from '../generator.js';
import type { WrittenVideo } from './rollout-artifacts.js';
import type { SerialQueue } from './serial-queue.js';
import { boundAdvantages, boundReplays, failureOf, statsToWire, type BoundedAdvantages, type BoundedReplays } from './wire.js';
import { isTrainable, type ResolvedGeneratorWorkerOptions } from './worker-options.js';

/** WebSocket close codes the worker uses (the transport's: 1001 going away, 1002 protocol mismatch, 1009 too big). */
export const WORKER_CLOSE_CODES = CLOSE_CODES;

/** What a connection needs from the worker that owns it. */
export interface WorkerConnectionHost {
  readonly options: ResolvedGeneratorWorkerOptions;
  /** The one queue every generator call goes through. */
  readonly queue: SerialQueue;
  /** Whether new requests are refused. */
  isDraining(): boolean;
  helloMessage(): GeneratorWorkerMessage;
  statusMessage(id: string | null): GeneratorWorkerMessage;
  /** A rollout or update completed. */
  completed(kind: 'rollout' | 'update'): void;
  /** The served policy may have changed (update, restore): its new digest, for `status`. */
  policyChanged(digest: string | null): void;
}

/** Latent → JSON numbers; GENERATOR_FAILED if a value is not finite (JSON cannot carry it). */
function latentToWire(latent: Float32Array | null, videoId: string): number[] | null {
  if (latent === null) return null;
  const out = Array.from(latent);
  if (!out.every(Number.isFinite)) throw new VrGrpoError('GENERATOR_FAILED', `the generator produced a non-finite latent for video ${videoId}`);
  return out;
}

/** The `rollout_result` rows of a result; GENERATOR_FAILED for a latent JSON cannot carry. */
function metasOf(result: GenerateResult): { id: string; prompt: string; promptIndex: number; member: number; latent: number[] | null }[] {
  return result.videos.map((v) => ({ id: v.id, prompt: v.prompt, promptIndex: v.promptIndex, member: v.member, latent: latentToWire(v.latent, v.id) }));
}

/** The generator-worker protocol on one connection; the socket itself (heartbeat, sends, closing) is the transport's. */
export class WorkerConnection implements ConnectionHandler {
  readonly id: number;
  readonly #socket: ServerConnection;
  readonly #host: WorkerConnectionHost;
  readonly #log: Logger;
  /** Request ids waiting for or holding the generator. */
  readonly #queued = new Set<string>();
  /** Rollouts made on this connection and not yet used by an update or discarded. */
  readonly #rollouts = new Set<string>();
  /** Largest message the client said it accepts (its `hello`), in bytes; null until it says. */
  #clientMaxPayload: number | null = null;

  constructor(socket: ServerConnection, host: WorkerConnectionHost) {
    this.id = socket.id;
    this.#socket = socket;
    this.#host = host;
    this.#log = socket.log;
  }

  /** Sends the worker `hello`. */
  onOpen(): void {
    this.#send(this.#host.helloMessage());
  }

  /** Requests of this connection waiting for or holding the generator. */
  get queued(): number {
    return this.#queued.size;
  }

  /** Set once closing started or the socket closed: later messages are ignored, queued work is skipped. */
  get #closing(): boolean {
    return this.#socket.closing;
  }

  onHandlerError(error: unknown): void {
    // A bug, not the client's fault: report it and keep serving.
    this.#sendError(null, 'GENERATOR_FAILED', `internal error: ${describe(error)}`);
  }

  onClose(code: number, reason: string): void {
    this.#log.debug({ code, reason, queued: this.#queued.size, rollouts: this.#rollouts.size }, 'connection closed');
    const orphans = [...this.#rollouts];
    this.#rollouts.clear();
    const { generator } = this.#host.options;
    if (orphans.length > 0 && isTrainable(generator)) {
      // Nobody can update these any more: free their trajectories (after whatever the generator is doing now).
      this.#host.queue
        .run(async () => {
          await generator.discard(orphans);
          await this.#release(orphans);
        })
        .catch((error: unknown) => this.#log.warn({ err: describe(error), rollouts: orphans }, 'discarding orphaned rollouts failed'));
    }
  }

  // ---- sending ----

  #send(message: GeneratorWorkerMessage): void {
    this.#socket.sendJson(message);
  }

  #sendBinary(data: Uint8Array): void {
    this.#socket.sendBinary(data);
  }

  #sendError(id: string | null, code: ErrorCode, message: string): void {
    this.#send({ type: 'error', id, code, message });
  }

  // ---- receiving ----

  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#sendError(null, 'BAD_MESSAGE', 'the generator worker accepts no binary messages');
      return;
    }
    const parsed = parseGeneratorClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.#sendError(parsed.id, parsed.code, parsed.message);
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'hello':
        this.#clientMaxPayload = message.maxPayloadBytes ?? null;
        this.#onHello(message.protocol);
        return;
      case 'ping':
        this.#send({ type: 'pong', id: message.id ?? null, t: message.t ?? null });
        return;
      case 'status':
        this.#send(this.#host.statusMessage(message.id ?? null));
        return;
      case 'rollout':
        this.#admit(message.id, () => this.#rollout(message));
        return;
      case 'update':
        this.#onUpdate(message);
        return;
      case 'discard':
        this.#admit(message.id, () => this.#discard(message));
        return;
      case 'save':
        this.#admit(message.id, () => this.#save(message));
        return;
      case 'restore':
        this.#admit(message.id, () => this.#restore(message));
        return;
      default:
        assertNever(message, 'client message');
    }
  }

  #onHello(protocol: number): void {
    if (protocol === GENERATOR_PROTOCOL_VERSION) return;
    this.#sendError(null, 'PROTOCOL_MISMATCH', `worker speaks protocol ${GENERATOR_PROTOCOL_VERSION}, client announced ${protocol}`);
    this.#socket.close(WORKER_CLOSE_CODES.protocolError, 'protocol mismatch');
  }

  /** Admission control, then the request waits its turn on the generator queue; its outcome is always answered. */
  #admit(id: string, run: () => Promise<void>): void {
    if (this.#host.isDraining()) {
      this.#sendError(id, 'GENERATOR_UNAVAILABLE', 'the worker is draining and accepts no new requests; retry on another worker');
      return;
    }
    if (this.#queued.has(id)) {
      this.#sendError(id, 'INVALID_REQUEST', `id: a request with id ${JSON.stringify(id)} is still pending on this connection`);
      return;
    }
    const limit = this.#host.options.maxQueuedPerConnection;
    if (this.#queued.size >= limit) {
      this.#sendError(id, 'OVERLOADED', `${this.#queued.size} requests queued on this connection (limit ${limit}); retry later`);
      return;
    }
    this.#queued.add(id);
    this.#host.queue
      .run(async () => {
        // Skipped when the client left while the request waited (nobody would read the answer).
        if (!this.#closing) await run();
      })
      .catch((error: unknown) => {
        const failure = failureOf(error, 'request');
        if (this.#closing) {
          this.#log.debug({ id, code: failure.code }, 'request failed after the connection closed');
          return;
        }
        this.#log.info({ id, code: failure.code, err: failure.message }, 'request failed');
        this.#sendError(id, failure.code, failure.message);
      })
      .finally(() => {
        this.#queued.delete(id);
      });
  }

  /** The generator as a trainable one; INVALID_ARGUMENT when it is not. */
  #trainable(): TrainableGenerator {
    const { generator } = this.#host.options;
    if (!isTrainable(generator)) throw new VrGrpoError('INVALID_ARGUMENT', `generator ${JSON.stringify(generator.name)} is not trainable (no update/discard)`);
    return generator;
  }

  async #rollout(request: RolloutRequest): Promise<void> {
    const { generator, artifacts } = this.#host.options;
    if (request.delivery?.mode === 'reference' && artifacts === null) {
      throw new VrGrpoError('NOT_SUPPORTED', 'this worker has no artifact root: it delivers videos inline only (start it with --artifact-root)');
    }
    let result: GenerateResult;
    try {
      result = await generator.generate({
        prompts: request.prompts,
        groupSize: request.groupSize,
        seed: request.seed,
        ...(request.sampler === undefined ? {} : { sampler: request.sampler }),
        ...(request.reference === undefined ? {} : { reference: request.reference }),
      });
    } catch (error) {
      throw failureOf(error, 'rollout');
    }
    const trainable = isTrainable(generator) ? generator : null;
    if (request.delivery?.mode === 'reference') {
      await this.#sendByReference(request, result, request.delivery.judgeCopy ?? null, trainable);
      return;
    }
    if (this.#closing) {
      // The client left during the rollout: nobody can use its trajectories.
      await trainable?.discard([result.rolloutId]);
      return;
    }
    const limit = this.#clientMaxPayload;
    let frames: { header: GeneratedVideoHeader; data: Uint8Array }[];
    let metas: ReturnType<typeof metasOf>;
    try {
      const expected = request.prompts.length * request.groupSize;
      if (result.videos.length !== expected) throw new Error(`${result.videos.length} videos for ${request.prompts.length} prompts × ${request.groupSize}`);
      frames = result.videos.map((v, index) => {
        assertRawVideo(v.video);
        if (limit !== null && v.video.data.length > limit) {
          throw new Error(`video ${index} has ${v.video.data.length} bytes, more than the client's maxPayloadBytes ${limit}`);
        }
        const { width, height, frameCount, fps } = v.video;
        return {
          header: { type: 'video', id: request.id, rolloutId: result.rolloutId, index, width, height, frameCount, fps, pixelFormat: 'rgb24' },
          data: v.video.data,
        };
      });
      metas = metasOf(result);
    } catch (error) {
      await trainable?.discard([result.rolloutId]);
      throw new VrGrpoError('GENERATOR_FAILED', `rollout ${result.rolloutId} cannot be sent: ${describe(error)}`, { cause: error });
    }
    if (trainable !== null) this.#rollouts.add(result.rolloutId);
    // Each header is immediately followed by its binary message: both are queued on the socket in this one tick.
    for (const { header, data } of frames) {
      this.#send(header);
      this.#sendBinary(data);
    }
    this.#send({ type: 'rollout_result', id: request.id, rolloutId: result.rolloutId, videos: metas, timing: { ...result.timing } });
    this.#host.completed('rollout');
  }

  /** Reference delivery: the videos are written under the artifact root, and `video_ref` messages name them. */
  async #sendByReference(
    request: RolloutRequest,
    result: GenerateResult,
    judgeCopy: JudgeCopySpec | null,
    trainable: TrainableGenerator | null,
  ): Promise<void> {
    const artifacts = this.#host.options.artifacts;
    if (artifacts === null) throw new VrGrpoError('NOT_SUPPORTED', 'this worker has no artifact root');
    let written: WrittenVideo[];
    let metas: ReturnType<typeof metasOf>;
    try {
      const expected = request.prompts.length * request.groupSize;
      if (result.videos.length !== expected) throw new Error(`${result.videos.length} videos for ${request.prompts.length} prompts × ${request.groupSize}`);
      metas = metasOf(result);
      for (const v of result.videos) assertRawVideo(v.video);
      written = await artifacts.write(
        result.rolloutId,
        result.videos.map((v) => framesOf(v.video, 'reference delivery')),
        judgeCopy,
      );
    } catch (error) {
      await trainable?.discard([result.rolloutId]);
      throw new VrGrpoError(isVrGrpoError(error) ? error.code : 'GENERATOR_FAILED', `rollout ${result.rolloutId} cannot be written: ${describe(error)}`, {
        cause: error,
      });
    }
    if (this.#closing) {
      await trainable?.discard([result.rolloutId]);
      await artifacts.release([result.rolloutId]);
      return;
    }
    if (trainable !== null) this.#rollouts.add(result.rolloutId);
    result.videos.forEach((v, index) => {
      const file = written[index];
      if (file === undefined) return;
      const { width, height, frameCount, fps } = v.video;
      this.#send({ type: 'video_ref', id: request.id, rolloutId: result.rolloutId, index, width, height, frameCount, fps, ...file });
    });
    this.#send({ type: 'rollout_result', id: request.id, rolloutId: result.rolloutId, videos: metas, timing: { ...result.timing } });
    this.#host.completed('rollout');
  }

  /**
   * At the edge, before the request waits for the generator: advantages finite only (INVALID_REQUEST naming the
   * place), clipped to the configured bound (an absurd advantage would drive the policy to non-finite parameters).
   */
  #onUpdate(request: UpdateRequest): void {
    const clip = this.#host.options.advantageClip;
    let bounded: BoundedAdvantages;
    let replays: BoundedReplays;
    try {
      bounded = boundAdvantages(request.rollouts, clip);
      replays = boundReplays(request.replays ?? [], clip);
    } catch (error) {
      const failure = failureOf(error, 'update');
      this.#sendError(request.id, failure.code, failure.message);
      return;
    }
    const clipped = bounded.clipped + replays.clipped;
    if (clipped > 0) this.#log.warn({ id: request.id, clipped, advantageClip: clip }, 'update advantages clipped to the bound');
    this.#admit(request.id, () => this.#update(request.id, bounded.rollouts, replays.replays));
  }

  /** Runs an update whose advantages passed the edge (`rollouts`: the bounded copies). */
  async #update(id: string, rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[]): Promise<void> {
    const generator = this.#trainable();
    if (replays.length > 0 && generator.replays !== true) throw new VrGrpoError('NOT_SUPPORTED', "this worker cannot replay other workers' rollouts");
    const foreign = rollouts.find((r) => !this.#rollouts.has(r.rolloutId));
    if (foreign !== undefined) {
      throw new VrGrpoError(
        'INVALID_ARGUMENT',
        `unknown or expired rollout ${JSON.stringify(foreign.rolloutId)} (rollouts belong to the connection that made them and are released by update or discard)`,
        {
          details: { rolloutId: foreign.rolloutId },
        },
      );
    }
    let stats: UpdateStats;
    try {
      stats = await generator.update(rollouts, replays);
    } catch (error) {
      // A refused update (e.g. a wrong advantage count) leaves the rollouts with the generator: they stay ours.
      throw failureOf(error, 'update');
    }
    // The update used the rollouts; the generator has released their trajectories.
    for (const r of rollouts) this.#rollouts.delete(r.rolloutId);
    await this.#release(rollouts.map((r) => r.rolloutId));
    const policy = await this.#policyIdentity(generator);
    this.#send({ type: 'update_result', id, stats: statsToWire(stats), ...policy });
    this.#host.completed('update');
  }

  /** Updates and digest of the served policy now (the digest also goes to the host, for `status`). */
  async #policyIdentity(generator: TrainableGenerator): Promise<{ policyUpdates: number | null; policyDigest: string | null }> {
    const policyDigest = generator.policyDigest === undefined ? null : await generator.policyDigest();
    this.#host.policyChanged(policyDigest);
    return { policyUpdates: generator.policyUpdates === undefined ? null : generator.policyUpdates(), policyDigest };
  }

  /** Removes released rollouts' files (reference delivery); a failure is logged, never the caller's. */
  async #release(rolloutIds: readonly string[]): Promise<void> {
    const artifacts = this.#host.options.artifacts;
    if (artifacts === null || rolloutIds.length === 0) return;
    await artifacts
      .release(rolloutIds)
      .catch((error: unknown) => this.#log.warn({ err: describe(error), rolloutIds }, 'removing released rollout files failed'));
  }

  /** NOT_SUPPORTED for a generator without state calls (a worker without --state-dir). */
  #noState(): VrGrpoError {
    return new VrGrpoError('NOT_SUPPORTED', 'this worker keeps no state (start it with --state-dir to save and restore)');
  }

  async #save(request: SaveRequest): Promise<void> {
    const generator = this.#trainable();
    if (generator.saveState === undefined) throw this.#noState();
    const saved = await generator.saveState(request.tag);
    this.#send({ type: 'saved', id: request.id, tag: request.tag, ref: saved.ref, policyUpdates: saved.policyUpdates, policyDigest: saved.policyDigest });
  }

  async #restore(request: RestoreRequest): Promise<void> {
    const generator = this.#trainable();
    if (generator.restoreState === undefined) throw this.#noState();
    const restored = await generator.restoreState(request.ref);
    // Every rollout of the worker was sampled by the policy before the restore: their files go too.
    await this.#host.options.artifacts?.releaseAll().catch((error: unknown) => this.#log.warn({ err: describe(error) }, 'removing rollout files failed'));
    this.#host.policyChanged(restored.policyDigest);
    this.#send({ type: 'restored', id: request.id, ref: restored.ref, policyUpdates: restored.policyUpdates, policyDigest: restored.policyDigest });
  }

  async #discard(request: DiscardRequest): Promise<void> {
    const generator = this.#trainable();
    const owned = request.rolloutIds.filter((id) => this.#rollouts.has(id));
    if (owned.length > 0) {
      try {
        await generator.discard(owned);
      } catch (error) {
        throw failureOf(error, 'discard');
      }
    }
    for (const id of owned) this.#rollouts.delete(id);
    await this.#release(owned);
    this.#send({ type: 'discarded', id: request.id, rolloutIds: owned });
  }
}
