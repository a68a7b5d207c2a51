/**
 * The reward server: one HTTP server that upgrades authorised requests to WebSocket connections speaking the judge
 * protocol (src/protocol) and answers `GET /healthz` and `GET /metrics` (docs/metrics.md). Lifecycle: starting → running → draining → closed; `close()`
 * drains in-flight judgments (aborting them after `drainTimeoutMs`), closes every socket and the listener.
 */
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../common/logger.js';
import { isMetricsRequest, serveMetrics } from '../metrics/index.js';
import { VrGrpoError } from '../errors/index.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../protocol/index.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerChecker, handleHealthRequest, refuseUpgrade } from '../common/http.js';
import { AdminCommands } from './admin.js';
import type { CheckpointEvent } from './checkpoint-manager.js';
import { CLOSE_CODES, Connection, type ConnectionHost } from './connection.js';
import type { HealthBody } from './health.js';
import { compileRewardServerOptions, type ResolvedRewardServerOptions, type RewardServerOptions } from './options.js';

/** Lifecycle of a reward server. Only `running` accepts connections and judgments; `draining` finishes what runs. */
export type RewardServerState = 'starting' | 'running' | 'draining' | 'closed';

const TRANSITIONS: Readonly<Record<RewardServerState, readonly RewardServerState[]>> = {
  starting: ['running', 'closed'],
  running: ['draining'],
  draining: ['closed'],
  closed: [],
};

