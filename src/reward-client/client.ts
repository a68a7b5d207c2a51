/**
 * A single-connection client of the reward server: connects (optionally with a bearer token), waits for the server
 * `hello`, then sends judge/status/ping requests and inline videos, matching answers to requests by id. Used by
 * `vr-grpo judge --server` and tests; the coordinator's pooled client builds on the same protocol.
 */
import { silentLogger, type Logger } from '../common/logger.js';
import { ALL_ERROR_CODES, VrGrpoError, type ErrorCode } from '../errors/index.js';
import { assertRawVideo, type RawVideo } from '../media/index.js';
import {
  PROTOCOL_VERSION,
  parseServerMessage,
  type CheckpointStatusMessage,
  type CheckpointSwappedMessage,
  type ErrorMessage,
  type JudgeRequest,
  type ServerMessage,
  type Turn,
  type VerdictMessage,
  type VersionChangedMessage,
} from '../protocol/index.js';
import {
  CLIENT_CLOSE_TIMEOUT_MS as TRANSPORT_CLIENT_CLOSE_TIMEOUT_MS,
  connectClient,
  describeError,
  PendingTable,
  type ClientConnection,
  type ClientErrors,
  type HandshakeStep,
  type Settle,
} from '../transport/index.js';

/** Default time to open the socket and receive the server `hello`, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default time one request (judge, status, ping, inline video) may take, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** How long `close()` waits for the closing handshake before dropping the socket, in milliseconds. */
export const CLIENT_CLOSE_TIMEOUT_MS = TRANSPORT_CLIENT_CLOSE_TIMEOUT_MS;

export interface RewardClientOptions {
  /** Bearer token sent as `Authorization: Bearer <token>` on the upgrade. Default: none. */
  readonly token?: string;
  /** Per-request timeout, in milliseconds: a request not answered in time rejects with JUDGE_FAILED (`details.reason = 'timeout'`). Default: 120000. */
  readonly timeoutMs?: number;
  /** Time to connect and receive the server `hello`, in milliseconds. Default: 10000. */
  readonly connectTimeoutMs?: number;
  /** Name announced in the client `hello`. Default: `'vr-grpo-client'`. */
  readonly clientName?: string;
  /** Logger for protocol anomalies (unparseable or unexpected server messages). Default: silent. */
  readonly log?: Logger;
  /** Called when the server announces that new judgments start on another judge version (`version_changed`). */
  readonly onVersionChange?: (change: VersionChange) => void;
}

/** A `version_changed` notification: the version new judgments start on, the one before, why, and when (ISO 8601). */
export type VersionChange = Omit<VersionChangedMessage, 'type'>;

/** Options of the admin calls. */
export interface AdminCallOptions {
  /** The server's admin token; without it (or with a wrong one) the server answers ADMIN_FORBIDDEN. */
  readonly adminToken?: string;
  /** Overrides the client's per-request timeout, in milliseconds (a load runs its canary first). */
  readonly timeoutMs?: number;
}

/** What `loadCheckpoint` loads: a checkpoint folder on the server (embedded), or a VLM model name and/or endpoint. */
export type CheckpointToLoad = { readonly checkpoint: string } | { readonly model?: string; readonly baseUrl?: string; readonly rmVersion?: string };

export interface JudgeCallOptions {
  /** Called for each streamed turn (set `options.stream` in the request to get any). */
  readonly onTurn?: (turn: Turn) => void;
  /** Overrides the client's per-request timeout, in milliseconds. */
  readonly timeoutMs?: number;
}

export type ServerHello = Extract<ServerMessage, { type: 'hello' }>;
export type StatusMessage = Extract<ServerMessage, { type: 'status' }>;
type AdminAnswer = CheckpointSwappedMessage | CheckpointStatusMessage;

type Pending<T> = Settle<T>;

interface PendingJudge extends Pending<VerdictMessage> {
  readonly onTurn: ((turn: Turn) => void) | undefined;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new VrGrpoError('INVALID_ARGUMENT', `reward client option ${field}: expected a positive integer of milliseconds (got ${String(v)})`, {
      details: { field },
    });
  }
  return v;
}

