/**
 * One client connection of the generator worker: parses what arrives, answers `ping` / `status` at once, and puts
 * rollout / update / discard requests on the worker's single generator queue. Every failure is answered with an
 * `error` message and the socket stays open (except a protocol mismatch: close 1002). Rollouts belong to the
 * connection that made them and are discarded when it closes. Nothing a client sends can throw out of here.
 */
import type { Logger } from '../../common/logger.js';
import { assertNever, VrGrpoError, type ErrorCode } from '../../errors/index.js';
import { assertRawVideo } from '../../media/index.js';
import {
  GENERATOR_PROTOCOL_VERSION,
  parseGeneratorClientMessage,
  type DiscardRequest,
  type GeneratedVideoHeader,
  type GeneratorWorkerMessage,
  type RolloutRequest,
  type UpdateRequest,
} from '../../protocol/generator-messages.js';
import { CLOSE_CODES, describeError as describe, type ConnectionHandler, type ServerConnection } from '../../transport/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateResult, RolloutAdvantages, TrainableGenerator } from '../generator.js';
import type { SerialQueue } from './serial-queue.js';
import { boundAdvantages, failureOf, statsToWire, type BoundedAdvantages } from './wire.js';
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
}

/** Latent → JSON numbers; GENERATOR_FAILED if a value is not finite (JSON cannot carry it). */
function latentToWire(latent: Float32Array | null, videoId: string): number[] | null {
  if (latent === null) return null;
  const out = Array.from(latent);
  if (!out.every(Number.isFinite)) throw new VrGrpoError('GENERATOR_FAILED', `the generator produced a non-finite latent for video ${videoId}`);
  return out;
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
        .run(() => generator.discard(orphans))
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
    const { generator } = this.#host.options;
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
    if (this.#closing) {
      // The client left during the rollout: nobody can use its trajectories.
      await trainable?.discard([result.rolloutId]);
      return;
    }
    const limit = this.#clientMaxPayload;
    let frames: { header: GeneratedVideoHeader; data: Uint8Array }[];
    let metas: { id: string; prompt: string; promptIndex: number; member: number; latent: number[] | null }[];
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
      metas = result.videos.map((v) => ({ id: v.id, prompt: v.prompt, promptIndex: v.promptIndex, member: v.member, latent: latentToWire(v.latent, v.id) }));
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

  /**
   * At the edge, before the request waits for the generator: advantages finite only (INVALID_REQUEST naming the
   * place), clipped to the configured bound (an absurd advantage would drive the policy to non-finite parameters).
   */
  #onUpdate(request: UpdateRequest): void {
    const clip = this.#host.options.advantageClip;
    let bounded: BoundedAdvantages;
    try {
      bounded = boundAdvantages(request.rollouts, clip);
    } catch (error) {
      const failure = failureOf(error, 'update');
      this.#sendError(request.id, failure.code, failure.message);
      return;
    }
    if (bounded.clipped > 0) this.#log.warn({ id: request.id, clipped: bounded.clipped, advantageClip: clip }, 'update advantages clipped to the bound');
    this.#admit(request.id, () => this.#update(request.id, bounded.rollouts));
  }

  /** Runs an update whose advantages passed the edge (`rollouts`: the bounded copies). */
  async #update(id: string, rollouts: readonly RolloutAdvantages[]): Promise<void> {
    const generator = this.#trainable();
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
      stats = await generator.update(rollouts);
    } catch (error) {
      // A refused update (e.g. a wrong advantage count) leaves the rollouts with the generator: they stay ours.
      throw failureOf(error, 'update');
    }
    // The update used the rollouts; the generator has released their trajectories.
    for (const r of rollouts) this.#rollouts.delete(r.rolloutId);
    this.#send({ type: 'update_result', id, stats: statsToWire(stats) });
    this.#host.completed('update');
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
    this.#send({ type: 'discarded', id: request.id, rolloutIds: owned });
  }
}