/** After aborting judgments that outlived the drain timeout, how long to wait for them to notice, in milliseconds. */
export const ABORT_GRACE_MS = 2_000;
/** How long closing sockets may take their closing handshake before they are terminated, in milliseconds. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

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

export class RewardServer {
  /** The compiled, frozen options. */
  readonly options: ResolvedRewardServerOptions;
  readonly #log: Logger;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #authorized: (request: IncomingMessage) => boolean;
  /** The narrow view a connection gets of its server. */
  readonly #host: ConnectionHost;
  readonly #connections = new Set<Connection>();
  readonly #judgments = new Map<Promise<void>, AbortController>();
  #state: RewardServerState = 'starting';
  #port = 0;
  #nextConnectionId = 1;
  #judgmentsCompleted = 0;
  #heartbeat: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  /** Stops forwarding checkpoint switches as `version_changed` (set while a checkpoint manager is attached). */
  #unsubscribeCheckpoints: (() => void) | null = null;
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => undefined;

  private constructor(options: ResolvedRewardServerOptions) {
    this.options = options;
    this.#log = options.log.child({ component: 'reward-server' });
    this.#authorized = bearerChecker(options.token);
    const admin = new AdminCommands(options.adminToken, options.checkpoints, this.#log);
    this.#host = {
      options,
      isDraining: () => this.#state !== 'running',
      statusMessage: (id) => this.#status(id),
      helloMessage: () => this.#hello(),
      trackJudgment: (run, controller) => {
        this.#judgments.set(run, controller);
        void run.then(() => {
          this.#judgments.delete(run);
        });
      },
      judgmentCompleted: () => {
        this.#judgmentsCompleted += 1;
      },
      connectionClosed: (connection) => {
        this.#connections.delete(connection);
      },
      admin: (request) => admin.handle(request, this.#state !== 'running'),
    };
    if (options.checkpoints !== null) this.#unsubscribeCheckpoints = options.checkpoints.subscribe((event) => this.#onCheckpointEvent(event));
    this.#closed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, clientTracking: false, perMessageDeflate: false });
    this.#wss.on('error', (error: Error) => this.#log.error({ err: error.message }, 'websocket server error'));
    options.metrics.bind({
      backend: () => this.options.service.backendName,
      rmVersion: () => this.#rmVersion(),
      inFlight: () => this.inFlight,
      connections: () => this.#connections.size,
    });
    // `/metrics` needs the bearer token only when asked to (docs/metrics.md): by default it is scrapable like /healthz.
    const metricsAuthorized = options.metricsRequireToken ? this.#authorized : undefined;
    this.#http = http.createServer((req, res) => {
      try {
        if (isMetricsRequest(req)) {
          void serveMetrics(req, res, options.metrics, { ...(metricsAuthorized === undefined ? {} : { authorized: metricsAuthorized }), onError: (error) => this.#log.error({ err: describe(error) }, 'metrics collection failed') });
          return;
        }
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
   * Compiles `options`, listens, and resolves once the server accepts connections. Rejects with INVALID_ARGUMENT
   * for a bad option, a missing artifact root, or an address that cannot be bound (`details.reason` = the errno code).
   */
  static async start(options: RewardServerOptions): Promise<RewardServer> {
    const server = new RewardServer(await compileRewardServerOptions(options));
    await server.#listen();
    return server;
  }

  /** Current lifecycle state. */
  get state(): RewardServerState {
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

  /** Judgments running now, over all connections (including ones whose client left and that are being aborted). */
  get inFlight(): number {
    return this.#judgments.size;
  }

  /** Resolves once the server reached `closed` (by whoever called `close()`). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Drains and stops: new judgments get SHUTTING_DOWN and new upgrades HTTP 503; in-flight judgments may finish for
   * `drainTimeoutMs`, then are aborted (their clients get SHUTTING_DOWN); sockets close with 1001; the listener stops.
   * Idempotent: every call returns the same promise. Never rejects; does not close `service` or `media`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- lifecycle ----

  #transition(to: RewardServerState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new VrGrpoError('INVALID_ARGUMENT', `reward server: illegal state transition ${this.#state} → ${to}`, { details: { from: this.#state, to } });
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
      throw new VrGrpoError('INVALID_ARGUMENT', `reward server cannot listen on ${host}:${port}: ${describe(error)}`, { details: { field: 'port', host, port, reason: code }, cause: error });
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
    this.#log.info({ url: this.url, auth: this.options.token !== null, artifactRoot: this.options.artifactRoot, backend: this.options.service.backendName }, 'reward server listening');
  }

  async #shutdown(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#transition('draining');
    this.#log.info({ inFlight: this.inFlight, connections: this.#connections.size }, 'draining');
    this.#unsubscribeCheckpoints?.();
    this.#unsubscribeCheckpoints = null;
    await this.#step('drain judgments', () => this.#drainJudgments());
    await this.#step('stop heartbeat', () => {
      if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
      this.#heartbeat = null;
      return Promise.resolve();
    });
    await this.#step('close sockets', () => this.#closeSockets());
    await this.#step('close listener', () => this.#closeListener());
    this.#transition('closed');
    this.#markClosed();
    this.#log.info({ judgments: this.#judgmentsCompleted }, 'reward server closed');
  }

  /** Runs one cleanup step; a failure is logged and the next steps still run. */
  async #step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.#log.error({ step: name, err: describe(error) }, 'shutdown step failed');
    }
  }

  async #drainJudgments(): Promise<void> {
    if (this.#judgments.size === 0) return;
    const running = Promise.all(this.#judgments.keys());
    if (await settledWithin(running, this.options.drainTimeoutMs)) return;
    this.#log.warn({ inFlight: this.#judgments.size, drainTimeoutMs: this.options.drainTimeoutMs }, 'drain timeout; aborting judgments');
    const reason = new VrGrpoError('SHUTTING_DOWN', `server shut down before the judgment finished (drain timeout ${this.options.drainTimeoutMs} ms)`);
    for (const controller of this.#judgments.values()) controller.abort(reason);
    if (!(await settledWithin(running, ABORT_GRACE_MS))) {
      this.#log.error({ inFlight: this.#judgments.size }, 'judgments ignored their abort signal; closing anyway');
    }
  }

  async #closeSockets(): Promise<void> {
    const connections = [...this.#connections];
    for (const connection of connections) connection.close(CLOSE_CODES.goingAway, 'server shutting down');
    const allClosed = Promise.all(connections.map((c) => c.closed));
    if (!(await settledWithin(allClosed, CLOSE_HANDSHAKE_TIMEOUT_MS))) {
      for (const connection of connections) connection.terminate();
      await settledWithin(allClosed, CLOSE_HANDSHAKE_TIMEOUT_MS);
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
      this.options.metrics.upgradeRefused('shutting_down');
      refuseUpgrade(socket, 503, 'SHUTTING_DOWN', 'server is shutting down');
      return;
    }
    if (!this.#authorized(req)) {
      this.#log.warn({ remote: req.socket.remoteAddress }, 'upgrade refused: missing or wrong bearer token');
      this.options.metrics.upgradeRefused('unauthorized');
      refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="vr-grpo"' });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#onConnection(ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextConnectionId;
    this.#nextConnectionId += 1;
    const connection = new Connection(id, ws, this.#host, this.#log.child({ conn: id, remote: req.socket.remoteAddress }));
    if (this.#state !== 'running') {
      connection.close(CLOSE_CODES.goingAway, 'server shutting down');
      return;
    }
    this.#connections.add(connection);
    this.options.metrics.connectionOpened();
    connection.start();
  }

  // ---- messages ----

  /** Tells every connection that new judgments start on another version. */
  #onCheckpointEvent(event: CheckpointEvent): void {
    if (event.type === 'rejected') this.options.metrics.checkpointRejected(event.code);
    if (event.type !== 'swapped') return;
    const reason = event.action === 'rollback' ? 'rollback' : event.origin === 'watch' ? 'watch' : 'load';
    const message: ServerMessage = { type: 'version_changed', rmVersion: event.rmVersion, previousVersion: event.previousVersion, reason, at: event.at.toISOString() };
    for (const connection of this.#connections) connection.notify(message);
    this.#log.info({ rmVersion: event.rmVersion, previousVersion: event.previousVersion, reason, connections: this.#connections.size }, 'version_changed sent');
  }

  #rmVersion(): string {
    try {
      return this.options.service.rmVersion();
    } catch (error) {
      this.#log.warn({ err: describe(error) }, 'service.rmVersion() failed');
      return 'unknown';
    }
  }

  #hello(): ServerMessage {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: this.options.serverName,
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      limits: { maxPayloadBytes: this.options.maxPayloadBytes, maxInFlight: this.options.maxInFlightPerConnection },
    };
  }

  #status(id: string | null): ServerMessage {
    return {
      type: 'status',
      id,
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      state: this.#state === 'running' ? 'running' : 'draining',
      inFlight: this.inFlight,
      connections: this.#connections.size,
      judgments: this.#judgmentsCompleted,
    };
  }

  #health(): HealthBody {
    return {
      status: this.#state === 'running' ? 'ok' : 'draining',
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      inFlight: this.inFlight,
      connections: this.#connections.size,
    };
  }
}
