/**
 * The authenticated WebSocket server both of our servers (reward server, generator worker) stand on: one HTTP server
 * that hands plain requests (`/healthz`, `/metrics`, …) to its owner and upgrades requests carrying the bearer token to
 * WebSocket connections, a heartbeat that terminates dead peers, `maxPayload`, and an explicit lifecycle
 * (starting → running → draining → closed) whose `close()` runs the owner's drain, then closes every socket (1001)
 * and the listener. The owner speaks its protocol through a `ConnectionHandler` per connection.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerChecker, listenHttp, refuseUpgrade } from '../common/http.js';
import type { Logger } from '../common/logger.js';
import { VrGrpoError } from '../errors/index.js';
import { CLOSE_CODES, ServerConnection, type ConnectionHandler } from './server-connection.js';
import { describeError, settledWithin } from './settle.js';

/** Lifecycle of a server. Only `running` accepts connections; `draining` finishes what runs. */
export type TransportState = 'starting' | 'running' | 'draining' | 'closed';

const TRANSITIONS: Readonly<Record<TransportState, readonly TransportState[]>> = {
  starting: ['running', 'closed'],
  running: ['draining'],
  draining: ['closed'],
  closed: [],
};

/** How long closing sockets may take their closing handshake before they are terminated, in milliseconds. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/** Why an upgrade was refused. */
export type UpgradeRefusal = 'shutting_down' | 'unauthorized';

/** The server's settings; the owner has validated the values (see `compileTransportServerOptions`). */
export interface TransportServerOptions {
  /** What the server is, in messages: `'reward server'`, `'generator worker'`. */
  readonly name: string;
  /** Logger of the owner (its `component` bound); the server logs its own events through it. */
  readonly log: Logger;
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Bearer token every upgrade must carry; `null`: no authentication. */
  readonly token: string | null;
  /** Largest message a peer may send, in bytes; a larger one closes the connection with 1009. */
  readonly maxPayloadBytes: number;
  /** Ping interval, in milliseconds; a peer that did not answer the previous ping is terminated. 0 disables. */
  readonly heartbeatIntervalMs: number;
  /** The HTTP 503 body (`{code, message}`) of an upgrade while the server is not running. */
  readonly drainingRefusal: { readonly code: string; readonly message: string };
  /** Close reason sent with 1001 when the server shuts down. */
  readonly goingAwayReason: string;
}

/** What the owner does at each point of the server's life. */
export interface TransportServerHooks<H extends ConnectionHandler> {
  /** Answers a plain HTTP request (anything but an upgrade). A throw is logged and answered with 500. */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Builds the protocol handler of an authorised new connection (attached, then its `onOpen` runs). */
  accept(connection: ServerConnection): H;
  /** An upgrade was refused (e.g. to count it). */
  onUpgradeRefused?(reason: UpgradeRefusal): void;
  /** The server entered `draining` (log, stop feeding connections). */
  onDraining?(): void;
  /** The owner's drain step: lets accepted work finish, bounded by the owner's drain timeout. Runs before sockets close. */
  readonly drain: { readonly name: string; readonly run: () => Promise<void> };
  /** The server reached `closed` through `close()`. */
  onClosed?(): void;
}

/** Checks and freezes the server's settings. */
export function compileTransportServerOptions(options: TransportServerOptions): Readonly<TransportServerOptions> {
  if (options.name.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'transport server: name must not be empty', { details: { field: 'name' } });
  return Object.freeze({ ...options, drainingRefusal: Object.freeze({ ...options.drainingRefusal }) });
}

export class TransportServer<H extends ConnectionHandler> {
  readonly #options: Readonly<TransportServerOptions>;
  readonly #hooks: TransportServerHooks<H>;
  readonly #log: Logger;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #authorized: (request: IncomingMessage) => boolean;
  readonly #connections = new Map<ServerConnection, H>();
  #state: TransportState = 'starting';
  #port = 0;
  #nextConnectionId = 1;
  #heartbeat: NodeJS.Timeout | null = null;
  /** The bind started by `listen()`; null until it is called. */
  #listening: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => undefined;

