/**
 * The WebSocket transport on its own (src/transport): a real `TransportServer` on 127.0.0.1:0 speaking a tiny echo
 * protocol, raw `ws` peers, and the real client (`connectClient`). Covers the lifecycle and its INVALID_STATE calls,
 * bearer auth, plain HTTP handed to the owner, 503 while draining, maxPayload, the heartbeat, drain-then-1001, and the
 * client's handshake, timeouts, lost connections and close. Loopback only; every wait is bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { isVrGrpoError, VrGrpoError, type ErrorCode } from '../../src/errors/index.js';
import {
  compileTransportServerOptions,
  connectClient,
  describeError,
  PendingTable,
  TransportServer,
  type ClientConnection,
  type ClientErrors,
  type ConnectionHandler,
  type HandshakeStep,
  type ServerConnection,
  type Settle,
  type TransportServerOptions,
} from '../../src/transport/index.js';
import { httpGet, openSocket, rejectionOf, upgradeRefusal, upgradeStatus, within, WirePeer, type PeerOptions } from './helpers.js';

// ---- the echo protocol ----

/** Any JSON message with a `type`, as a raw peer or the client reads it. */
interface Wire {
  readonly type: string;
  readonly [field: string]: unknown;
}

function decodeWire(data: Buffer, isBinary: boolean): Wire | { readonly invalid: string } {
  if (isBinary) return { type: 'binary-from-server', bytes: data.length };
  const text = data.toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string') return value as Wire;
  } catch {
    // reported as invalid below
  }
  return { invalid: text };
}

interface EchoSetup {
  readonly port?: number;
  readonly token?: string | null;
  readonly maxPayloadBytes?: number;
  readonly heartbeatIntervalMs?: number;
  /** Protocol the server hello announces; null: no hello at all. Default: 1. */
  readonly helloProtocol?: number | null;
  /** Notes sent right behind the hello, in the same tick. */
  readonly afterHello?: readonly string[];
  /** The owner's drain step. Default: nothing to wait for. */
  readonly drain?: () => Promise<void>;
}

/**
 * The server side of the echo protocol: `echo` is answered with its body, `ping` with `pong`, `silent` never, `die`
 * terminates the socket, `big` sends `bytes` binary bytes, `throw` throws; a binary message is answered with its size.
 */
class EchoHandler implements ConnectionHandler {
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  #markClosed: (info: { code: number; reason: string }) => void = () => undefined;

  constructor(
    readonly connection: ServerConnection,
    private readonly setup: EchoSetup,
    private readonly events: string[],
  ) {
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
  }

  onOpen(): void {
    const protocol = this.setup.helloProtocol === undefined ? 1 : this.setup.helloProtocol;
    if (protocol === null) return;
    this.#send({ type: 'hello', protocol });
    for (const note of this.setup.afterHello ?? []) this.#send({ type: 'note', note });
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#send({ type: 'binary', bytes: data.length });
      return;
    }
    const message = JSON.parse(data.toString('utf8')) as { type: string; id?: string; body?: unknown; bytes?: number };
    const id = message.id ?? null;
    switch (message.type) {
      case 'hello':
      case 'silent':
        return;
      case 'echo':
        this.#send({ type: 'echo', id, body: message.body });
        return;
      case 'ping':
        this.#send({ type: 'pong', id });
        return;
      case 'die':
        this.connection.terminate();
        return;
      case 'big':
        this.connection.sendBinary(new Uint8Array(message.bytes ?? 0));
        return;
      case 'throw':
        throw new Error('echo handler bug');
      default:
        this.#send({ type: 'error', id, message: `unknown type ${message.type}` });
    }
  }

  onHandlerError(error: unknown): void {
    this.#send({ type: 'error', id: null, message: describeError(error) });
  }

  #send(message: Wire): void {
    this.connection.sendJson(message);
  }

  onClose(code: number, reason: string): void {
    this.events.push(`connection closed ${code}`);
    this.#markClosed({ code, reason });
  }
}

