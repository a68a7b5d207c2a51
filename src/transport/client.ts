/**
 * The request/response WebSocket client both of our clients (reward client, remote generator) stand on: `connect`
 * opens the socket (bearer token, no permessage-deflate, optional `maxPayload`), sends the client hello and waits for
 * the server's, bounded by a timeout; the connection then sends requests registered in a `PendingTable` (each with its
 * own timeout), hands every message to the owner's handler, tells it when the socket closes, and `close()` is
 * idempotent. Which errors a failure becomes (codes, messages, details) is the owner's: see `ClientErrors`.
 */
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../common/logger.js';
import type { VrGrpoError } from '../errors/index.js';
import type { PendingTable, Settle } from './pending.js';
import { toBuffer } from './server-connection.js';
import { describeError } from './settle.js';

/** How long `close()` waits for the closing handshake before dropping the socket, in milliseconds. */
export const CLIENT_CLOSE_TIMEOUT_MS = 2_000;

/** The errors a client reports, built by its owner (each protocol has its own codes and wording). */
export interface ClientErrors {
  /** No server hello within the connect timeout. */
  handshakeTimeout(timeoutMs: number): VrGrpoError;
  /** The server answered the upgrade with HTTP `status` (401, 503, …) instead of switching protocols. */
  upgradeRefused(status: number): VrGrpoError;
  /** The socket failed before the server hello. */
  connectFailed(error: Error): VrGrpoError;
  /** The socket closed before the server hello. */
  closedBeforeHello(code: number): VrGrpoError;
  /** A request while the connection is not open. */
  notOpen(id: string): VrGrpoError;
  /** A request not answered within `timeoutMs`. */
  requestTimeout(id: string, timeoutMs: number): VrGrpoError;
  /** Sending a request failed. */
  sendFailed(id: string, error: Error): VrGrpoError;
  /** `new WebSocket(url)` threw (a malformed URL). Default: the thrown error as it is. */
  invalidUrl?(error: unknown): Error;
}

/** One text message read during the handshake: the server hello (done), a failure, or `null` (ignored). */
export type HandshakeStep<H> = { readonly hello: H } | { readonly error: VrGrpoError } | null;

