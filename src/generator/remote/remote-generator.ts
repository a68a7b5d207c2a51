/**
 * A `TrainableGenerator` backed by a generator worker over WebSocket (src/protocol/generator-messages.ts): `generate`
 * sends a `rollout` and assembles the videos from `video` header + binary pairs, `update` / `discard` forward the
 * trajectory handles (rollout ids) the worker keeps. Every call is bounded by a timeout, a dropped connection rejects
 * every pending call with GENERATOR_UNAVAILABLE, and `close()` is idempotent.
 */
import { silentLogger, type Logger } from '../../common/logger.js';
import { VrGrpoError } from '../../errors/index.js';
import type { VideoHandle } from '../../media/index.js';
import {
  GENERATOR_PROTOCOL_VERSION,
  parseGeneratorWorkerMessage,
  type GeneratedVideoHeader,
  type GeneratedVideoRefMessage,
  type GeneratorClientHello,
  type GeneratorWorkerMessage,
  type RolloutRequest,
  type RolloutResultMessage,
  type WorkerErrorMessage,
  type WorkerHello,
  type WorkerStatusMessage,
} from '../../protocol/generator-messages.js';
import {
  CLIENT_CLOSE_TIMEOUT_MS,
  connectClient,
  describeError,
  PendingTable,
  type ClientConnection,
  type ClientErrors,
  type HandshakeStep,
  type Settle,
} from '../../transport/index.js';
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
import { errorFromWorker, rolloutMessage, statsFromWire } from './wire.js';

/** Default time one call (rollout, update, discard, status, ping) may take, in milliseconds (5 minutes). */
export const DEFAULT_REMOTE_TIMEOUT_MS = 300_000;
/** Default time to open the socket and receive the worker `hello`, in milliseconds. */
export const DEFAULT_REMOTE_CONNECT_TIMEOUT_MS = 10_000;
/** Default largest message accepted from the worker, in bytes (256 MiB: one video of 512×512×96 RGB24 is 72 MiB). */
export const DEFAULT_REMOTE_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** How long `close()` waits for the closing handshake before dropping the socket, in milliseconds. */
export const REMOTE_CLOSE_TIMEOUT_MS = CLIENT_CLOSE_TIMEOUT_MS;

export interface RemoteGeneratorOptions {
  /** Bearer token sent as `Authorization: Bearer <token>` on the upgrade. Default: none. */
  readonly token?: string;
  /**
   * Per-call timeout, in milliseconds: a call not answered in time rejects with GENERATOR_UNAVAILABLE
   * (`details.reason = 'timeout'`). Calls queue behind each other on the worker, so this bounds waiting plus work.
   * Default: 300000.
   */
  readonly timeoutMs?: number;
  /** Time to connect and receive the worker `hello`, in milliseconds. Default: 10000. */
  readonly connectTimeoutMs?: number;
  /**
   * Largest message accepted from the worker (one video's frames), in bytes. Announced in the client `hello`, so a
   * worker fails a rollout with a larger video (GENERATOR_FAILED) instead of sending it; a larger message that arrives
   * anyway closes the connection (1009). Default: 256 MiB.
   */
  readonly maxPayloadBytes?: number;
  /** Name announced in the client `hello`. Default: `'vr-grpo-remote-generator'`. */
  readonly clientName?: string;
  /** Logger for protocol anomalies (unparseable or unexpected worker messages). Default: silent. */
  readonly log?: Logger;
}

/** What each kind of call resolves with. */
interface CallResults {
  readonly rollout: GenerateResult;
  readonly update: UpdateStats;
  readonly save: SavedGeneratorState;
  readonly restore: SavedGeneratorState;
  readonly discard: string[];
  readonly status: WorkerStatusMessage;
  readonly ping: number;
}
type CallKind = keyof CallResults;

interface PendingCallOf<K extends CallKind> extends Settle<CallResults[K]> {
  readonly kind: K;
  /** Rollouts only: videos arrive (header + binary) before the `rollout_result`, by index. */
  readonly videos: (VideoHandle | undefined)[];
}