/** Every server, client and peer a test starts; `afterEach` closes them. */
const servers: TransportServer<EchoHandler>[] = [];
const clients: ClientConnection[] = [];
const peers: WirePeer<Wire>[] = [];

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => within(server.close(), 'a test server to close')));
});

const GOING_AWAY_REASON = 'echo server going away';

/** An echo server and what its hooks saw, in order. */
class Echo {
  readonly server: TransportServer<EchoHandler>;
  readonly events: string[] = [];
  readonly handlers: EchoHandler[] = [];
  /** Paths that reached `onRequest`. */
  readonly requests: string[] = [];

  constructor(setup: EchoSetup = {}) {
    const options: TransportServerOptions = {
      name: 'echo server',
      log: silentLogger(),
      host: '127.0.0.1',
      port: setup.port ?? 0,
      token: setup.token ?? null,
      maxPayloadBytes: setup.maxPayloadBytes ?? 1024 * 1024,
      heartbeatIntervalMs: setup.heartbeatIntervalMs ?? 0,
      drainingRefusal: { code: 'SHUTTING_DOWN', message: 'echo server is shutting down' },
      goingAwayReason: GOING_AWAY_REASON,
    };
    this.server = new TransportServer<EchoHandler>(options, {
      onRequest: (req, res) => this.#onRequest(req, res),
      accept: (connection) => {
        const handler = new EchoHandler(connection, setup, this.events);
        this.handlers.push(handler);
        return handler;
      },
      onUpgradeRefused: (reason) => this.events.push(`refused ${reason}`),
      onDraining: () => this.events.push('draining'),
      drain: {
        name: 'echo drain',
        run: async () => {
          this.events.push('drain started');
          await (setup.drain?.() ?? Promise.resolve());
          this.events.push('drain finished');
        },
      },
      onClosed: () => this.events.push('closed'),
    });
    servers.push(this.server);
  }

  /** Starts an echo server and waits until it listens. */
  static async start(setup: EchoSetup = {}): Promise<Echo> {
    const echo = new Echo(setup);
    await echo.server.listen();
    return echo;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    if (req.url === '/boom') throw new Error('route bug');
    const body = JSON.stringify({ path: req.url, method: req.method });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }
}

/** The echo protocol's wording of transport failures, in the catalogue's client codes. */
const echoErrors: ClientErrors = {
  handshakeTimeout: (timeoutMs) => new VrGrpoError('REQUEST_TIMEOUT', `no hello within ${timeoutMs} ms`, { details: { reason: 'hello', timeoutMs } }),
  upgradeRefused: (status) => {
    const code: ErrorCode = status === 401 ? 'UNAUTHORIZED' : status === 503 ? 'SHUTTING_DOWN' : 'CONNECTION_FAILED';
    return new VrGrpoError(code, `upgrade refused with HTTP ${status}`, { details: { status } });
  },
  connectFailed: (error) => new VrGrpoError('CONNECTION_FAILED', `cannot connect: ${error.message}`, { cause: error }),
  closedBeforeHello: (code) => new VrGrpoError('CONNECTION_FAILED', `closed (${code}) before hello`, { details: { closeCode: code } }),
  notOpen: (id) => new VrGrpoError('CLOSED', 'the connection is closed', { details: { id } }),
  requestTimeout: (id, timeoutMs) => new VrGrpoError('REQUEST_TIMEOUT', `no answer to ${id} within ${timeoutMs} ms`, { details: { id, timeoutMs } }),
  sendFailed: (id, error) => new VrGrpoError('CONNECTION_LOST', `send failed: ${error.message}`, { details: { id }, cause: error }),
};

function readEchoHandshake(text: string): HandshakeStep<Wire> {
  const message = decodeWire(Buffer.from(text), false);
  if ('invalid' in message || message.type !== 'hello') return null;
  if (message.protocol !== 1) return { error: new VrGrpoError('PROTOCOL_MISMATCH', `server speaks protocol ${String(message.protocol)}`) };
  return { hello: message };
}

