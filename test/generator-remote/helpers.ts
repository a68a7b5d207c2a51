/**
 * Generator-worker test helpers: bounded waits, a worker factory on 127.0.0.1:0, a raw protocol peer that queues every
 * worker message (binary ones too, in order), and plain HTTP probes. Every wait has a timeout.
 */
import http from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { silentLogger } from '../../src/common/logger.js';
import type { Config } from '../../src/config/index.js';
import type { FlowGrpoOptions } from '../../src/generator/flow-grpo-trainer.js';
import { GeneratorWorkerServer, type GeneratorWorkerOptions } from '../../src/generator/remote/index.js';
import { parseGeneratorWorkerMessage, type GeneratorWorkerMessage } from '../../src/protocol/generator-messages.js';

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

/** Flow-GRPO trainer options from `config.training` (what `serve-generator` uses). */
export function trainerOptions(config: Config): FlowGrpoOptions {
  const t = config.training;
  return { learningRate: t.learningRate, clipRange: t.clipRange, beta: t.beta, timestepFraction: t.timestepFraction, maxGradNorm: t.maxGradNorm, innerEpochs: t.innerEpochs };
}

/** Starts a worker on 127.0.0.1:0 with quiet logs. */
export function startWorker(options: Omit<GeneratorWorkerOptions, 'log'> & Partial<Pick<GeneratorWorkerOptions, 'log'>>): Promise<GeneratorWorkerServer> {
  return GeneratorWorkerServer.start({ log: silentLogger(), host: '127.0.0.1', port: 0, ...options });
}

/** A binary message as the peer saw it. */
export interface BinaryEvent {
  readonly type: 'binary';
  readonly data: Buffer;
}
export type WireEvent = GeneratorWorkerMessage | BinaryEvent;
type ErrorMsg = Extract<GeneratorWorkerMessage, { type: 'error' }>;

function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

/** A raw protocol peer: sends anything, queues every worker message (text parsed, binary kept) in arrival order. */
export class Peer {
  readonly #queue: WireEvent[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly #closed: Promise<{ code: number; reason: string }>;
  /** Worker text messages that failed `parseGeneratorWorkerMessage` (should stay empty). */
  readonly invalid: string[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buffer = toBuffer(data);
      if (isBinary) this.#queue.push({ type: 'binary', data: buffer });
      else {
        const parsed = parseGeneratorWorkerMessage(buffer.toString('utf8'));
        if (parsed.ok) this.#queue.push(parsed.message);
        else this.invalid.push(buffer.toString('utf8'));
      }
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

  /** Opens a connection and waits for the worker `hello`. */
  static async open(url: string, options: { token?: string; autoPong?: boolean } = {}): Promise<Peer> {
    const ws = new WebSocket(url, {
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      autoPong: options.autoPong ?? true,
    });
    const peer = new Peer(ws);
    const hello = await peer.next();
    if (hello.type !== 'hello') throw new Error(`expected hello, got ${hello.type}`);
    return peer;
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next queued event matching `predicate` (earlier non-matching ones are kept). */
  async next(predicate: (m: WireEvent) => boolean = () => true, ms = WAIT_MS): Promise<WireEvent> {
    const found = async (): Promise<WireEvent> => {
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
    return within(found(), 'a worker message', ms);
  }

  /** The next text message about request `id`. */
  nextFor(id: string, ms = WAIT_MS): Promise<WireEvent> {
    return this.next((m) => m.type !== 'binary' && 'id' in m && m.id === id, ms);
  }

  /** The next `error` for `id` (null: an error without id); fails if something else about `id` comes first. */
  async nextError(id: string | null, ms = WAIT_MS): Promise<ErrorMsg> {
    const message = id === null ? await this.next((m) => m.type === 'error' && m.id === null, ms) : await this.nextFor(id, ms);
    if (message.type !== 'error') throw new Error(`expected an error for ${String(id)}, got ${JSON.stringify(message)}`);
    return message;
  }

  /** Events queued and not yet taken. */
  get queued(): readonly WireEvent[] {
    return this.#queue;
  }

  /** Sends a ping and waits for its pong: proof the connection is still served. */
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

/** The HTTP status the worker answers an upgrade with (101 when it is accepted). */
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

/** GET `path` on the worker's HTTP side: status and parsed JSON body. */
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
