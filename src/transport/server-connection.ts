/**
 * The transport side of one accepted WebSocket connection: heartbeat bookkeeping, the closing flag, sends that never
 * throw, and delivery of every message (as a Buffer) to the protocol handler that owns the connection. Nothing outside
 * src/transport sees the `ws` socket.
 */
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../common/logger.js';
import { describeError } from './settle.js';

/** WebSocket close codes both servers use. */
export const CLOSE_CODES = Object.freeze({
  /** Server shutting down. */
  goingAway: 1001,
  /** Protocol version mismatch (PROTOCOL_MISMATCH). */
  protocolError: 1002,
  /** A message over `maxPayloadBytes` (PAYLOAD_TOO_LARGE); sent by the WebSocket layer itself. */
  messageTooBig: 1009,
});

/** What a protocol handler does with one connection's traffic. */
export interface ConnectionHandler {
  /** Called once, right after the handler is attached (e.g. to send a `hello`). */
  onOpen?(): void;
  /** One message, text or binary; never called once the connection is closing. A throw goes to `onHandlerError`. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** `onMessage` threw — a bug, not the peer's fault (already logged): answer it; the connection keeps serving. */
  onHandlerError(error: unknown): void;
  /** The socket closed; nothing can be sent any more. */
  onClose(code: number, reason: string): void;
}

/** A `ws` message as one Buffer, whatever shape it was delivered in. */
export function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

export class ServerConnection {
  /** The connection's logger (`conn` and `remote` bound). */
  readonly log: Logger;
  readonly #ws: WebSocket;
  #handler: ConnectionHandler | null = null;
  /** Whether the peer answered the last heartbeat ping (or sent anything since). */
  #alive = true;
  /** Set once we started closing or the socket closed: later messages are ignored. */
  #closing = false;
  readonly #closed: Promise<void>;

  /** Wraps an open socket; `forget` runs after the handler's `onClose`. Registers listeners only (no I/O). */
  constructor(
    readonly id: number,
    ws: WebSocket,
    log: Logger,
    forget: (connection: ServerConnection) => void,
  ) {
    this.#ws = ws;
    this.log = log;
    this.#closed = new Promise<void>((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.#closing = true;
        this.#handler?.onClose(code, reason.toString('utf8'));
        forget(this);
        resolve();
      });
    });
    ws.on('error', (error: Error) => {
      // `ws` closes the socket itself (1009 for an oversized message, 1002 for a framing error).
      this.log.warn({ err: error.message }, 'websocket error');
    });
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.#alive = true;
      const handler = this.#handler;
      if (handler === null || this.#closing) return;
      try {
        handler.onMessage(toBuffer(data), isBinary);
      } catch (error) {
        this.log.error({ err: describeError(error) }, 'message handler failed');
        handler.onHandlerError(error);
      }
    });
  }

  /** Hands the connection's traffic to `handler` and calls its `onOpen`. Once only. */
  attach(handler: ConnectionHandler): void {
    if (this.#handler !== null) throw new Error('transport: a connection handler is already attached');
    this.#handler = handler;
    handler.onOpen?.();
  }

  /** Whether closing started (by either side): nothing new should be started for this peer. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Resolves when the socket has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Sends one JSON text message; dropped unless the socket is open. A failed send is logged, never thrown. */
  sendJson(message: { readonly type: string }): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(JSON.stringify(message), (error) => {
      if (error !== undefined && error !== null) this.log.debug({ err: error.message, type: message.type }, 'send failed');
    });
  }

  /** Sends one binary message; dropped unless the socket is open. */
  sendBinary(data: Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(data, { binary: true }, (error) => {
      if (error !== undefined && error !== null) this.log.debug({ err: error.message }, 'binary send failed');
    });
  }

  /** One heartbeat round: terminates a peer that did not answer the previous ping, else pings it. */
  heartbeat(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (!this.#alive) {
      this.log.warn('peer missed a heartbeat; terminating');
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    try {
      this.#ws.ping();
    } catch (error) {
      this.log.debug({ err: describeError(error) }, 'ping failed');
    }
  }

  /** Starts the closing handshake (no effect once closed). */
  close(code: number, reason: string): void {
    this.#closing = true;
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code, reason);
  }

  /** Drops the socket without a handshake. */
  terminate(): void {
    this.#closing = true;
    this.#ws.terminate();
  }
}