/** The client side of the echo protocol on the real `connectClient`. */
class EchoClient {
  readonly pending = new PendingTable<Settle<unknown>>();
  /** Messages that answered no request, in arrival order. */
  readonly unsolicited: Wire[] = [];
  /** Close code seen by the owner's `onClose`. */
  readonly closed: Promise<number>;

  private constructor(
    readonly hello: Wire,
    readonly connection: ClientConnection,
  ) {
    let markClosed: (code: number) => void = () => undefined;
    this.closed = new Promise((resolve) => {
      markClosed = resolve;
    });
    connection.attach({
      onMessage: (data, isBinary) => {
        const message = decodeWire(data, isBinary);
        if ('invalid' in message) return;
        const settle = typeof message.id === 'string' ? this.pending.take(message.id) : undefined;
        if (settle === undefined) this.unsolicited.push(message);
        else if (message.type === 'error') settle.reject(new VrGrpoError('INVALID_REQUEST', String(message.message)));
        else settle.resolve(message.type === 'echo' ? message.body : message);
      },
      onClose: (code) => {
        this.pending.rejectAll(new VrGrpoError('CONNECTION_LOST', `connection closed (${code})`, { details: { closeCode: code } }));
        markClosed(code);
      },
    });
  }

  static async connect(
    url: string,
    options: { readonly token?: string; readonly connectTimeoutMs?: number; readonly maxPayloadBytes?: number } = {},
  ): Promise<EchoClient> {
    const { hello, connection } = await connectClient<Wire>({
      url,
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }),
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      clientHello: { type: 'hello', protocol: 1 },
      readHandshake: readEchoHandshake,
      errors: echoErrors,
      name: 'echo client',
      log: silentLogger(),
    });
    clients.push(connection);
    return new EchoClient(hello, connection);
  }

  request(type: string, id: string, timeoutMs = 5_000, extra: Record<string, unknown> = {}): Promise<unknown> {
    return this.connection.request<unknown, Settle<unknown>>(this.pending, id, { type, id, ...extra }, timeoutMs, (settle) => settle);
  }
}

// ---- small helpers ----

/** Opens a raw peer and waits for the server hello. */
async function openPeer(url: string, options: PeerOptions = {}): Promise<WirePeer<Wire>> {
  const peer = new WirePeer<Wire>(openSocket(url, options), decodeWire);
  peers.push(peer);
  const hello = await peer.next();
  expect(hello).toEqual({ type: 'hello', protocol: 1 });
  return peer;
}

/** A loopback port nobody listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function deferred(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The code and details of a VrGrpoError (fails on anything else). */
function caught(error: unknown): { readonly code: ErrorCode; readonly details: Readonly<Record<string, unknown>> } {
  if (!isVrGrpoError(error)) throw new Error(`expected a VrGrpoError, got ${describeError(error)}`);
  return { code: error.code, details: error.details };
}

// ---- tests ----

