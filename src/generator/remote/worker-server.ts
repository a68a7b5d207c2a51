/**
 * The generator worker: one HTTP server that upgrades authorised requests to WebSocket connections speaking the
 * generator-worker protocol (src/protocol/generator-messages.ts) and answers `GET /healthz`. Every generator call of
 * every connection goes through one FIFO queue. Lifecycle: starting → running → draining → closed; `close()` lets
 * accepted requests finish (up to `drainTimeoutMs`), closes every socket and the listener.
 */
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../common/logger.js';
import { VrGrpoError } from '../../errors/index.js';
import { GENERATOR_PROTOCOL_VERSION, type GeneratorWorkerMessage } from '../../protocol/generator-messages.js';
import { SerialQueue } from './serial-queue.js';
import { WORKER_CLOSE_CODES, WorkerConnection, type WorkerConnectionHost } from './worker-connection.js';
import { bearerChecker, handleHealthRequest, refuseUpgrade } from '../../common/http.js';
import type { WorkerHealthBody } from './worker-health.js';
import { compileGeneratorWorkerOptions, type GeneratorWorkerOptions, type ResolvedGeneratorWorkerOptions } from './worker-options.js';

/** Lifecycle of a worker. Only `running` accepts connections and requests; `draining` finishes what was accepted. */
export type GeneratorWorkerState = 'starting' | 'running' | 'draining' | 'closed';

const TRANSITIONS: Readonly<Record<GeneratorWorkerState, readonly GeneratorWorkerState[]>> = {
  starting: ['running', 'closed'],
  running: ['draining'],
  draining: ['closed'],
  closed: [],
};

