/**
 * The authenticated WebSocket server both of our servers (reward server, generator worker) stand on: one HTTP server
 * that hands plain requests (`/healthz`, `/metrics`, …) to its owner and upgrades requests carrying the bearer token to
 * WebSocket connections, a heartbeat that terminates dead peers, `maxPayload`, the socket-level limits (Host and Origin
 * allow-lists, a connection limit, a bounded send buffer per peer), and an explicit lifecycle
 * (starting → running → draining → closed) whose `close()` runs the owner's drain, then closes every socket (1001)
 * and the listener. The owner speaks its protocol through a `ConnectionHandler` per connection.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerChecker, compileHostPolicy, hostAllowed, listenHttp, originAllowed, refuseRequest, refuseUpgrade, type HostPolicy } from '../common/http.js';
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
export type UpgradeRefusal = 'shutting_down' | 'unauthorized' | 'forbidden_host' | 'forbidden_origin' | 'overloaded';

/** Default simultaneous WebSocket connections of one server; one more upgrade gets HTTP 503 (OVERLOADED). */
export const DEFAULT_MAX_CONNECTIONS = 256;
/** Upper bound of `maxConnections`. */
export const MAX_CONNECTIONS_LIMIT = 65_536;
/**
 * Default bytes a peer may leave unread in its send buffer (64 MiB): when it sends another message while more than this
 * waits for it, it is closed with 1008 SLOW_CONSUMER instead of being answered.
 */
export const DEFAULT_MAX_SEND_BUFFER_BYTES = 64 * 1024 * 1024;
/** Upper bound of `maxSendBufferBytes` (4 GiB). */
export const MAX_SEND_BUFFER_BYTES_LIMIT = 4 * 1024 * 1024 * 1024;
/** Upper bound of `maxPayloadBytes` (1 GiB). */
export const MAX_PAYLOAD_BYTES_LIMIT = 1024 * 1024 * 1024;

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
  /** Simultaneous WebSocket connections; one more upgrade gets HTTP 503 `OVERLOADED`. Default: 256. */
  readonly maxConnections?: number;
  /**
   * Bytes a peer may leave unread: a message from a peer with more than this queued for it closes the connection with
   * 1008 `SLOW_CONSUMER` (checked before the message is handled). Default: 64 MiB.
   */
  readonly maxSendBufferBytes?: number;
  /**
   * Host names a request's `Host` header may name (HTTP 421 `FORBIDDEN_ORIGIN` otherwise; `'*'` any). Default `null`:
   * `localhost`, `127.0.0.1`, `::1` and `host` — any host when `host` is a wildcard address (`0.0.0.0`, `::`).
   */
  readonly allowedHosts?: readonly string[] | null;
  /**
   * Browser origins an upgrade's `Origin` header may carry (HTTP 403 `FORBIDDEN_ORIGIN` otherwise; `'*'` any). No
   * `Origin` header always passes. Default: none.
   */
  readonly allowedOrigins?: readonly string[];
}

/** The socket-level limits an owner passes through from its own options (reward server, generator worker). */
export type SocketPolicyOptions = Pick<TransportServerOptions, 'maxConnections' | 'maxSendBufferBytes' | 'allowedHosts' | 'allowedOrigins'>;

/** The socket-level limits of `options` that are set (for an owner passing its options through). */
export function pickSocketPolicy(options: SocketPolicyOptions): SocketPolicyOptions {
  const { maxConnections, maxSendBufferBytes, allowedHosts, allowedOrigins } = options;
  return Object.freeze({
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(maxSendBufferBytes === undefined ? {} : { maxSendBufferBytes }),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
  });
}

/** The server's settings with every default filled in; frozen. */
export interface ResolvedTransportServerOptions extends Required<Omit<TransportServerOptions, 'allowedHosts' | 'allowedOrigins'>> {
  readonly allowedHosts: readonly string[] | null;
  readonly allowedOrigins: readonly string[];
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

function invalidOption(field: string, reason: string): VrGrpoError {
  return new VrGrpoError('INVALID_ARGUMENT', `transport server option ${field}: ${reason}`, { details: { field, reason } });
}

function boundedInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalidOption(field, `expected an integer in ${min}..${max}, got ${String(value)}`);
  return value;
}

function nameList(field: string, value: unknown): readonly string[] {
  const list: unknown[] = Array.isArray(value) ? (value as unknown[]) : [];
  if (!Array.isArray(value) || list.length > 256 || list.some((v) => typeof v !== 'string' || v.trim().length === 0 || v.length > 256)) {
    throw invalidOption(field, 'expected at most 256 non-empty strings');
  }
  return Object.freeze(list as string[]);
}