  /** Builds the HTTP and WebSocket servers; no I/O until `listen()`. */
  constructor(options: TransportServerOptions, hooks: TransportServerHooks<H>) {
    this.#options = compileTransportServerOptions(options);
    this.#hooks = hooks;
    this.#log = options.log;
    this.#authorized = bearerChecker(options.token);
    this.#closed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, clientTracking: false, perMessageDeflate: false });
    this.#wss.on('error', (error: Error) => this.#log.error({ err: error.message }, 'websocket server error'));
    this.#http = http.createServer((req, res) => {
      try {
        hooks.onRequest(req, res);
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.#onUpgrade(req, socket, head);
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'upgrade handler failed');
        socket.destroy();
      }
    });
  }

  /** Current lifecycle state. */
  get state(): TransportState {
    return this.#state;
  }

  /** The bound TCP port (the real one when `port` was 0). */
  get port(): number {
    return this.#port;
  }

  /** `ws://host:port` to connect to. */
  get url(): string {
    const { host } = this.#options;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${this.#port}`;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The handlers of the open connections. */
  handlers(): IterableIterator<H> {
    return this.#connections.values();
  }

  /** Resolves once the server reached `closed`. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Listens and enters `running`. Rejects with ADDRESS_IN_USE or BIND_FAILED (`details.reason` = the errno code) when the address
   * cannot be bound; the server is then `closed`. Called once, by the owner's async factory: a second call, or one
   * after `close()`, rejects with INVALID_STATE.
   */
  listen(): Promise<void> {
    if (this.#listening !== null || this.#state !== 'starting') {
      const { name } = this.#options;
      return Promise.reject(
        new VrGrpoError(
          'INVALID_STATE',
          `${name}: listen() called in state ${this.#state}${this.#listening === null ? '' : ' (listen() was already called)'}`,
          { details: { state: this.#state } },
        ),
      );
    }
    this.#listening = this.#bind();
    return this.#listening;
  }

  async #bind(): Promise<void> {
    const { host, port, name } = this.#options;
    try {
      await listenHttp(this.#http, host, port, name);
    } catch (error) {
      this.#transition('closed');
      this.#markClosed();
      throw error;
    }
    this.#http.on('error', (error: Error) => this.#log.error({ err: error.message }, 'http server error'));
    const address = this.#http.address();
    this.#port = address !== null && typeof address === 'object' ? address.port : port;
    if (this.#options.heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => {
        for (const connection of this.#connections.keys()) connection.heartbeat();
      }, this.#options.heartbeatIntervalMs);
    }
    this.#transition('running');
  }

  /**
   * Drains and stops: new upgrades get HTTP 503; the owner's drain step runs; the heartbeat stops; sockets close with
   * 1001 (terminated after CLOSE_HANDSHAKE_TIMEOUT_MS); the listener stops. Every step runs even when one fails.
   * A server that never listened goes straight to `closed`; one still binding finishes its `listen()` first.
   * Idempotent: every call returns the same promise. Never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- lifecycle ----

  #transition(to: TransportState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new VrGrpoError('INVALID_STATE', `${this.#options.name}: illegal state transition ${this.#state} → ${to}`, { details: { from: this.#state, to } });
    }
    this.#log.debug({ from: this.#state, to }, 'state');
    this.#state = to;
  }

  async #shutdown(): Promise<void> {
    // Still binding: let `listen()` finish first (state then `running` or `closed`). Otherwise the rest starts now.
    if (this.#state === 'starting' && this.#listening !== null) await this.#listening.catch(() => undefined);
    if (this.#state === 'closed') return;
    if (this.#state === 'starting') {
      // Never listened: nothing to drain or close.
      this.#transition('closed');
      this.#markClosed();
      this.#hooks.onClosed?.();
      return;
    }
    this.#transition('draining');
    this.#hooks.onDraining?.();
    await this.#step(this.#hooks.drain.name, this.#hooks.drain.run);
    await this.#step('stop heartbeat', () => {
      if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
      this.#heartbeat = null;
      return Promise.resolve();
    });
    await this.#step('close sockets', () => this.#closeSockets());
    await this.#step('close listener', () => this.#closeListener());
    this.#transition('closed');
    this.#markClosed();
    this.#hooks.onClosed?.();
  }

  /** Runs one cleanup step; a failure is logged and the next steps still run. */
  async #step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.#log.error({ step: name, err: describeError(error) }, 'shutdown step failed');
    }
  }

  async #closeSockets(): Promise<void> {
    const connections = [...this.#connections.keys()];
    for (const connection of connections) connection.close(CLOSE_CODES.goingAway, this.#options.goingAwayReason);
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
      this.#hooks.onUpgradeRefused?.('shutting_down');
      refuseUpgrade(socket, 503, this.#options.drainingRefusal.code, this.#options.drainingRefusal.message);
      return;
    }
    if (!this.#authorized(req)) {
      this.#log.warn({ remote: req.socket.remoteAddress }, 'upgrade refused: missing or wrong bearer token');
      this.#hooks.onUpgradeRefused?.('unauthorized');
      refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="vr-grpo"' });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#onConnection(ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextConnectionId;
    this.#nextConnectionId += 1;
    const connection = new ServerConnection(id, ws, this.#log.child({ conn: id, remote: req.socket.remoteAddress }), (c) => {
      this.#connections.delete(c);
    });
    if (this.#state !== 'running') {
      connection.close(CLOSE_CODES.goingAway, this.#options.goingAwayReason);
      return;
    }
    const handler = this.#hooks.accept(connection);
    this.#connections.set(connection, handler);
    connection.attach(handler);
  }
}
