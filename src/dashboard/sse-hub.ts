/**
 * Server-Sent Events for the dashboard's `/feed`: each client gets the messages it missed (by `Last-Event-ID` or
 * `?since=`), then every new message as `id: seq`, `event: step|event|group`, `data: <json>`. Heartbeat comments keep
 * proxies from closing an idle stream. A client whose unsent output exceeds the bound is dropped — its browser
 * reconnects with the last id it saw and catches up from the history — so a stalled tab never grows memory here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/logger.js';
import type { StoredMessage } from './history.js';

/** How long a browser waits before reconnecting a dropped feed, in milliseconds (SSE `retry:`). */
export const SSE_RETRY_MS = 2_000;

export interface SseHubOptions {
  readonly heartbeatIntervalMs: number;
  readonly maxClients: number;
  readonly maxClientBufferBytes: number;
  readonly log: Logger;
}

/** The SSE frame of one message. JSON text has no raw newline, so one `data:` line carries it. */
export function sseFrame(message: StoredMessage): string {
  return `id: ${message.seq}\nevent: ${message.type}\ndata: ${message.json}\n\n`;
}

/** The number after which a connecting client wants messages: `Last-Event-ID` (a reconnect) wins over `?since=`. */
export function resumePoint(req: IncomingMessage, url: URL): number {
  const header = req.headers['last-event-id'];
  const raw = typeof header === 'string' && header.trim() !== '' ? header : url.searchParams.get('since');
  const n = raw === null ? 0 : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #heartbeat: NodeJS.Timeout | null;
  #dropped = 0;
  #closed = false;

  constructor(private readonly options: SseHubOptions) {
    this.#heartbeat =
      options.heartbeatIntervalMs > 0
        ? setInterval(() => {
            for (const res of this.#clients) this.#write(res, ': heartbeat\n\n');
          }, options.heartbeatIntervalMs)
        : null;
    // The hub is closed with its server; never let a forgotten one keep the process alive.
    this.#heartbeat?.unref();
  }

  /** Open feed connections. */
  get size(): number {
    return this.#clients.size;
  }

  /** Clients dropped for falling behind, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Starts a feed on `res`: headers, the retry hint, a `hello` event with the current number `seq` (a page that saw a
   * larger one talks to a restarted server and reloads), then `backlog`. Answers 503 when the hub is full or closed.
   * The client is forgotten when its connection closes.
   */
  open(res: ServerResponse, backlog: readonly StoredMessage[], seq: number): void {
    if (this.#closed || this.#clients.size >= this.options.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5', 'cache-control': 'no-store' });
      res.end(this.#closed ? 'closing\n' : 'too many feed clients\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
    // The backlog is bounded by the history limits, so it is written whole, without the slow-client check.
    res.write(`retry: ${SSE_RETRY_MS}\nevent: hello\ndata: {"seq":${seq}}\n\n${backlog.map(sseFrame).join('')}`);
  }

  /** Sends one message to every client. */
  broadcast(message: StoredMessage): void {
    if (this.#clients.size === 0) return;
    const frame = sseFrame(message);
    for (const res of this.#clients) this.#write(res, frame);
  }

  #write(res: ServerResponse, text: string): void {
    if (res.destroyed || res.writableEnded) {
      this.#clients.delete(res);
      return;
    }
    res.write(text);
    if (res.writableLength > this.options.maxClientBufferBytes) {
      this.#dropped += 1;
      this.options.log.warn({ queuedBytes: res.writableLength, limit: this.options.maxClientBufferBytes }, 'dropping a slow feed client');
      this.#clients.delete(res);
      res.destroy();
    }
  }

  /** Ends every feed and stops the heartbeat. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