describe('transport server lifecycle', () => {
  it('goes starting → running → draining → closed; a second listen() and a listen() after close() are INVALID_STATE', async () => {
    const echo = new Echo();
    const { server } = echo;
    expect([server.state, server.port, server.connectionCount]).toEqual(['starting', 0, 0]);
    await server.listen();
    expect(server.state).toBe('running');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);

    expect(caught(await rejectionOf(server.listen(), 'a second listen()')).code).toBe('INVALID_STATE');
    expect(server.state).toBe('running');
    expect(await upgradeStatus(server.url)).toBe(101);

    const closing = server.close();
    expect(server.close()).toBe(closing);
    expect(server.state).toBe('draining');
    await within(closing, 'close()');
    await within(server.closed, 'the closed promise');
    expect(server.state).toBe('closed');
    expect(echo.events.filter((e) => !e.startsWith('connection closed'))).toEqual(['draining', 'drain started', 'drain finished', 'closed']);

    const late = caught(await rejectionOf(server.listen(), 'listen() after close()'));
    expect(late).toEqual({ code: 'INVALID_STATE', details: { state: 'closed' } });
  });

  it('close() before listen() goes straight to closed without draining and never rejects', async () => {
    const echo = new Echo();
    await within(echo.server.close(), 'close() of a server that never listened');
    expect(echo.server.state).toBe('closed');
    expect(echo.events).toEqual(['closed']);
    expect(caught(await rejectionOf(echo.server.listen(), 'listen() after close()')).code).toBe('INVALID_STATE');
  });

  it('close() while listen() is still binding waits for it, then drains and closes the listener', async () => {
    const echo = new Echo();
    const listening = echo.server.listen();
    const closing = echo.server.close();
    await within(listening, 'listen()');
    await within(closing, 'close()');
    expect(echo.server.state).toBe('closed');
    expect(echo.events).toEqual(['draining', 'drain started', 'drain finished', 'closed']);
    const port = echo.server.port;
    const connectError = await rejectionOf(EchoClient.connect(`ws://127.0.0.1:${port}`), 'a connect after close');
    expect(caught(connectError).code).toBe('CONNECTION_FAILED');
  });

  it('listen() on a taken port rejects with the errno in details.reason and leaves the server closed', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    try {
      const echo = new Echo({ port });
      const error = caught(await rejectionOf(echo.server.listen(), 'listen() on a taken port'));
      expect(error.code).toBe('ADDRESS_IN_USE');
      expect(error.details).toMatchObject({ field: 'port', host: '127.0.0.1', port, reason: 'EADDRINUSE' });
      expect(echo.server.state).toBe('closed');
      await within(echo.server.closed, 'the closed promise');
      await within(echo.server.close(), 'close() after a failed listen()');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('refuses an empty name at construction with INVALID_ARGUMENT', () => {
    let thrown: unknown = null;
    try {
      compileTransportServerOptions({
        name: '',
        log: silentLogger(),
        host: '127.0.0.1',
        port: 0,
        token: null,
        maxPayloadBytes: 1,
        heartbeatIntervalMs: 0,
        drainingRefusal: { code: 'X', message: 'x' },
        goingAwayReason: 'x',
      });
    } catch (error) {
      thrown = error;
    }
    expect(caught(thrown)).toEqual({ code: 'INVALID_ARGUMENT', details: { field: 'name' } });
  });
});

describe('transport server: auth and HTTP', () => {
  it('with a token, an upgrade without it or with a wrong one gets HTTP 401; the right one is served', async () => {
    const echo = await Echo.start({ token: 'sesame' });
    const { url } = echo.server;
    expect(await upgradeStatus(url)).toBe(401);
    expect(await upgradeStatus(url, { authorization: 'Bearer open-sesame' })).toBe(401);
    const refusal = await upgradeRefusal(url, { authorization: 'Basic c2VzYW1l' });
    expect(refusal.status).toBe(401);
    expect(refusal.headers['www-authenticate']).toBe('Bearer realm="vr-grpo"');
    expect(JSON.parse(refusal.body)).toEqual({ code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' });
    expect(echo.events.filter((e) => e.startsWith('refused'))).toEqual(['refused unauthorized', 'refused unauthorized', 'refused unauthorized']);

    const anonymous = caught(await rejectionOf(EchoClient.connect(url), 'a connect without the token'));
    expect(anonymous).toEqual({ code: 'UNAUTHORIZED', details: { status: 401 } });
    expect(echo.server.connectionCount).toBe(0);

    const client = await EchoClient.connect(url, { token: 'sesame' });
    expect(await client.request('echo', 'e1', 5_000, { body: 'hi' })).toBe('hi');
    expect(echo.server.connectionCount).toBe(1);
    expect(await upgradeStatus(url, { authorization: 'Bearer sesame' })).toBe(101);
  });

  it('with token null every upgrade is served', async () => {
    const echo = await Echo.start({ token: null });
    expect(await upgradeStatus(echo.server.url)).toBe(101);
    expect(await upgradeStatus(echo.server.url, { authorization: 'Bearer anything' })).toBe(101);
    expect(echo.events.filter((e) => e.startsWith('refused'))).toEqual([]);
  });

  it('hands plain HTTP requests to onRequest; a throwing onRequest is answered 500 and the server keeps serving', async () => {
    const echo = await Echo.start({ token: 'sesame' });
    const port = echo.server.port;
    expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: { path: '/healthz', method: 'GET' } });
    expect(await httpGet(port, '/metrics', 'POST')).toEqual({ status: 200, body: { path: '/metrics', method: 'POST' } });
    expect(await httpGet(port, '/boom')).toEqual({ status: 500, body: null });
    expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: { path: '/healthz', method: 'GET' } });
    expect(echo.requests).toEqual(['/healthz', '/metrics', '/boom', '/healthz']);
    expect(echo.server.state).toBe('running');
  });
});

