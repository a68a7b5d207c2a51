/**
 * Test helpers shared by every WebSocket test (transport, reward server, generator worker): bounded waits, a raw
 * protocol peer that queues every message it receives in arrival order, and plain HTTP / upgrade probes. Every wait
 * has a timeout.
 */
import http from 'node:http';
import { WebSocket, type RawData } from 'ws';

/** Default bound of every wait in these tests, in milliseconds. */
export const WAIT_MS = 5_000;

/** Rejects when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection of `promise` (fails when it resolves), bounded by `ms`. */
export async function rejectionOf(promise: Promise<unknown>, what: string, ms = WAIT_MS): Promise<unknown> {
  return within(
    promise.then(
      (value) => {
        throw new Error(`expected ${what} to reject, it resolved with ${JSON.stringify(value)?.slice(0, 200) ?? 'undefined'}`);
      },
      (error: unknown) => error,
    ),
    what,
    ms,
  );
}

/** A ws message as one Buffer, whatever shape `ws` delivered it in. */
export function rawBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

/** The text of a ws message, whatever shape `ws` delivered it in. */
export function rawText(data: RawData): string {
  return rawBuffer(data).toString('utf8');
}

/** How a peer reads one message: the event to queue, or `{ invalid }` for text that does not parse. */
export type Decode<M> = (data: Buffer, isBinary: boolean) => M | { readonly invalid: string };

/** Options of a peer connection. */
export interface PeerOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Whether pings are answered (false: a silent peer for heartbeat tests). Default: true. */
  readonly autoPong?: boolean;
}

/** Opens a `ws` client socket with the peer options. */
export function openSocket(url: string, options: PeerOptions = {}): WebSocket {
  return new WebSocket(url, {
    headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
    autoPong: options.autoPong ?? true,
  });
}

/** A raw protocol peer: sends anything, queues every decoded message in arrival order. */
export class WirePeer<M extends { readonly type: string }> {
  readonly #queue: M[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly #closed: Promise<{ code: number; reason: string }>;
  /** Text messages that failed to parse (should stay empty). */
  readonly invalid: string[] = [];

  constructor(
    readonly ws: WebSocket,
    decode: Decode<M>,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const event = decode(rawBuffer(data), isBinary);
      if ('invalid' in event) this.invalid.push(event.invalid);
      else this.#queue.push(event);
      this.#wake();
    });
    ws.on('error', () => undefined);
    this.#closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        this.#wake();
      });
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    this.ws.send(data, { binary: true });
  }

  /** The next queued message matching `predicate` (earlier non-matching ones are kept). */
  async next(predicate: (m: M) => boolean = () => true, ms = WAIT_MS): Promise<M> {
    const found = async (): Promise<M> => {
      for (;;) {
        const index = this.#queue.findIndex(predicate);
        const message = this.#queue[index];
        if (message !== undefined) {
          this.#queue.splice(index, 1);
          return message;
        }
        if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting for a message');
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return within(found(), 'a message from the server', ms);
  }

  /** The next message whose `id` is `id`. */
  nextFor(id: string, ms = WAIT_MS): Promise<M> {
    return this.next((m) => 'id' in m && m.id === id, ms);
  }

  /** The next `error` for `id` (null: an error without id); fails if something else about `id` comes first. */
  async nextError(id: string | null, ms = WAIT_MS): Promise<Extract<M, { type: 'error' }>> {
    const message = id === null ? await this.next((m) => m.type === 'error' && 'id' in m && m.id === null, ms) : await this.nextFor(id, ms);
    if (message.type !== 'error') throw new Error(`expected an error for ${String(id)}, got ${JSON.stringify(message)}`);
    return message as Extract<M, { type: 'error' }>;
  }

  /** Messages queued and not yet taken. */
  get queued(): readonly M[] {
    return this.#queue;
  }

  /** Sends a protocol ping and waits for its pong: proof the connection is still served. */
  async roundTrip(id = `ping-${Math.random().toString(36).slice(2)}`): Promise<void> {
    this.send({ type: 'ping', id, t: 1 });
    const pong = await this.nextFor(id);
    if (pong.type !== 'pong') throw new Error(`expected pong, got ${pong.type}`);
  }

  whenClosed(ms = WAIT_MS): Promise<{ code: number; reason: string }> {
    return within(this.#closed, 'the connection to close', ms);
  }

  /** Closes (handshake) and waits. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.whenClosed().catch(() => this.ws.terminate());
  }
}

/** The HTTP status the server answers an upgrade with (101 when it is accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', (error: Error) => reject(error));
    }),
    'the upgrade answer',
  );
}

/** An upgrade refusal as the client sees it: HTTP status, headers and the raw body. */
export function upgradeRefusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          ws.terminate();
        });
      });
      ws.on('error', (error: Error) => reject(error));
    }),
    'the upgrade refusal',
  );
}

/** GET `path` on the server's HTTP side: status and parsed JSON body. */
export function httpGet(port: number, pathName: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: pathName, method, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? null : (JSON.parse(text) as unknown) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    `HTTP ${method} ${pathName}`,
  );
}