export interface ConnectOptions<H> {
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` on the upgrade. */
  readonly token?: string;
  /** Largest message accepted from the server, in bytes. Default: the `ws` default. */
  readonly maxPayloadBytes?: number;
  /** Time to open the socket and receive the server hello, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Sent (as JSON) as soon as the socket opens. */
  readonly clientHello: object;
  /** Reads one text message of the handshake. */
  readonly readHandshake: (text: string) => HandshakeStep<H>;
  readonly errors: ClientErrors;
  /** Names the client in log lines (`'<name>: message handler failed'`). */
  readonly name: string;
  readonly log: Logger;
}

/** What the owner does with the connection's traffic after the handshake. */
export interface ClientHandler {
  /** One message from the server. A throw is logged; the connection stays. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** The socket closed (code and reason of the close). Fail what is pending here. */
  onClose(code: number, reason: string): void;
}

interface Early {
  readonly data: RawData;
  readonly isBinary: boolean;
}

/** Opens a connection and completes the handshake; rejects with the owner's errors (the socket is then closed). */
export async function connectClient<H>(options: ConnectOptions<H>): Promise<{ readonly hello: H; readonly connection: ClientConnection }> {
  const { url, token, maxPayloadBytes, errors } = options;
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      ...(maxPayloadBytes === undefined ? {} : { maxPayload: maxPayloadBytes }),
    });
  } catch (error) {
    if (errors.invalidUrl !== undefined) throw errors.invalidUrl(error);
    throw error instanceof Error ? error : new Error(String(error));
  }
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  let done: { hello: H; takeEarly: () => Early[] };
  try {
    done = await handshake(ws, options);
  } catch (error) {
    ws.terminate();
    await closed;
    throw error;
  }
  return { hello: done.hello, connection: new ClientConnection(ws, closed, done.takeEarly(), options) };
}

function handshake<H>(ws: WebSocket, options: ConnectOptions<H>): Promise<{ hello: H; takeEarly: () => Early[] }> {
  const { errors, connectTimeoutMs } = options;
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('unexpected-response', onUnexpected);
      ws.off('error', onError);
      ws.off('close', onClose);
      ws.off('open', onOpen);
    };
    const fail = (error: VrGrpoError): void => {
      cleanup();
      // Later socket errors (after terminate) must not be unhandled.
      ws.on('error', () => undefined);
      reject(error);
    };
    const timer = setTimeout(() => fail(errors.handshakeTimeout(connectTimeoutMs)), connectTimeoutMs);
    const onOpen = (): void => {
      ws.send(JSON.stringify(options.clientHello));
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const step = options.readHandshake(toBuffer(data).toString('utf8'));
      if (step === null) return;
      if ('error' in step) {
        fail(step.error);
        return;
      }
      cleanup();
      ws.on('error', () => undefined); // errors after the handshake are reported through 'close'
      // Keep what arrives until the owner listens (a TCP segment can hold several frames behind the hello).
      const early: Early[] = [];
      const keep = (more: RawData, moreIsBinary: boolean): void => {
        early.push({ data: more, isBinary: moreIsBinary });
      };
      ws.on('message', keep);
      resolve({
        hello: step.hello,
        takeEarly: () => {
          ws.off('message', keep);
          return early.splice(0);
        },
      });
    };
    const onUnexpected = (_request: unknown, response: IncomingMessage): void => {
      const status = response.statusCode ?? 0;
      response.resume();
      fail(errors.upgradeRefused(status));
    };
    const onError = (error: Error): void => {
      fail(errors.connectFailed(error));
    };
    const onClose = (code: number): void => {
      fail(errors.closedBeforeHello(code));
    };
    ws.on('open', onOpen);
    ws.on('message', onMessage);
    ws.on('unexpected-response', onUnexpected);
    ws.on('error', onError);
    ws.on('close', onClose);
  });
}

/** An open client connection after its handshake. Made by `connectClient`. */
export class ClientConnection {
  readonly #ws: WebSocket;
  readonly #closed: Promise<void>;
  readonly #errors: ClientErrors;
  readonly #name: string;
  readonly #log: Logger;
  /** Messages that arrived before `attach`; null once attached. */
  #early: Early[] | null;
  #handler: ClientHandler | null = null;
  #closeInfo: { code: number; reason: string } | null = null;
  #closing: Promise<void> | null = null;

  /** Registers listeners only (no I/O). */
  constructor(ws: WebSocket, closed: Promise<void>, early: Early[], options: Pick<ConnectOptions<unknown>, 'errors' | 'name' | 'log'>) {
    this.#ws = ws;
    this.#closed = closed;
    this.#early = early;
    this.#errors = options.errors;
    this.#name = options.name;
    this.#log = options.log;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#early === null) this.#deliver(data, isBinary);
      else this.#early.push({ data, isBinary });
    });
    ws.once('close', (code: number, reason: Buffer) => {
      this.#closeInfo = { code, reason: reason.toString('utf8') };
      this.#handler?.onClose(code, this.#closeInfo.reason);
    });
  }

  /** Hands the traffic to `handler`: first the messages that arrived behind the hello, then the rest. Once only. */
  attach(handler: ClientHandler): void {
    if (this.#handler !== null) throw new Error('transport: a client handler is already attached');
    this.#handler = handler;
    const early = this.#early ?? [];
    this.#early = null;
    for (const message of early) this.#deliver(message.data, message.isBinary);
    if (this.#closeInfo !== null) handler.onClose(this.#closeInfo.code, this.#closeInfo.reason);
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Close code and reason once the connection closed, else null. */
  get closeInfo(): { readonly code: number; readonly reason: string } | null {
    return this.#closeInfo;
  }

  /**
   * Sends `message` as a request registered under `key` in `table` (the entry `make` builds), answered through the
   * table by the owner's handler. Rejects with the owner's errors when the connection is not open, the send fails, or
   * no answer comes within `timeoutMs` (`onTimeout` sees the entry first).
   */
  request<T, E extends { readonly reject: (error: VrGrpoError) => void }>(
    table: PendingTable<E>,
    key: string,
    message: object,
    timeoutMs: number,
    make: (settle: Settle<T>) => E,
    onTimeout?: (entry: E) => void,
  ): Promise<T> {
    if (!this.isOpen) return Promise.reject(this.#errors.notOpen(key));
    return new Promise<T>((resolve, reject) => {
      table.add(key, make({ resolve, reject }), timeoutMs, (entry) => {
        onTimeout?.(entry);
        reject(this.#errors.requestTimeout(key, timeoutMs));
      });
      this.#ws.send(JSON.stringify(message), (error) => {
        if (error === undefined || error === null) return;
        table.take(key)?.reject(this.#errors.sendFailed(key, error));
      });
    });
  }

  /** Sends a message that expects no tracked answer; dropped unless the socket is open. */
  sendJson(message: object): void {
    if (this.isOpen) this.#ws.send(JSON.stringify(message));
  }

  /** Sends `text` as one text message exactly as given (need not be JSON: protocol conformance checks); dropped unless open. */
  sendText(text: string): void {
    if (this.isOpen) this.#ws.send(text);
  }

  /** Sends one binary message; dropped unless the socket is open. */
  sendBinary(data: Uint8Array): void {
    if (this.isOpen) this.#ws.send(data, { binary: true });
  }

  /** Closes (1000, `client closing`), dropping the socket if the handshake takes too long. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000, 'client closing');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.#closed.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), CLIENT_CLOSE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.#ws.terminate();
        await this.#closed;
      }
    })();
    return this.#closing;
  }

  #deliver(data: RawData, isBinary: boolean): void {
    try {
      this.#handler?.onMessage(toBuffer(data), isBinary);
    } catch (error) {
      this.#log.error({ err: describeError(error) }, `${this.#name}: message handler failed`);
    }
  }
}