describe('transport server: drain', () => {
  it("runs the owner's drain while connections stay served and upgrades get 503, then closes sockets with 1001", async () => {
    const started = deferred();
    const release = deferred();
    const echo = await Echo.start({
      drain: async () => {
        started.resolve();
        await release.promise;
      },
    });
    const { url } = echo.server;
    const peer = await openPeer(url);
    const client = await EchoClient.connect(url);
    expect(echo.server.connectionCount).toBe(2);

    const closing = echo.server.close();
    await within(started.promise, 'the drain to start');
    expect(echo.server.state).toBe('draining');
    const refusal = await upgradeRefusal(url);
    expect([refusal.status, JSON.parse(refusal.body)]).toEqual([503, { code: 'SHUTTING_DOWN', message: 'echo server is shutting down' }]);
    const late = caught(await rejectionOf(EchoClient.connect(url), 'a connect while draining'));
    expect(late).toEqual({ code: 'SHUTTING_DOWN', details: { status: 503 } });
    // Accepted connections are still served while the owner drains.
    expect(await client.request('echo', 'during-drain', 5_000, { body: 42 })).toBe(42);
    await peer.roundTrip();
    expect(echo.events).toEqual(['draining', 'drain started', 'refused shutting_down', 'refused shutting_down']);

    release.resolve();
    await within(closing, 'close()');
    expect(await peer.whenClosed()).toEqual({ code: 1001, reason: GOING_AWAY_REASON });
    expect(await within(client.closed, 'the client to see the close')).toBe(1001);
    expect(client.connection.closeInfo).toEqual({ code: 1001, reason: GOING_AWAY_REASON });
    expect(echo.server.state).toBe('closed');
    expect(echo.server.connectionCount).toBe(0);
    // The sockets closed only after the owner's drain finished.
    expect(echo.events.slice(4)).toEqual(['drain finished', 'connection closed 1001', 'connection closed 1001', 'closed']);
  });

  it('a failing drain step is logged and the sockets and listener still close', async () => {
    const echo = await Echo.start({ drain: () => Promise.reject(new Error('drain bug')) });
    const peer = await openPeer(echo.server.url);
    await within(echo.server.close(), 'close() with a failing drain');
    expect(await peer.whenClosed()).toEqual({ code: 1001, reason: GOING_AWAY_REASON });
    expect(echo.server.state).toBe('closed');
    expect(echo.events).toEqual(['draining', 'drain started', 'connection closed 1001', 'closed']);
  });
});

