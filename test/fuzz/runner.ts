/**
 * Plays fuzz cases against a reward server and checks each answer against the case's expectations. Two transports:
 * a `ws` WebSocket client (one long-lived connection per lane, reopened after a case closes it), and a raw TCP socket
 * with a hand-written handshake and hand-made frames (wrong frame headers, slow clients). After each case that must
 * leave the connection open, a sentinel `ping` proves the connection is still served and bounds the wait.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { ALL_ERROR_CODES } from '../../src/errors/index.js';
import { parseServerMessage, type ServerMessage } from '../../src/protocol/index.js';
import { ROOT_TOKEN, SENTINEL_PREFIX, expandText, type Expectation, type FuzzCase, type FuzzFrame } from './corpus.js';

/** How long one case may take before it counts as a failure (no answer), in milliseconds. */
export const CASE_TIMEOUT_MS = 5_000;

export interface CaseFailure {
  readonly index: number;
  readonly category: string;
  readonly note: string;
  readonly problem: string;
}

/** Statistics over a run: answers by error code, replies by type, closes by code. */
export interface RunStats {
  cases: number;
  hostileMessages: number;
  errors: Record<string, number>;
  replies: Record<string, number>;
  closes: Record<string, number>;
  /** Longest error message text the server sent, in characters. */
  longestErrorMessage: number;
}

export function emptyStats(): RunStats {
  return { cases: 0, hostileMessages: 0, errors: {}, replies: {}, closes: {}, longestErrorMessage: 0 };
}

