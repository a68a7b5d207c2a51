/**
 * The transport side of one accepted WebSocket connection: heartbeat bookkeeping, the closing flag, sends that never
 * throw, the bound on what may wait unread in its send buffer (a peer that does not read is closed with 1008
 * SLOW_CONSUMER), and delivery of every message (as a Buffer) to the protocol handler that owns the connection. Nothing outside
 * src/transport sees the `ws` socket.
 */
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../common/logger.js';
import { redactServerPaths } from './redact.js';
import { describeError } from './settle.js';

/** WebSocket close codes both servers use. */
export const CLOSE_CODES = Object.freeze({
  /** Server shutting down. */
  goingAway: 1001,
  /** Protocol version mismatch (PROTOCOL_MISMATCH). */
  protocolError: 1002,
  /** Policy violation: a peer that leaves more than `maxSendBufferBytes` unread (reason starts with `SLOW_CONSUMER`). */
  policyViolation: 1008,
  /** A message over `maxPayloadBytes` (PAYLOAD_TOO_LARGE); sent by the WebSocket layer itself. */
  messageTooBig: 1009,
});

/**
 * Messages that may wait unflushed for a peer, whatever their bytes: each queued write costs ~1 KiB of bookkeeping
 * besides its data, so a flood of tiny answers is bounded by count as well as by `maxSendBufferBytes`.
 */
export const MAX_UNFLUSHED_MESSAGES = 16_384;

/** How long a slow consumer gets to take its close frame before its socket is dropped, in milliseconds. */
export const SLOW_CONSUMER_CLOSE_TIMEOUT_MS = 2_000;

/** Limits of one connection (the server's, compiled). */
export interface ServerConnectionLimits {
  /** Bytes that may wait unread for the peer when it sends a message; more closes the connection (1008 SLOW_CONSUMER). */
  readonly maxSendBufferBytes: number;
}

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

/** An `error` message with its `message` text redacted (other fields as they are). */
function redactedError(message: { readonly type: string }): object {
  const text: unknown = (message as { readonly message?: unknown }).message;
  return typeof text === 'string' ? { ...message, message: redactServerPaths(text) } : message;
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
  readonly #limits: ServerConnectionLimits;
  /** Messages handed to the socket whose write has not completed yet. */
  #unflushed = 0;
  /** Drops a slow consumer that did not take its close frame in time; cleared when the socket closes. */
  #dropTimer: NodeJS.Timeout | null = null;

  /** Wraps an open socket; `forget` runs after the handler's `onClose`. Registers listeners only (no I/O). */
  constructor(
    readonly id: number,
    ws: WebSocket,
    log: Logger,
    forget: (connection: ServerConnection) => void,
    limits: ServerConnectionLimits,
  ) {
    this.#ws = ws;
    this.log = log;
    this.#limits = limits;
    this.#closed = new Promise<void>((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.#closing = true;
        if (this.#dropTimer !== null) clearTimeout(this.#dropTimer);
        this.#dropTimer = null;
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
      // Checked before any work: a peer that keeps sending without reading the answers would grow our memory unbounded.
      if (ws.bufferedAmount > this.#limits.maxSendBufferBytes || this.#unflushed > MAX_UNFLUSHED_MESSAGES) {
        this.#closeSlowConsumer();
        return;
      }
      try {
        handler.onMessage(toBuffer(data), isBinary);
      } catch (error) {
        this.log.error({ err: describeError(error) }, 'message handler failed');
        handler.onHandlerError(error);
      }
    });
  }

  /** The bytes queued for the peer that it has not read yet (ours and the kernel's not counted). */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  #closeSlowConsumer(): void {
    const buffered = this.#ws.bufferedAmount;
    this.log.warn(
      { bufferedBytes: buffered, unflushed: this.#unflushed, limit: this.#limits.maxSendBufferBytes },
      'peer does not read its messages; closing (SLOW_CONSUMER)',
    );
    this.close(CLOSE_CODES.policyViolation, 'SLOW_CONSUMER: send buffer limit exceeded; read your messages');
    // The close frame waits behind everything the peer did not read: drop the socket (and its buffer) if it never takes it.
    this.#dropTimer = setTimeout(() => {
      this.#dropTimer = null;
      this.#ws.terminate();
    }, SLOW_CONSUMER_CLOSE_TIMEOUT_MS);
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

  /**
   * Sends one JSON text message; dropped unless the socket is open. A failed send is logged, never thrown. The
   * `message` of an `error` goes out without absolute server paths (`redactServerPaths`): log the full text yourself.
   */
  sendJson(message: { readonly type: string }): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const text = message.type === 'error' ? JSON.stringify(redactedError(message)) : JSON.stringify(message);
    this.#unflushed += 1;
    this.#ws.send(text, (error) => {
      this.#unflushed -= 1;
      if (error !== undefined && error !== null) this.log.debug({ err: error.message, type: message.type }, 'send failed');
    });
  }

  /** Sends one binary message; dropped unless the socket is open. */
  sendBinary(data: Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#unflushed += 1;
    this.#ws.send(data, { binary: true }, (error) => {
      this.#unflushed -= 1;
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