function toErrorCode(code: string): ErrorCode {
  return (ALL_ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'JUDGE_FAILED';
}

/** The VrGrpoError for a server `error` message (an unknown code becomes JUDGE_FAILED, keeping the original in details). */
export function errorFromServer(message: ErrorMessage): VrGrpoError {
  return new VrGrpoError(toErrorCode(message.code), message.message, { details: { id: message.id, serverCode: message.code } });
}

/** The judge protocol's wording of transport failures (JUDGE_FAILED unless the HTTP status says more). */
function clientErrors(url: string): ClientErrors {
  return {
    handshakeTimeout: (timeoutMs) => new VrGrpoError('JUDGE_FAILED', `no hello from ${url} within ${timeoutMs} ms`, { details: { reason: 'timeout', url } }),
    upgradeRefused: (status) => {
      const code: ErrorCode = status === 401 ? 'UNAUTHORIZED' : status === 503 ? 'SHUTTING_DOWN' : 'JUDGE_FAILED';
      return new VrGrpoError(code, `upgrade to ${url} refused with HTTP ${status}`, { details: { reason: 'upgrade refused', status, url } });
    },
    connectFailed: (error) =>
      new VrGrpoError('JUDGE_FAILED', `cannot connect to ${url}: ${error.message}`, { details: { reason: 'connect failed', url }, cause: error }),
    closedBeforeHello: (code) =>
      new VrGrpoError('JUDGE_FAILED', `connection to ${url} closed (${code}) before hello`, { details: { reason: 'disconnected', closeCode: code, url } }),
    notOpen: (id) => new VrGrpoError('JUDGE_FAILED', 'connection is closed', { details: { reason: 'disconnected', id } }),
    requestTimeout: (id, timeoutMs) =>
      new VrGrpoError('JUDGE_FAILED', `no answer to ${JSON.stringify(id)} within ${timeoutMs} ms`, { details: { reason: 'timeout', id, timeoutMs } }),
    sendFailed: (id, error) => new VrGrpoError('JUDGE_FAILED', `send failed: ${error.message}`, { details: { reason: 'disconnected', id }, cause: error }),
  };
}

/** One handshake message: the server hello (checked against PROTOCOL_VERSION), a server error, or something to ignore. */
function readHandshake(url: string, text: string): HandshakeStep<ServerHello> {
  const parsed = parseServerMessage(text);
  if (!parsed.ok) return null;
  const message = parsed.message;
  if (message.type === 'error') return { error: errorFromServer(message) };
  if (message.type !== 'hello') return null;
  if (message.protocol !== PROTOCOL_VERSION)
    return { error: new VrGrpoError('PROTOCOL_MISMATCH', `server speaks protocol ${message.protocol}, this client ${PROTOCOL_VERSION}`, { details: { url } }) };
  return { hello: message };
}

export class RewardServerClient {
  /** The server's `hello`: protocol, rmVersion, backend, limits. */
  readonly hello: ServerHello;
  /** The socket, its handshake, timeouts and close; this class speaks the judge protocol over it. */
  readonly #connection: ClientConnection;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #judges = new PendingTable<PendingJudge>();
  readonly #videos = new PendingTable<Pending<number>>();
  readonly #statuses = new PendingTable<Pending<StatusMessage>>();
  readonly #pings = new PendingTable<Pending<number>>();
  readonly #admin = new PendingTable<Pending<AdminAnswer>>();
  readonly #onVersionChange: ((change: VersionChange) => void) | undefined;
  #rmVersion: string;
  #nextId = 1;

  private constructor(
    connection: ClientConnection,
    hello: ServerHello,
    log: Logger,
    timeoutMs: number,
    onVersionChange: ((change: VersionChange) => void) | undefined,
  ) {
    this.#connection = connection;
    this.hello = hello;
    this.#rmVersion = hello.rmVersion;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
    this.#onVersionChange = onVersionChange;
    // Messages that arrived right behind the hello (e.g. a version_changed in the same TCP segment) come first.
    connection.attach({
      onMessage: (data, isBinary) => this.#onMessage(data, isBinary),
      onClose: (code, reason) => {
        this.#failAll(
          new VrGrpoError('JUDGE_FAILED', `connection closed (${code}${reason.length > 0 ? ` ${reason}` : ''})`, {
            details: { reason: 'disconnected', closeCode: code },
          }),
        );
      },
    });
  }

  /**
   * Connects to `url` (`ws://host:port`), announces the protocol version (PROTOCOL_VERSION) and waits for the server `hello`. Rejects with
   * UNAUTHORIZED (HTTP 401), SHUTTING_DOWN (HTTP 503), PROTOCOL_MISMATCH (the server speaks another version), or
   * JUDGE_FAILED (`details.reason`: 'timeout', 'connect failed', 'disconnected').
   */
  static async connect(url: string, options: RewardClientOptions = {}): Promise<RewardServerClient> {
    const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    const connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    const log = options.log ?? silentLogger();
    const { hello, connection } = await connectClient<ServerHello>({
      url,
      ...(options.token === undefined ? {} : { token: options.token }),
      connectTimeoutMs,
      clientHello: { type: 'hello', protocol: PROTOCOL_VERSION, client: options.clientName ?? 'vr-grpo-client' },
      readHandshake: (text) => readHandshake(url, text),
      errors: clientErrors(url),
      name: 'reward client',
      log,
    });
    return new RewardServerClient(connection, hello, log, timeoutMs, options.onVersionChange);
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.#connection.isOpen;
  }

  /** Close code and reason once the connection closed, else null. */
  get closeInfo(): { readonly code: number; readonly reason: string } | null {
    return this.#connection.closeInfo;
  }

  /** Requests in flight (judgments, inline videos, status, ping and admin commands). */
  get pendingCount(): number {
    return this.#judges.size + this.#videos.size + this.#statuses.size + this.#pings.size + this.#admin.size;
  }

  /** The version new judgments on this server start on: the hello's, then the latest `version_changed`. */
  get rmVersion(): string {
    return this.#rmVersion;
  }

  /**
   * Sends a judge request and resolves with its verdict; streamed turns go to `onTurn`. Rejects with a VrGrpoError
   * carrying the server's code, DUPLICATE_ID (locally) when `request.id` is already pending on this client, or
   * JUDGE_FAILED with `details.reason` 'timeout' / 'disconnected'.
   */
  judge(request: Omit<JudgeRequest, 'type'>, options: JudgeCallOptions = {}): Promise<VerdictMessage> {
    if (this.#judges.has(request.id)) {
      return Promise.reject(
        new VrGrpoError('DUPLICATE_ID', `a judge request with id ${JSON.stringify(request.id)} is already pending on this client`, {
          details: { id: request.id },
        }),
      );
    }
    return this.#request<VerdictMessage>(this.#judges, request.id, { ...request, type: 'judge' }, options.timeoutMs, (pending) => ({
      ...pending,
      onTurn: options.onTurn,
    }));
  }

  /**
   * Sends `video` as an inline video under `ref` (a `video` header, then the raw RGB24 frames as one binary message)
   * and resolves with the byte count the server acknowledged. Server refusals (INVALID_REQUEST, OVERLOADED) reject
   * with their code. The video is then usable once, as `{ inline: ref }`, by a judge request on this connection.
   */
  sendInlineVideo(ref: string, video: RawVideo): Promise<number> {
    try {
      assertRawVideo(video);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.#videos.has(ref)) {
      return Promise.reject(new VrGrpoError('INVALID_ARGUMENT', `an inline video ${JSON.stringify(ref)} is already being sent`, { details: { ref } }));
    }
    const header = { type: 'video', ref, width: video.width, height: video.height, frameCount: video.frameCount, pixelFormat: 'rgb24', fps: video.fps };
    const sent = this.#request<number>(this.#videos, ref, header, undefined, (pending) => pending);
    this.#connection.sendBinary(video.data);
    return sent;
  }

  /** The server's status (state, rmVersion, in-flight judgments, connections, judgments done). */
  status(): Promise<StatusMessage> {
    const id = this.#newId('status');
    return this.#request<StatusMessage>(this.#statuses, id, { type: 'status', id }, undefined, (pending) => pending);
  }

  /** Round trip of a protocol `ping`, in milliseconds. */
  async ping(): Promise<number> {
    const id = this.#newId('ping');
    const started = performance.now();
    await this.#request<number>(this.#pings, id, { type: 'ping', id, t: Date.now() }, undefined, (pending) => pending);
    return performance.now() - started;
  }

  /**
   * Admin: loads a checkpoint on the server, validates it and switches to it; resolves with the `checkpoint_swapped`
   * answer. Rejects with the server's code: ADMIN_FORBIDDEN, SWAP_IN_PROGRESS, CHECKPOINT_NOT_FOUND, MODEL_INVALID,
   * CHECKPOINT_INVALID, CANARY_FAILED, CHECKPOINT_REJECTED, … `checkpoint` is a path on the server's filesystem.
   */
  loadCheckpoint(what: CheckpointToLoad, options: AdminCallOptions & { readonly agreementFloor?: number | null } = {}): Promise<CheckpointSwappedMessage> {
    const id = this.#newId('load');
    const message = {
      type: 'load_checkpoint',
      id,
      ...what,
      ...adminField(options),
      ...(options.agreementFloor === undefined ? {} : { agreementFloor: options.agreementFloor }),
    };
    return this.#request<AdminAnswer>(this.#admin, id, message, options.timeoutMs, (pending) => pending).then((answer) =>
      expectAnswer(answer, 'checkpoint_swapped'),
    );
  }

  /** Admin: switches the server back to its previous version. CHECKPOINT_NOT_FOUND when it has none. */
  rollback(options: AdminCallOptions = {}): Promise<CheckpointSwappedMessage> {
    const id = this.#newId('rollback');
    return this.#request<AdminAnswer>(this.#admin, id, { type: 'rollback', id, ...adminField(options) }, options.timeoutMs, (pending) => pending).then(
      (answer) => expectAnswer(answer, 'checkpoint_swapped'),
    );
  }

  /** Admin: the server's checkpoint state (current, previous, loading, swaps, rejections, watch). */
  checkpointStatus(options: AdminCallOptions = {}): Promise<CheckpointStatusMessage> {
    const id = this.#newId('ckpt-status');
    return this.#request<AdminAnswer>(this.#admin, id, { type: 'checkpoint_status', id, ...adminField(options) }, options.timeoutMs, (pending) => pending).then(
      (answer) => expectAnswer(answer, 'checkpoint_status'),
    );
  }

  /** Closes the connection (1000); pending requests reject with JUDGE_FAILED `disconnected`. Idempotent. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  // ---- internals ----

  #newId(prefix: string): string {
    const id = `${prefix}-${this.#nextId}`;
    this.#nextId += 1;
    return id;
  }

  #request<T, P extends Pending<T> = Pending<T>>(
    table: PendingTable<P>,
    key: string,
    message: object,
    timeoutMs: number | undefined,
    entry: (pending: Pending<T>) => P,
  ): Promise<T> {
    return this.#connection.request<T, P>(table, key, message, timeoutMs ?? this.#timeoutMs, entry);
  }

  #settle<T>(table: PendingTable<Pending<T>>, key: string): Pending<T> | undefined {
    return table.take(key);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#log.warn('reward client: unexpected binary message from the server');
      return;
    }
    const parsed = parseServerMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.#log.warn({ code: parsed.code, err: parsed.message }, 'reward client: unparseable server message');
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'verdict':
        this.#settle(this.#judges, message.id)?.resolve(message);
        return;
      case 'turn': {
        const onTurn = this.#judges.get(message.id)?.onTurn;
        if (onTurn !== undefined) onTurn(message.turn);
        return;
      }
      case 'video_received':
        this.#settle(this.#videos, message.ref)?.resolve(message.bytes);
        return;
      case 'status':
        if (message.id !== null) this.#settle(this.#statuses, message.id)?.resolve(message);
        return;
      case 'pong':
        if (message.id !== null) this.#settle(this.#pings, message.id)?.resolve(0);
        return;
      case 'error':
        this.#onError(message);
        return;
      case 'checkpoint_swapped':
      case 'checkpoint_status':
        this.#settle(this.#admin, message.id)?.resolve(message);
        return;
      case 'version_changed':
        this.#onVersionChanged(message);
        return;
      case 'hello':
        return;
      default: {
        const unexpected: never = message;
        this.#log.warn({ message: unexpected }, 'reward client: unexpected message');
      }
    }
  }

  #onVersionChanged(message: VersionChangedMessage): void {
    this.#rmVersion = message.rmVersion;
    const { type: _type, ...change } = message;
    try {
      this.#onVersionChange?.(change);
    } catch (error) {
      this.#log.error({ err: describeError(error) }, 'reward client: onVersionChange failed');
    }
  }

  #onError(message: ErrorMessage): void {
    const error = errorFromServer(message);
    if (message.id !== null) {
      // Judge errors carry the request id; inline-video errors carry the video's ref.
      const pending =
        this.#settle(this.#judges, message.id) ??
        this.#settle(this.#videos, message.id) ??
        this.#settle(this.#statuses, message.id) ??
        this.#settle(this.#pings, message.id) ??
        this.#settle(this.#admin, message.id);
      if (pending !== undefined) {
        pending.reject(error);
        return;
      }
    }
    this.#log.warn({ code: message.code, id: message.id, err: message.message }, 'reward client: server error not matched to a request');
  }

  #failAll(error: VrGrpoError): void {
    for (const table of [this.#judges, this.#videos, this.#statuses, this.#pings, this.#admin]) table.rejectAll(error);
  }
}

function adminField(options: AdminCallOptions): { adminToken?: string } {
  return options.adminToken === undefined ? {} : { adminToken: options.adminToken };
}

function expectAnswer<T extends AdminAnswer['type']>(answer: AdminAnswer, type: T): Extract<AdminAnswer, { type: T }> {
  if (answer.type !== type)
    throw new VrGrpoError('JUDGE_FAILED', `expected a ${type} answer, got ${answer.type}`, { details: { reason: 'unexpected answer' } });
  return answer as Extract<AdminAnswer, { type: T }>;
}