/** A call waiting for its answer, discriminated by `kind`. */
type PendingCall = { [K in CallKind]: PendingCallOf<K> }[CallKind];

/** The binary message expected next, announced by a `video` header (`rollout` null: for a call no longer pending). */
interface ExpectedBinary {
  readonly header: GeneratedVideoHeader;
  readonly rollout: PendingCallOf<'rollout'> | null;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new VrGrpoError('INVALID_ARGUMENT', `remote generator option ${field}: expected a positive integer (got ${String(v)})`, { details: { field } });
  }
  return v;
}

function unavailable(message: string, details: Record<string, unknown>, cause?: unknown): VrGrpoError {
  return new VrGrpoError('GENERATOR_UNAVAILABLE', message, { details, cause });
}

function protocolViolation(message: string, id: string): VrGrpoError {
  return new VrGrpoError('GENERATOR_FAILED', `the worker broke the protocol: ${message}`, { details: { reason: 'protocol', id } });
}

/** The generator protocol's wording of transport failures (GENERATOR_UNAVAILABLE, UNAUTHORIZED for HTTP 401). */
function clientErrors(url: string): ClientErrors {
  return {
    handshakeTimeout: (timeoutMs) => unavailable(`no hello from the generator worker ${url} within ${timeoutMs} ms`, { reason: 'timeout', url }),
    upgradeRefused: (status) => {
      const message = `upgrade to ${url} refused with HTTP ${status}`;
      const details = { reason: 'upgrade refused', status, url };
      return status === 401 ? new VrGrpoError('UNAUTHORIZED', message, { details }) : unavailable(message, details);
    },
    connectFailed: (error) => unavailable(`cannot connect to the generator worker ${url}: ${error.message}`, { reason: 'connect failed', url }, error),
    closedBeforeHello: (code) =>
      unavailable(`connection to the generator worker ${url} closed (${code}) before hello`, { reason: 'disconnected', closeCode: code, url }),
    notOpen: (id) => unavailable(`connection to the generator worker ${url} is closed`, { reason: 'disconnected', id }),
    requestTimeout: (id, timeoutMs) => unavailable(`no answer from the generator worker to ${id} within ${timeoutMs} ms`, { reason: 'timeout', id, timeoutMs }),
    sendFailed: (id, error) => unavailable(`sending to the generator worker failed: ${error.message}`, { reason: 'disconnected', id }, error),
    invalidUrl: (error) =>
      new VrGrpoError('INVALID_ARGUMENT', `invalid generator worker URL ${JSON.stringify(url)}: ${describeError(error)}`, {
        details: { field: 'url' },
        cause: error,
      }),
  };
}

/** One handshake message: the worker hello (checked against the protocol version), a worker error, or something to ignore. */
function readHandshake(url: string, text: string): HandshakeStep<WorkerHello> {
  const parsed = parseGeneratorWorkerMessage(text);
  if (!parsed.ok) return null;
  const message = parsed.message;
  if (message.type === 'error') return { error: errorFromWorker(message) };
  if (message.type !== 'hello') return null;
  if (message.protocol !== GENERATOR_PROTOCOL_VERSION) {
    return {
      error: new VrGrpoError('PROTOCOL_MISMATCH', `generator worker speaks protocol ${message.protocol}, this client ${GENERATOR_PROTOCOL_VERSION}`, {
        details: { url },
      }),
    };
  }
  return { hello: message };
}

export class RemoteGenerator implements TrainableGenerator {
  /** `remote:<generator name announced by the worker>`. */
  readonly name: string;
  /** The worker's `hello`. */
  readonly hello: WorkerHello;
  /** Whether the worker supports `update` / `discard`. */
  readonly trainable: boolean;
  /** The socket, its handshake, timeouts and close; this class speaks the generator protocol over it. */
  readonly #connection: ClientConnection;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #pending = new PendingTable<PendingCall>();
  /** Rollout requests that timed out: if their result still arrives, the rollout is discarded on the worker. */
  readonly #abandoned = new Set<string>();
  #expected: ExpectedBinary | null = null;
  #nextId = 1;
  #policy: { readonly policyUpdates: number | null; readonly policyDigest: string | null } | null = null;
  /** Whether `update` takes replays (the worker announced `features.replay`). */
  readonly replays: boolean;
  readonly saveState?: (tag: string) => Promise<SavedGeneratorState>;
  readonly restoreState?: (ref: string) => Promise<SavedGeneratorState>;