describe('transport server: limits, heartbeat, handler errors', () => {
  it('closes a connection whose message exceeds maxPayloadBytes with 1009; one at the limit is served', async () => {
    const echo = await Echo.start({ maxPayloadBytes: 1024 });
    const peer = await openPeer(echo.server.url);
    peer.sendBinary(new Uint8Array(1024));
    expect(await peer.next()).toEqual({ type: 'binary', bytes: 1024 });
    peer.sendBinary(new Uint8Array(1025));
    expect((await peer.whenClosed()).code).toBe(1009);
    // The server stops reading after the oversized frame, so its side ends without the peer's close frame (1006).
    await within(echo.handlers[0]?.closed ?? Promise.reject(new Error('no handler')), 'the server side to close');
    expect(echo.server.connectionCount).toBe(0);
  });

  it("the client's maxPayloadBytes drops a server message over it and fails what is pending with CONNECTION_LOST", async () => {
    const echo = await Echo.start();
    const client = await EchoClient.connect(echo.server.url, { maxPayloadBytes: 256 });
    expect(await client.request('echo', 'small', 5_000, { body: 'x'.repeat(100) })).toBe('x'.repeat(100));
    const waiting = client.request('silent', 'waiting');
    client.connection.sendJson({ type: 'big', bytes: 1000 });
    const lost = caught(await rejectionOf(waiting, 'the pending request'));
    expect(lost.code).toBe('CONNECTION_LOST');
    expect(lost.details.id).toBe('waiting');
    const handler = echo.handlers[0];
    expect((await within(handler?.closed ?? Promise.reject(new Error('no handler')), 'the server side to close')).code).toBe(1009);
    expect(client.connection.isOpen).toBe(false);
  });

  it('terminates a peer that does not answer pings and keeps one that does', async () => {
    const echo = await Echo.start({ heartbeatIntervalMs: 40 });
    const silent = await openPeer(echo.server.url, { autoPong: false });
    const lively = await openPeer(echo.server.url);
    let pings = 0;
    const threePings = new Promise<void>((resolve) => {
      lively.ws.on('ping', () => {
        pings += 1;
        if (pings === 3) resolve();
      });
    });
    // Terminated without a closing handshake: the silent peer sees 1006.
    expect((await silent.whenClosed()).code).toBe(1006);
    await within(threePings, 'three heartbeat pings');
    expect(lively.ws.readyState).toBe(lively.ws.OPEN);
    await lively.roundTrip();
    expect(echo.server.connectionCount).toBe(1);
    expect(echo.events).toEqual(['connection closed 1006']);
  });

  it('answers a message handler that throws through onHandlerError and keeps the connection', async () => {
    const echo = await Echo.start();
    const peer = await openPeer(echo.server.url);
    peer.send({ type: 'throw' });
    expect(await peer.next()).toEqual({ type: 'error', id: null, message: 'echo handler bug' });
    peer.send('not json');
    expect(await peer.next()).toMatchObject({ type: 'error', id: null });
    await peer.roundTrip();
    expect(echo.server.connectionCount).toBe(1);
  });
});

