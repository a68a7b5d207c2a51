/**
 * Reward-server test helpers: an artifact root with real MP4s (and files/symlinks outside it), a server factory, a
 * raw protocol peer that queues every server message, and bounded waits. Every wait has a timeout.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket, type RawData } from 'ws';
import { silentLogger } from '../../src/common/logger.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import { parseServerMessage, type ServerMessage } from '../../src/protocol/index.js';
import { RewardServer, type RewardServerOptions } from '../../src/reward-server/index.js';
import { BrightnessJudge } from './brightness-judge.js';

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

/** A clip whose every byte is `level`. */
export function uniformVideo(level: number, width = 16, height = 16, frameCount = 4, fps = 8): RawVideo {
  return { width, height, frameCount, fps, data: new Uint8Array(width * height * 3 * frameCount).fill(level) };
}

export function fileUri(file: string): string {
  return pathToFileURL(file).href;
}

/** A temp artifact root with bright.mp4 (level 200), dark.mp4 (level 40), corrupt.mp4, and traps pointing outside. */
export class ArtifactFixture {
  private constructor(
    readonly base: string,
    readonly root: string,
    readonly outside: string,
    readonly media: Media,
  ) {}

  static async create(): Promise<ArtifactFixture> {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-rs-')));
    const root = path.join(base, 'artifacts');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    const media = await Media.create();
    await Promise.all([
      media.encodeMp4(uniformVideo(200, 32, 32, 6), path.join(root, 'bright.mp4')),
      media.encodeMp4(uniformVideo(40, 32, 32, 6), path.join(root, 'dark.mp4')),
    ]);
    fs.copyFileSync(path.join(root, 'bright.mp4'), path.join(outside, 'secret.mp4'));
    fs.writeFileSync(path.join(root, 'corrupt.mp4'), Buffer.from('this is not an mp4 file at all'.repeat(20)));
    fs.symlinkSync(path.join(outside, 'secret.mp4'), path.join(root, 'escape.mp4'));
    fs.symlinkSync(outside, path.join(root, 'escape-dir'));
    fs.symlinkSync(path.join(root, 'dark.mp4'), path.join(root, 'sub', 'inner-link.mp4'));
    return new ArtifactFixture(base, root, outside, media);
  }

  /** `file://` URI of `name` under the root. */
  uri(name: string): string {
    return fileUri(path.join(this.root, name));
  }

  remove(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

/** Starts a server on 127.0.0.1:0 with a fresh BrightnessJudge (unless given) and quiet logs. */
export async function startServer(
  fixture: ArtifactFixture,
  overrides: Partial<RewardServerOptions> = {},
): Promise<{ server: RewardServer; judge: BrightnessJudge }> {
  const judge = overrides.service instanceof BrightnessJudge ? overrides.service : new BrightnessJudge();
  const server = await RewardServer.start({
    service: judge,
    media: fixture.media,
    log: silentLogger(),
    artifactRoot: fixture.root,
    host: '127.0.0.1',
    port: 0,
    ...overrides,
  });
  return { server, judge };
}

/** The text of a ws message, whatever shape `ws` delivered it in. */
export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

type ErrorMsg = Extract<ServerMessage, { type: 'error' }>;

/** A raw protocol peer: sends anything, queues every server message parsed with `parseServerMessage`. */
export class Peer {
  readonly #queue: ServerMessage[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly #closed: Promise<{ code: number; reason: string }>;
  /** Server messages that failed `parseServerMessage` (should stay empty). */
  readonly invalid: string[] = [];
  /** The server `hello` received on open. */
  hello: ServerMessage | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? '<binary>' : rawText(data);
      const parsed = parseServerMessage(text);
      if (parsed.ok) this.#queue.push(parsed.message);
      else this.invalid.push(text);
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

  /** Opens a connection and waits for the server `hello`. */
  static async open(url: string, options: { token?: string; autoPong?: boolean } = {}): Promise<Peer> {
    const ws = new WebSocket(url, {
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      autoPong: options.autoPong ?? true,
    });
    const peer = new Peer(ws);
    const hello = await peer.next();
    if (hello.type !== 'hello') throw new Error(`expected hello, got ${hello.type}`);
    peer.hello = hello;
    return peer;
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

  /** Sends a video header and its frames. */
  sendVideo(ref: string, video: RawVideo): void {
    this.send({ type: 'video', ref, width: video.width, height: video.height, frameCount: video.frameCount, pixelFormat: 'rgb24', fps: video.fps });
    this.sendBinary(video.data);
  }

  /** The next queued message matching `predicate` (earlier non-matching ones are kept). */
  async next(predicate: (m: ServerMessage) => boolean = () => true, ms = WAIT_MS): Promise<ServerMessage> {
    const found = async (): Promise<ServerMessage> => {
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
    return within(found(), 'a server message', ms);
  }

  /** The next message about `id` (error, verdict, turn, pong, status) or `ref` (video_received). */
  nextFor(id: string, ms = WAIT_MS): Promise<ServerMessage> {
    return this.next((m) => ('id' in m && m.id === id) || (m.type === 'video_received' && m.ref === id), ms);
  }

  /** The next `error` message for `id` (null: an error without id); fails if something else about `id` comes first. */
  async nextError(id: string | null, ms = WAIT_MS): Promise<ErrorMsg> {
    const message = id === null ? await this.next((m) => m.type === 'error' && m.id === null, ms) : await this.nextFor(id, ms);
    if (message.type !== 'error') throw new Error(`expected an error for ${String(id)}, got ${JSON.stringify(message)}`);
    return message;
  }

  /** Messages queued and not yet taken. */
  get queued(): readonly ServerMessage[] {
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