/** How long closing sockets may take their closing handshake before they are terminated, in milliseconds. */
export const WORKER_CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/** Waits for `promise` at most `ms`; true when it settled in time. The timer never outlives the call. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class GeneratorWorkerServer {
  /** The compiled, frozen options. */
  readonly options: ResolvedGeneratorWorkerOptions;
  readonly #log: Logger;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #authorized: (request: IncomingMessage) => boolean;
  readonly #queue = new SerialQueue();
  readonly #host: WorkerConnectionHost;
  readonly #connections = new Set<WorkerConnection>();
  #state: GeneratorWorkerState = 'starting';
  #port = 0;
  #nextConnectionId = 1;
  #rollouts = 0;
  #updates = 0;
  #heartbeat: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => undefined;

  private constructor(options: ResolvedGeneratorWorkerOptions) {
    this.options = options;
    this.#log = options.log.child({ component: 'generator-worker' });
    this.#authorized = bearerChecker(options.token);
    this.#host = {
      options,
      queue: this.#queue,
      isDraining: () => this.#state !== 'running',
      helloMessage: () => this.#hello(),
      statusMessage: (id) => this.#status(id),
      completed: (kind) => {
        if (kind === 'rollout') this.#rollouts += 1;
        else this.#updates += 1;
      },
      connectionClosed: (connection) => {
        this.#connections.delete(connection);
      },
    };
    this.#closed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, clientTracking: false, perMessageDeflate: false });
    this.#wss.on('error', (error: Error) => this.#log.error({ err: error.message }, 'websocket server error'));
    this.#http = http.createServer((req, res) => {
      try {
        handleHealthRequest(req, res, () => this.#health());
      } catch (error) {
        this.#log.error({ err: describe(error) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.#onUpgrade(req, socket, head);
      } catch (error) {
        this.#log.error({ err: describe(error) }, 'upgrade handler failed');
        socket.destroy();
      }
    });
  }

  /**
   * Compiles `options`, listens, and resolves once the worker accepts connections. Rejects with INVALID_ARGUMENT for a
   * bad option or an address that cannot be bound (`details.reason` = the errno code).
   */
  static async start(options: GeneratorWorkerOptions): Promise<GeneratorWorkerServer> {
    const server = new GeneratorWorkerServer(compileGeneratorWorkerOptions(options));
    await server.#listen();
    return server;
  }

  /** Current lifecycle state. */
  get state(): GeneratorWorkerState {
    return this.#state;
  }

  /** The bound TCP port (the real one when `port` was 0). */
  get port(): number {
    return this.#port;
  }

  /** `ws://host:port` to connect to. */
  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `ws://${host}:${this.#port}`;
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Requests waiting for or holding the generator, over all connections (including orphan discards). */
  get queued(): number {
    return this.#queue.size;
  }

  /** Resolves once the worker reached `closed` (by whoever called `close()`). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Drains and stops: new requests get GENERATOR_UNAVAILABLE and new upgrades HTTP 503; accepted requests may finish
   * for `drainTimeoutMs` (a generator call cannot be interrupted: one still running then is left to finish unobserved);
   * sockets close with 1001; the listener stops. Idempotent: every call returns the same promise. Never rejects; does
   * not close the generator.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- lifecycle ----

  #transition(to: GeneratorWorkerState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new VrGrpoError('INVALID_ARGUMENT', `generator worker: illegal state transition ${this.#state} → ${to}`, { details: { from: this.#state, to } });
    }
    this.#log.debug({ from: this.#state, to }, 'state');
    this.#state = to;
  }

  async #listen(): Promise<void> {
    const { host, port } = this.options;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => {
          this.#http.off('listening', onListening);
          reject(error);
        };
        const onListening = (): void => {
          this.#http.off('error', onError);
          resolve();
        };
        this.#http.once('error', onError);
        this.#http.once('listening', onListening);
        this.#http.listen(port, host);
      });
    } catch (error) {
      this.#transition('closed');
      this.#markClosed();
      const code = error !== null && typeof error === 'object' && 'code' in error ? String(error.code) : 'listen failed';
      throw new VrGrpoError('INVALID_ARGUMENT', `generator worker cannot listen on ${host}:${port}: ${describe(error)}`, { details: { field: 'port', host, port, reason: code }, cause: error });
    }
    this.#http.on('error', (error: Error) => this.#log.error({ err: error.message }, 'http server error'));
    const address = this.#http.address();
    this.#port = address !== null && typeof address === 'object' ? address.port : port;
    if (this.options.heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => {
        for (const connection of this.#connections) connection.heartbeat();
      }, this.options.heartbeatIntervalMs);
    }
    this.#transition('running');
    this.#log.info({ url: this.url, auth: this.options.token !== null, generator: this.options.generator.name, trainable: this.options.trainable }, 'generator worker listening');
  }

  async #shutdown(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#transition('draining');
    this.#log.info({ queued: this.#queue.size, connections: this.#connections.size }, 'draining');
    await this.#step('drain requests', () => this.#drainRequests());
    await this.#step('stop heartbeat', () => {
      if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
      this.#heartbeat = null;
      return Promise.resolve();
    });
    await this.#step('close sockets', () => this.#closeSockets());
    await this.#step('close listener', () => this.#closeListener());
    this.#transition('closed');
    this.#markClosed();
    this.#log.info({ rollouts: this.#rollouts, updates: this.#updates }, 'generator worker closed');
  }

  /** Runs one cleanup step; a failure is logged and the next steps still run. */
  async #step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.#log.error({ step: name, err: describe(error) }, 'shutdown step failed');
    }
  }

  async #drainRequests(): Promise<void> {
    if (this.#queue.size === 0) return;
    if (await settledWithin(this.#queue.idle(), this.options.drainTimeoutMs)) return;
    // Closing the sockets below makes queued requests skip; a generator call already running cannot be interrupted.
    this.#log.warn({ queued: this.#queue.size, drainTimeoutMs: this.options.drainTimeoutMs }, 'drain timeout; closing with requests pending');
  }

  async #closeSockets(): Promise<void> {
    const connections = [...this.#connections];
    for (const connection of connections) connection.close(WORKER_CLOSE_CODES.goingAway, 'worker shutting down');
    const allClosed = Promise.all(connections.map((c) => c.closed));
    if (!(await settledWithin(allClosed, WORKER_CLOSE_HANDSHAKE_TIMEOUT_MS))) {
      for (const connection of connections) connection.terminate();
      await settledWithin(allClosed, WORKER_CLOSE_HANDSHAKE_TIMEOUT_MS);
    }
  }

  async #closeListener(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wss.close(() => resolve());
    });
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  // ---- connections ----

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error: Error) => this.#log.debug({ err: error.message }, 'upgrade socket error'));
    if (this.#state !== 'running') {
      refuseUpgrade(socket, 503, 'GENERATOR_UNAVAILABLE', 'worker is shutting down');
      return;
    }
    if (!this.#authorized(req)) {
      this.#log.warn({ remote: req.socket.remoteAddress }, 'upgrade refused: missing or wrong bearer token');
      refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="vr-grpo"' });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#onConnection(ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextConnectionId;
    this.#nextConnectionId += 1;
    const connection = new WorkerConnection(id, ws, this.#host, this.#log.child({ conn: id, remote: req.socket.remoteAddress }));
    if (this.#state !== 'running') {
      connection.close(WORKER_CLOSE_CODES.goingAway, 'worker shutting down');
      return;
    }
    this.#connections.add(connection);
    connection.start();
  }

  // ---- messages ----

  #hello(): GeneratorWorkerMessage {
    return {
      type: 'hello',
      protocol: GENERATOR_PROTOCOL_VERSION,
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      worker: this.options.workerName,
      limits: { maxPayloadBytes: this.options.maxPayloadBytes },
    };
  }

  #status(id: string | null): GeneratorWorkerMessage {
    return {
      type: 'status',
      id,
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      state: this.#state === 'running' ? 'running' : 'draining',
      queued: this.#queue.size,
      connections: this.#connections.size,
      rollouts: this.#rollouts,
      updates: this.#updates,
      policyUpdates: 'update' in this.options.generator && this.options.generator.policyUpdates !== undefined ? this.options.generator.policyUpdates() : null,
    };
  }

  #health(): WorkerHealthBody {
    return {
      status: this.#state === 'running' ? 'ok' : 'draining',
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      queued: this.#queue.size,
      connections: this.#connections.size,
    };
  }
}