describe('transport client', () => {
  it("rejects a request not answered within its timeout with the owner's REQUEST_TIMEOUT; the connection keeps working", async () => {
    const echo = await Echo.start();
    const client = await EchoClient.connect(echo.server.url);
    const timedOut = caught(await rejectionOf(client.request('silent', 's1', 50), 'an unanswered request'));
    expect(timedOut).toEqual({ code: 'REQUEST_TIMEOUT', details: { id: 's1', timeoutMs: 50 } });
    expect(client.pending.size).toBe(0);
    expect(await client.request('echo', 'after', 5_000, { body: 'still here' })).toBe('still here');
  });

  it('rejects the pending request with CONNECTION_LOST when the server goes away mid-request; later requests are refused', async () => {
    const echo = await Echo.start();
    const client = await EchoClient.connect(echo.server.url);
    const parked = client.request('silent', 'parked');
    const dying = client.request('die', 'd1');
    const [first, second] = [caught(await rejectionOf(dying, 'the request that killed the socket')), caught(await rejectionOf(parked, 'the parked request'))];
    expect(first).toEqual({ code: 'CONNECTION_LOST', details: { closeCode: 1006, id: 'd1' } });
    expect(second).toEqual({ code: 'CONNECTION_LOST', details: { closeCode: 1006, id: 'parked' } });
    expect(client.pending.size).toBe(0);
    expect(client.connection.isOpen).toBe(false);
    expect(client.connection.closeInfo?.code).toBe(1006);
    expect(caught(await rejectionOf(client.request('echo', 'e2'), 'a request after the loss'))).toEqual({ code: 'CLOSED', details: { id: 'e2' } });
  });

  it('rejects a connect to a port nobody listens on with CONNECTION_FAILED', async () => {
    const port = await freePort();
    expect(caught(await rejectionOf(EchoClient.connect(`ws://127.0.0.1:${port}`), 'a connect to a closed port')).code).toBe('CONNECTION_FAILED');
  });

  it('fails the handshake with REQUEST_TIMEOUT when no hello comes within connectTimeoutMs, and closes the socket', async () => {
    const echo = await Echo.start({ helloProtocol: null });
    const error = caught(await rejectionOf(EchoClient.connect(echo.server.url, { connectTimeoutMs: 100 }), 'a connect without hello'));
    expect(error).toEqual({ code: 'REQUEST_TIMEOUT', details: { reason: 'hello', timeoutMs: 100 } });
    const handler = echo.handlers[0];
    await within(handler?.closed ?? Promise.reject(new Error('no handler')), 'the server side to close');
    expect(echo.server.connectionCount).toBe(0);
  });

  it("rejects with the owner's handshake error (a protocol mismatch) and closes the socket", async () => {
    const echo = await Echo.start({ helloProtocol: 2 });
    const error = caught(await rejectionOf(EchoClient.connect(echo.server.url), 'a connect to another protocol'));
    expect(error.code).toBe('PROTOCOL_MISMATCH');
    const handler = echo.handlers[0];
    await within(handler?.closed ?? Promise.reject(new Error('no handler')), 'the server side to close');
    expect(echo.server.connectionCount).toBe(0);
  });

  it('hands messages that arrived right behind the hello to the handler first, in order', async () => {
    const echo = await Echo.start({ afterHello: ['first', 'second', 'third'] });
    const client = await EchoClient.connect(echo.server.url);
    expect(client.hello).toEqual({ type: 'hello', protocol: 1 });
    expect(await client.request('echo', 'e1', 5_000, { body: 'after' })).toBe('after');
    expect(client.unsolicited.map((m) => m.note)).toEqual(['first', 'second', 'third']);
  });

  it('close() is idempotent, closes with 1000 and fails what is pending with CONNECTION_LOST', async () => {
    const echo = await Echo.start();
    const client = await EchoClient.connect(echo.server.url);
    const pending = client.request('silent', 'p1');
    const closing = client.connection.close();
    expect(client.connection.close()).toBe(closing);
    await within(closing, 'the client to close');
    expect(caught(await rejectionOf(pending, 'the pending request'))).toEqual({ code: 'CONNECTION_LOST', details: { closeCode: 1000, id: 'p1' } });
    const handler = echo.handlers[0];
    expect(await within(handler?.closed ?? Promise.reject(new Error('no handler')), 'the server side to close')).toEqual({
      code: 1000,
      reason: 'client closing',
    });
  });

  it('an invalid URL goes through errors.invalidUrl when the owner has one, else is rethrown as it is', async () => {
    const base = { connectTimeoutMs: 1_000, clientHello: { type: 'hello' }, readHandshake: readEchoHandshake, name: 'echo client', log: silentLogger() };
    const raw = await rejectionOf(connectClient<Wire>({ ...base, url: 'not a url', errors: echoErrors }), 'a bad URL without invalidUrl');
    expect(raw).toBeInstanceOf(SyntaxError);
    const mapped = await rejectionOf(
      connectClient<Wire>({
        ...base,
        url: 'not a url',
        errors: { ...echoErrors, invalidUrl: (error) => new VrGrpoError('INVALID_ARGUMENT', describeError(error), { details: { field: 'url' } }) },
      }),
      'a bad URL with invalidUrl',
    );
    expect(caught(mapped)).toEqual({ code: 'INVALID_ARGUMENT', details: { field: 'url' } });
  });
});