function bump(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Matches the server's answers of one case against its expectations. */
class CaseCheck {
  readonly #open: Expectation[];
  readonly problems: string[] = [];
  sentinelSeen = false;

  constructor(
    readonly fuzzCase: FuzzCase,
    readonly sentinel: string | null,
    private readonly stats: RunStats,
  ) {
    this.#open = [...fuzzCase.expect];
  }

  /** Whether every expected answer (and the sentinel, if any) arrived. */
  get complete(): boolean {
    return this.#open.length === 0 && (this.sentinel === null || this.sentinelSeen);
  }

  get missing(): readonly Expectation[] {
    return this.#open;
  }

  offer(message: ServerMessage): void {
    if (message.type === 'pong' && this.sentinel !== null && message.id === this.sentinel) {
      this.sentinelSeen = true;
      return;
    }
    if (message.type === 'error') {
      bump(this.stats.errors, message.code);
      this.stats.longestErrorMessage = Math.max(this.stats.longestErrorMessage, message.message.length);
      if (!(ALL_ERROR_CODES as readonly string[]).includes(message.code)) this.problems.push(`error code ${message.code} is not in the catalogue`);
    } else {
      bump(this.stats.replies, message.type);
    }
    // Streamed turns may precede an expected verdict.
    if (message.type === 'turn' && this.#open.some((e) => 'reply' in e && e.reply === 'verdict' && e.id === message.id)) return;
    const index = this.#open.findIndex((e) => matches(e, message));
    if (index < 0) {
      this.problems.push(`unexpected ${describeMessage(message)}`);
      return;
    }
    this.#open.splice(index, 1);
  }
}

function messageId(message: ServerMessage): string | null {
  if (message.type === 'video_received') return message.ref;
  return 'id' in message ? message.id : null;
}

function matches(expectation: Expectation, message: ServerMessage): boolean {
  const id = messageId(message);
  if ('error' in expectation) return message.type === 'error' && id === expectation.id && (expectation.error as readonly string[]).includes(message.code);
  return message.type === expectation.reply && id === expectation.id;
}

function describeMessage(message: ServerMessage): string {
  const text = JSON.stringify(message);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function describeExpectation(e: Expectation): string {
  return 'error' in e ? `error ${e.error.join('|')} for ${JSON.stringify(e.id)}` : `${e.reply} for ${JSON.stringify(e.id)}`;
}

function withRoot(text: string, rootUrlPath: string): string {
  return text.includes(ROOT_TOKEN) ? text.split(ROOT_TOKEN).join(rootUrlPath) : text;
}

function frameBytes(frame: Extract<FuzzFrame, { kind: 'binary' }>): Buffer {
  return Buffer.alloc(frame.length, frame.fill);
}

/** One WebSocket connection that plays cases one after another. */
export class WsLane {
  #ws: WebSocket | null = null;
  #inbox: ServerMessage[] = [];
  #closeCode: number | null = null;
  #wake: (() => void) | null = null;
  /** Server texts that did not parse as server messages (must stay empty). */
  readonly unparsed: string[] = [];
  /** Connections opened (1 + reconnections after closing cases). */
  opened = 0;

  constructor(
    private readonly url: string,
    private readonly rootUrlPath: string,
    private readonly stats: RunStats,
  ) {}

  async #open(): Promise<void> {
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    this.#ws = ws;
    this.#inbox = [];
    this.#closeCode = null;
    this.opened += 1;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#ws !== ws) return;
      const text = isBinary ? '<binary>' : rawText(data);
      const parsed = parseServerMessage(text);
      if (parsed.ok) this.#inbox.push(parsed.message);
      else this.unparsed.push(text.slice(0, 300));
      this.#notify();
    });
    ws.on('error', () => undefined);
    ws.once('close', (code: number) => {
      if (this.#ws !== ws) return;
      this.#closeCode = code;
      this.#notify();
    });
    const hello = await this.#next(CASE_TIMEOUT_MS);
    if (hello?.type !== 'hello') throw new Error(`expected the server hello, got ${hello === null ? 'nothing' : hello.type}`);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Waits for something to happen (a message or the close), at most until `deadline`; false on timeout. */
  async #event(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const happened = await new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true);
      timer = setTimeout(() => resolve(false), left);
    });
    clearTimeout(timer);
    this.#wake = null;
    return happened;
  }

  async #next(ms: number): Promise<ServerMessage | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const message = this.#inbox.shift();
      if (message !== undefined) return message;
      if (this.#closeCode !== null) return null;
      if (!(await this.#event(deadline))) return null;
    }
  }

  /** Plays one case; the problems found (empty when the server behaved). */
  async play(fuzzCase: FuzzCase): Promise<string[]> {
    if (this.#ws === null || this.#closeCode !== null || this.#ws.readyState !== WebSocket.OPEN) await this.#open();
    const ws = this.#ws;
    if (ws === null) return ['no connection'];
    const sentinel = fuzzCase.close === null ? `${SENTINEL_PREFIX}${fuzzCase.index}` : null;
    const check = new CaseCheck(fuzzCase, sentinel, this.stats);
    for (const frame of fuzzCase.frames) {
      if (frame.kind === 'text') ws.send(withRoot(expandText(frame), this.rootUrlPath));
      else if (frame.kind === 'text-bytes') ws.send(Buffer.from(frame.hex, 'hex'), { binary: false });
      else if (frame.kind === 'binary') ws.send(frameBytes(frame), { binary: true });
      else return [`raw frame in a ws case`];
    }
    if (sentinel !== null) ws.send(JSON.stringify({ type: 'ping', id: sentinel }));
    const deadline = Date.now() + CASE_TIMEOUT_MS;
    for (;;) {
      let message = this.#inbox.shift();
      while (message !== undefined) {
        check.offer(message);
        message = this.#inbox.shift();
      }
      if (this.#closeCode !== null || (check.complete && fuzzCase.close === null)) break;
      if (!(await this.#event(deadline))) break;
    }
    return finish(check, this.#closeCode, this.stats);
  }

  async close(): Promise<void> {
    const ws = this.#ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    const timer = setTimeout(() => ws.terminate(), 2_000);
    await closed;
    clearTimeout(timer);
  }
}

function finish(check: CaseCheck, closeCode: number | null, stats: RunStats): string[] {
  const problems = [...check.problems];
  const c = check.fuzzCase;
  if (closeCode !== null) bump(stats.closes, String(closeCode));
  if (c.close === null) {
    if (closeCode !== null) problems.push(`connection closed with ${closeCode}; it should have stayed open`);
    else if (!check.sentinelSeen) problems.push(`no answer to the sentinel ping within ${CASE_TIMEOUT_MS} ms`);
  } else if (closeCode === null) {
    problems.push(`expected close ${c.close}; the connection stayed open`);
  } else if (closeCode !== c.close) {
    problems.push(`closed with ${closeCode}, expected ${c.close}`);
  }
  for (const e of check.missing) problems.push(`missing ${describeExpectation(e)}`);
  stats.cases += 1;
  stats.hostileMessages += c.hostile;
  return problems;
}

// ---- raw TCP connections ----

interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Parses whole unmasked server frames from the front of `buffer`; returns them and the unconsumed rest. */
function parseFrames(buffer: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const opcode = (buffer[at] ?? 0) & 0x0f;
    let length = (buffer[at + 1] ?? 0) & 0x7f;
    let head = 2;
    if (length === 126) {
      if (buffer.length - at < 4) break;
      length = buffer.readUInt16BE(at + 2);
      head = 4;
    } else if (length === 127) {
      if (buffer.length - at < 10) break;
      length = Number(buffer.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (buffer.length - at < head + length) break;
    frames.push({ opcode, payload: buffer.subarray(at + head, at + head + length) });
    at += head + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

/** A masked client text frame. */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const key = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ (key[i % 4] ?? 0)))]);
}

async function writeDripped(socket: net.Socket, bytes: Buffer, dripMs: number | undefined): Promise<void> {
  if (dripMs === undefined) {
    socket.write(bytes);
    return;
  }
  for (let at = 0; at < bytes.length; at += 8) {
    if (socket.destroyed) return;
    socket.write(bytes.subarray(at, at + 8));
    await new Promise<void>((resolve) => setTimeout(resolve, dripMs));
  }
}

/** A TCP connection that speaks WebSocket by hand: handshake, frames in, frames out. */
export class RawConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  #status: number | null = null;
  readonly #frames: ServerFrame[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      if (!this.#upgraded) {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end < 0) return this.#notify();
        const head = this.#buffer.subarray(0, end).toString('latin1');
        this.#status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        this.#buffer = this.#buffer.subarray(end + 4);
        this.#upgraded = true;
      }
      const { frames, rest } = parseFrames(this.#buffer);
      this.#frames.push(...frames);
      this.#buffer = rest;
      this.#notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
  }

  /** Connects to 127.0.0.1:`port`; with `handshake` writes the upgrade request (dripped when `dripMs` is set). */
  static async connect(port: number, options: { handshake?: boolean; dripMs?: number; handshakeBytes?: number } = {}): Promise<RawConnection> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const connection = new RawConnection(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    if (options.handshake ?? true) {
      const request = Buffer.from(
        [
          'GET / HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
      await writeDripped(socket, request.subarray(0, options.handshakeBytes ?? request.length), options.dripMs);
    }
    return connection;
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  /** The HTTP status of the upgrade answer (101 when accepted), once received. */
  get status(): number | null {
    return this.#status;
  }

  get ended(): boolean {
    return this.#ended;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Waits for data or the end, at most until `deadline`; false on timeout. */
  async event(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const happened = await new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true);
      timer = setTimeout(() => resolve(false), left);
    });
    clearTimeout(timer);
    this.#wake = null;
    return happened;
  }

  /** Takes the frames received so far. */
  takeFrames(): ServerFrame[] {
    return this.#frames.splice(0);
  }

  write(bytes: Buffer, dripMs?: number): Promise<void> {
    return writeDripped(this.#socket, bytes, dripMs);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Resolves once the socket closed, or false after `ms`. */
  async whenEnded(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.#ended) if (!(await this.event(deadline))) return this.#ended;
    return true;
  }
}

/** Plays one raw case on a fresh TCP connection; the problems found. */
export async function playRaw(port: number, fuzzCase: FuzzCase, stats: RunStats): Promise<string[]> {
  const connection = await RawConnection.connect(port, fuzzCase.dripMs === undefined ? {} : { dripMs: fuzzCase.dripMs });
  try {
    const deadline = Date.now() + CASE_TIMEOUT_MS;
    const sentinel = fuzzCase.close === null ? `${SENTINEL_PREFIX}${fuzzCase.index}` : null;
    const check = new CaseCheck(fuzzCase, sentinel, stats);
    let closeCode: number | null = null;
    let hello = false;
    const drain = (): void => {
      for (const frame of connection.takeFrames()) {
        if (frame.opcode === 0x8) {
          closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        } else if (frame.opcode === 0x1) {
          const parsed = parseServerMessage(frame.payload.toString('utf8'));
          if (!parsed.ok) check.problems.push(`unparseable server text ${frame.payload.toString('utf8').slice(0, 200)}`);
          else if (!hello && parsed.message.type === 'hello') hello = true;
          else check.offer(parsed.message);
        }
      }
    };
    while (!hello && !connection.ended) {
      drain();
      if (hello) break;
      if (!(await connection.event(deadline))) break;
    }
    if (connection.status !== 101 || !hello) return [`handshake failed (HTTP ${String(connection.status)}, hello ${hello})`];
    for (const frame of fuzzCase.frames) {
      if (frame.kind !== 'raw') return ['non-raw frame in a raw case'];
      await connection.write(Buffer.from(frame.hex, 'hex'), fuzzCase.dripMs);
    }
    if (sentinel !== null) connection.socket.write(maskedTextFrame(JSON.stringify({ type: 'ping', id: sentinel })));
    for (;;) {
      drain();
      if (closeCode !== null || (check.complete && fuzzCase.close === null)) break;
      if (connection.ended || !(await connection.event(deadline))) {
        drain();
        break;
      }
    }
    return finish(check, closeCode, stats);
  } finally {
    connection.destroy();
  }
}