  private constructor(url: string, connection: ClientConnection, hello: WorkerHello, log: Logger, timeoutMs: number) {
    this.#connection = connection;
    this.hello = hello;
    this.name = `remote:${hello.generator}`;
    this.trainable = hello.trainable;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
    this.replays = hello.trainable && hello.features.replay;
    if (hello.trainable && hello.features.state) {
      this.saveState = (tag) => this.#stateCall('save', { type: 'save', tag });
      this.restoreState = (ref) => this.#stateCall('restore', { type: 'restore', ref });
    }
    connection.attach({
      onMessage: (data, isBinary) => this.#onMessage(data, isBinary),
      onClose: (code, reason) => {
        this.#expected = null;
        this.#failAll(
          unavailable(`connection to the generator worker ${url} closed (${code}${reason.length > 0 ? ` ${reason}` : ''})`, {
            reason: 'disconnected',
            closeCode: code,
            url,
          }),
        );
      },
    });
  }

  /**
   * Connects to a worker at `url` (`ws://host:port`), announces protocol v1 and waits for the worker `hello`. Rejects
   * with UNAUTHORIZED (HTTP 401), PROTOCOL_MISMATCH (the worker speaks another version), INVALID_ARGUMENT (bad option or
   * URL), or GENERATOR_UNAVAILABLE (`details.reason`: 'timeout', 'connect failed', 'upgrade refused', 'disconnected').
   */
  static async connect(url: string, options: RemoteGeneratorOptions = {}): Promise<RemoteGenerator> {
    const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, DEFAULT_REMOTE_TIMEOUT_MS);
    const connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_REMOTE_CONNECT_TIMEOUT_MS);
    const maxPayload = positiveInteger('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_REMOTE_MAX_PAYLOAD_BYTES);
    const log = options.log ?? silentLogger();
    const clientHello: GeneratorClientHello = {
      type: 'hello',
      protocol: GENERATOR_PROTOCOL_VERSION,
      client: options.clientName ?? 'vr-grpo-remote-generator',
      maxPayloadBytes: maxPayload,
    };
    const { hello, connection } = await connectClient<WorkerHello>({
      url,
      ...(options.token === undefined ? {} : { token: options.token }),
      maxPayloadBytes: maxPayload,
      connectTimeoutMs,
      clientHello,
      readHandshake: (text) => readHandshake(url, text),
      errors: clientErrors(url),
      name: 'remote generator',
      log,
    });
    return new RemoteGenerator(url, connection, hello, log, timeoutMs);
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.#connection.isOpen;
  }

  /** Close code and reason once the connection closed, else null. */
  get closeInfo(): { readonly code: number; readonly reason: string } | null {
    return this.#connection.closeInfo;
  }

  /** Calls waiting for an answer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Rolls out on the worker: resolves with the videos (raw frames, `mp4Path: null`), the worker's `rolloutId` as the
   * trajectory handle, and `trajectory: null`. Rejects with INVALID_ARGUMENT for a request the protocol cannot carry
   * (including any `mp4Dir`: remote MP4 writing is not supported), the worker's code for a failure it reports
   * (GENERATOR_FAILED when it has no better one), or GENERATOR_UNAVAILABLE (timeout, connection lost).
   */
  generate(request: GenerateRequest): Promise<GenerateResult> {
    const id = this.#newId('rollout');
    let message: RolloutRequest;
    try {
      message = rolloutMessage(id, request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.#call<GenerateResult>(id, message, (settle) => ({ kind: 'rollout', ...settle, videos: [] }));
  }

  /**
   * Forwards one policy update (with replays of other workers' rollouts when the worker takes them); the worker
   * releases the rollouts' trajectories afterwards. The policy it then serves is in `lastPolicy`.
   */
  update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    if (!this.trainable) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `generator ${this.name} is not trainable`));
    if (rollouts.length === 0 && replays.length === 0) return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', 'no rollouts to update from'));
    if (replays.length > 0 && !this.replays) return Promise.reject(new VrGrpoError('NOT_SUPPORTED', `the worker behind ${this.name} takes no replays`));
    const id = this.#newId('update');
    const masked = (advantages: readonly (number | null)[]): (number | null)[] => advantages.map((a) => (a !== null && Number.isFinite(a) ? a : null));
    const message = {
      type: 'update',
      id,
      rollouts: rollouts.map((r) => ({ rolloutId: r.rolloutId, advantages: masked(r.advantages), ...(r.order === undefined ? {} : { order: r.order }) })),
      ...(replays.length === 0
        ? {}
        : {
            replays: replays.map((r) => ({
              prompts: [...r.prompts],
              groupSize: r.groupSize,
              seed: r.seed,
              ...(r.sampler === undefined ? {} : { sampler: r.sampler }),
              advantages: masked(r.advantages),
              ...(r.order === undefined ? {} : { order: r.order }),
            })),
          }),
    };
    return this.#call<UpdateStats>(id, message, (settle) => ({ kind: 'update', ...settle, videos: [] }));
  }

  /** Updates and digest of the policy the worker served after the last update, save or restore; null before any. */
  get lastPolicy(): { readonly policyUpdates: number | null; readonly policyDigest: string | null } | null {
    return this.#policy;
  }

  /** The worker's policy digest now (from `status`); NOT_SUPPORTED when the worker computes none. */
  async policyDigest(): Promise<string> {
    const digest = (await this.status()).policyDigest;
    if (digest === null) throw new VrGrpoError('NOT_SUPPORTED', `the worker behind ${this.name} reports no policy digest`);
    return digest;
  }

  async #stateCall(kind: 'save' | 'restore', body: { type: 'save'; tag: string } | { type: 'restore'; ref: string }): Promise<SavedGeneratorState> {
    const id = this.#newId(kind);
    const state = await this.#call<SavedGeneratorState>(id, { ...body, id }, (settle) => ({ kind, ...settle, videos: [] }));
    this.#policy = { policyUpdates: state.policyUpdates, policyDigest: state.policyDigest };
    return state;
  }

  /** Forgets rollouts on the worker (ids it does not hold for this connection are ignored). */
  async discard(rolloutIds: readonly string[]): Promise<void> {
    if (rolloutIds.length === 0 || !this.trainable) return;
    const id = this.#newId('discard');
    await this.#call<string[]>(id, { type: 'discard', id, rolloutIds: [...rolloutIds] }, (settle) => ({ kind: 'discard', ...settle, videos: [] }));
  }

  /** The worker's status (state, queue length, connections, counts). */
  status(): Promise<WorkerStatusMessage> {
    const id = this.#newId('status');
    return this.#call<WorkerStatusMessage>(id, { type: 'status', id }, (settle) => ({ kind: 'status', ...settle, videos: [] }));
  }

  /** Round trip of a protocol `ping`, in milliseconds (answered at once, even while the generator is busy). */
  async ping(): Promise<number> {
    const id = this.#newId('ping');
    const started = performance.now();
    await this.#call<number>(id, { type: 'ping', id, t: Date.now() }, (settle) => ({ kind: 'ping', ...settle, videos: [] }));
    return performance.now() - started;
  }

  /** Closes the connection (1000); pending calls reject with GENERATOR_UNAVAILABLE. Idempotent; never rejects. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  // ---- internals ----

  #newId(prefix: string): string {
    const id = `${prefix}-${this.#nextId}`;
    this.#nextId += 1;
    return id;
  }

  /** Sends `message` and registers the call `make` builds; rejects with GENERATOR_UNAVAILABLE on timeout or send failure. */
  #call<T>(id: string, message: object, make: (settle: Settle<T>) => PendingCall): Promise<T> {
    // A late result of a rollout that timed out is then discarded on the worker; its videos are dropped as they arrive.
    return this.#connection.request<T, PendingCall>(this.#pending, id, message, this.#timeoutMs, make, (pending) => {
      if (pending.kind === 'rollout') this.#abandoned.add(id);
    });
  }

  /** Removes a pending call (clearing its timer) and returns it. */
  #take(id: string): PendingCall | undefined {
    return this.#pending.take(id);
  }

  /**
   * Takes the call an answer of `type` is for. Returns it when it is of `kind`; a call of another kind is failed (the
   * worker answered the wrong thing) and undefined returned, as for an answer to no pending call (e.g. timed out).
   */
  #answered(id: string, kind: CallKind, type: string): PendingCall | undefined {
    const pending = this.#take(id);
    if (pending === undefined) {
      this.#log.debug({ id, type }, 'remote generator: answer for no pending call (timed out?)');
      return undefined;
    }
    if (pending.kind !== kind) {
      pending.reject(protocolViolation(`answered ${pending.kind} request ${id} with ${type}`, id));
      return undefined;
    }
    return pending;
  }

  #onMessage(buffer: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#onBinary(buffer);
      return;
    }
    const expected = this.#expected;
    if (expected !== null) {
      // A header promised a binary message next; this text message breaks that promise.
      this.#expected = null;
      this.#failRollout(
        expected.header.id,
        `video ${expected.header.index} of ${expected.header.id}: expected its binary message right after the header, got a text message`,
      );
    }
    const parsed = parseGeneratorWorkerMessage(buffer.toString('utf8'));
    if (!parsed.ok) {
      this.#log.warn({ code: parsed.code, err: parsed.message }, 'remote generator: unparseable worker message');
      if (parsed.id !== null) this.#take(parsed.id)?.reject(protocolViolation(`unparseable answer (${parsed.code}: ${parsed.message})`, parsed.id));
      return;
    }
    this.#dispatch(parsed.message);
  }

  #dispatch(message: GeneratorWorkerMessage): void {
    switch (message.type) {
      case 'video':
        this.#onVideoHeader(message);
        return;
      case 'rollout_result':
        this.#onRolloutResult(message);
        return;
      case 'update_result': {
        const pending = this.#answered(message.id, 'update', message.type);
        if (pending?.kind === 'update') {
          this.#policy = { policyUpdates: message.policyUpdates, policyDigest: message.policyDigest };
          pending.resolve(statsFromWire(message.stats));
        }
        return;
      }
      case 'saved':
      case 'restored': {
        const kind = message.type === 'saved' ? 'save' : 'restore';
        const pending = this.#answered(message.id, kind, message.type);
        if (pending?.kind === kind) pending.resolve({ ref: message.ref, policyUpdates: message.policyUpdates, policyDigest: message.policyDigest });
        return;
      }
      case 'video_ref':
        this.#onVideoRef(message);
        return;
      case 'discarded': {
        const pending = this.#answered(message.id, 'discard', message.type);
        if (pending?.kind === 'discard') pending.resolve(message.rolloutIds);
        return;
      }
      case 'status': {
        const pending = message.id === null ? undefined : this.#answered(message.id, 'status', message.type);
        if (pending?.kind === 'status') pending.resolve(message);
        return;
      }
      case 'pong': {
        const pending = message.id === null ? undefined : this.#answered(message.id, 'ping', message.type);
        if (pending?.kind === 'ping') pending.resolve(0);
        return;
      }
      case 'error':
        this.#onError(message);
        return;
      case 'hello':
        return;
      default: {
        const unexpected: never = message;
        this.#log.warn({ message: unexpected }, 'remote generator: unexpected message');
      }
    }
  }

  /** A video by reference: its `file:` URI and format take the place of the frames. */
  #onVideoRef(message: GeneratedVideoRefMessage): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    if (pending.kind !== 'rollout') {
      this.#take(message.id)?.reject(protocolViolation(`sent a video_ref for ${pending.kind} request ${message.id}`, message.id));
      return;
    }
    const uris = [message.uri, ...(message.judge === null ? [] : [message.judge.uri])];
    if (!uris.every((uri) => uri.startsWith('file:'))) {
      this.#failRollout(message.id, `video ${message.index} of ${message.id}: a video_ref must name a file: URI`);
      return;
    }
    if (pending.videos[message.index] !== undefined) {
      this.#failRollout(message.id, `video ${message.index} of ${message.id} was sent twice`);
      return;
    }
    const { uri, width, height, frameCount, fps, bytes, judge } = message;
    pending.videos[message.index] = { uri, width, height, frameCount, fps, bytes, judge };
  }

  #onVideoHeader(header: GeneratedVideoHeader): void {
    const pending = this.#pending.get(header.id);
    if (pending?.kind === 'rollout') {
      this.#expected = { header, rollout: pending };
      return;
    }
    if (pending !== undefined) {
      this.#take(header.id)?.reject(protocolViolation(`sent a video for ${pending.kind} request ${header.id}`, header.id));
    }
    // For a call that timed out (or never existed): its binary is dropped.
    this.#expected = { header, rollout: null };
  }

  #onBinary(buffer: Buffer): void {
    const expected = this.#expected;
    this.#expected = null;
    if (expected === null) {
      this.#log.warn({ bytes: buffer.length }, 'remote generator: binary message without a video header (BAD_MESSAGE)');
      return;
    }
    const { header, rollout } = expected;
    if (rollout === null || this.#pending.get(header.id) !== rollout) return;
    const bytes = header.width * header.height * 3 * header.frameCount;
    if (buffer.length !== bytes) {
      this.#failRollout(header.id, `video ${header.index} of ${header.id}: expected width·height·3·frameCount = ${bytes} bytes, got ${buffer.length}`);
      return;
    }
    if (rollout.videos[header.index] !== undefined) {
      this.#failRollout(header.id, `video ${header.index} of ${header.id} was sent twice`);
      return;
    }
    // A copy: the socket's buffer may be a view into a larger one that is reused.
    rollout.videos[header.index] = { width: header.width, height: header.height, frameCount: header.frameCount, fps: header.fps, data: new Uint8Array(buffer) };
  }

  #onRolloutResult(message: RolloutResultMessage): void {
    if (this.#abandoned.delete(message.id)) {
      // The call timed out but the worker finished: free the trajectories it keeps for us.
      this.#log.info({ id: message.id, rolloutId: message.rolloutId }, 'remote generator: late rollout result; discarding it on the worker');
      const id = this.#newId('discard');
      this.#connection.sendJson({ type: 'discard', id, rolloutIds: [message.rolloutId] });
      return;
    }
    const pending = this.#answered(message.id, 'rollout', message.type);
    if (pending?.kind !== 'rollout') return;
    const videos: GeneratedVideo[] = [];
    for (const [index, meta] of message.videos.entries()) {
      const video = pending.videos[index];
      if (video === undefined) {
        pending.reject(protocolViolation(`rollout_result ${message.id} lists ${message.videos.length} videos but video ${index} never arrived`, message.id));
        return;
      }
      videos.push({
        id: meta.id,
        prompt: meta.prompt,
        promptIndex: meta.promptIndex,
        member: meta.member,
        video,
        latent: meta.latent === null ? null : Float32Array.from(meta.latent),
        mp4Path: null,
      });
    }
    if (pending.videos.length > message.videos.length) {
      pending.reject(protocolViolation(`rollout_result ${message.id} lists ${message.videos.length} videos but ${pending.videos.length} arrived`, message.id));
      return;
    }
    pending.resolve({ rolloutId: message.rolloutId, videos, trajectory: null, timing: { ...message.timing } });
  }

  #failRollout(id: string, reason: string): void {
    this.#take(id)?.reject(protocolViolation(reason, id));
  }

  #onError(message: WorkerErrorMessage): void {
    if (message.id !== null) {
      if (this.#abandoned.delete(message.id)) return;
      const pending = this.#take(message.id);
      if (pending !== undefined) {
        pending.reject(errorFromWorker(message));
        return;
      }
    }
    this.#log.warn({ code: message.code, id: message.id, err: message.message }, 'remote generator: worker error not matched to a call');
  }

  #failAll(error: VrGrpoError): void {
    this.#pending.rejectAll(error);
    this.#abandoned.clear();
  }
}