/** Checks the server's settings, fills the defaults, and freezes them; INVALID_ARGUMENT names the bad field. */
export function compileTransportServerOptions(options: TransportServerOptions): ResolvedTransportServerOptions {
  if (options.name.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'transport server: name must not be empty', { details: { field: 'name' } });
  const allowedHosts = options.allowedHosts ?? null;
  return Object.freeze({
    ...options,
    maxPayloadBytes: boundedInteger('maxPayloadBytes', options.maxPayloadBytes, 1, MAX_PAYLOAD_BYTES_LIMIT),
    maxConnections: boundedInteger('maxConnections', options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 1, MAX_CONNECTIONS_LIMIT),
    maxSendBufferBytes: boundedInteger('maxSendBufferBytes', options.maxSendBufferBytes ?? DEFAULT_MAX_SEND_BUFFER_BYTES, 1024, MAX_SEND_BUFFER_BYTES_LIMIT),
    allowedHosts: allowedHosts === null ? null : nameList('allowedHosts', allowedHosts),
    allowedOrigins: nameList('allowedOrigins', options.allowedOrigins ?? []),
    drainingRefusal: Object.freeze({ ...options.drainingRefusal }),
  });
}

export class TransportServer<H extends ConnectionHandler> {
  readonly #options: ResolvedTransportServerOptions;
  readonly #hooks: TransportServerHooks<H>;
  readonly #log: Logger;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #authorized: (request: IncomingMessage) => boolean;
  readonly #hostPolicy: HostPolicy;
  readonly #connections = new Map<ServerConnection, H>();
  #state: TransportState = 'starting';
  #port = 0;
  #nextConnectionId = 1;
  /** Upgrades accepted but not yet connections. */
  #upgrading = 0;
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
    this.#hostPolicy = compileHostPolicy(options.host, this.#options.allowedHosts, this.#options.allowedOrigins);
    this.#closed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, clientTracking: false, perMessageDeflate: false });
    this.#wss.on('error', (error: Error) => this.#log.error({ err: error.message }, 'websocket server error'));
    this.#http = http.createServer((req, res) => {
      try {
        if (!hostAllowed(req, this.#hostPolicy)) {
          this.#log.warn({ remote: req.socket.remoteAddress, host: req.headers.host?.slice(0, 100) }, 'request refused: Host not allowed');
          refuseRequest(res, 421, 'FORBIDDEN_ORIGIN', 'Host header names a host this server does not answer for');
          return;
        }
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
    if (!hostAllowed(req, this.#hostPolicy)) {
      this.#log.warn({ remote: req.socket.remoteAddress, host: req.headers.host?.slice(0, 100) }, 'upgrade refused: Host not allowed');
      this.#hooks.onUpgradeRefused?.('forbidden_host');
      refuseUpgrade(socket, 421, 'FORBIDDEN_ORIGIN', 'Host header names a host this server does not answer for');
      return;
    }
    if (!originAllowed(req, this.#hostPolicy)) {
      this.#log.warn({ remote: req.socket.remoteAddress, origin: req.headers.origin?.slice(0, 100) }, 'upgrade refused: Origin not allowed');
      this.#hooks.onUpgradeRefused?.('forbidden_origin');
      refuseUpgrade(socket, 403, 'FORBIDDEN_ORIGIN', 'Origin not allowed');
      return;
    }
    if (this.#connections.size + this.#upgrading >= this.#options.maxConnections) {
      this.#log.warn({ remote: req.socket.remoteAddress, connections: this.#connections.size }, 'upgrade refused: connection limit reached');
      this.#hooks.onUpgradeRefused?.('overloaded');
      refuseUpgrade(socket, 503, 'OVERLOADED', `connection limit reached (${this.#options.maxConnections}); retry later or elsewhere`);
      return;
    }
    if (!this.#authorized(req)) {
      this.#log.warn({ remote: req.socket.remoteAddress }, 'upgrade refused: missing or wrong bearer token');
      this.#hooks.onUpgradeRefused?.('unauthorized');
      refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="vr-grpo"' });
      return;
    }
    // Counted from here, so that upgrades finishing in the same tick cannot pass the limit together.
    this.#upgrading += 1;
    let counted = true;
    const uncount = (): void => {
      if (counted) this.#upgrading -= 1;
      counted = false;
    };
    socket.once('close', uncount);
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      uncount();
      this.#onConnection(ws, req);
    });
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextConnectionId;
    this.#nextConnectionId += 1;
    const connection = new ServerConnection(
      id,
      ws,
      this.#log.child({ conn: id, remote: req.socket.remoteAddress }),
      (c) => {
        this.#connections.delete(c);
      },
      { maxSendBufferBytes: this.#options.maxSendBufferBytes },
    );
    if (this.#state !== 'running') {
      connection.close(CLOSE_CODES.goingAway, this.#options.goingAwayReason);
      return;
    }
    const handler = this.#hooks.accept(connection);
    this.#connections.set(connection, handler);
    connection.attach(handler);
  }
}
