/**
 * A seeded corpus of malformed and hostile reward-server protocol messages. The corpus is a pure function of
 * `(seed, limits)`: every random choice goes through the project's `Rng`, so a seed reproduces it exactly and a failing
 * case is replayed by its index. Each case says what the server must answer (error codes by id, or replies) and
 * whether the connection must close (and with which code); the generator knows it by construction, never by asking
 * the server's own parser.
 *
 * File URIs are written relative to {@link ROOT_TOKEN}; the runner substitutes the artifact root's URL path. The
 * artifact root the runner builds is described by {@link ARTIFACT_LAYOUT}.
 */
import { Rng } from '../../src/common/rng.js';
import type { ErrorCode } from '../../src/errors/index.js';
import { CLIENT_MESSAGE_TYPES, PROTOCOL_VERSION } from '../../src/protocol/index.js';

/** Stands for the artifact root's URL path (e.g. `/tmp/x/artifacts`) in file URIs. */
export const ROOT_TOKEN = '/@ARTIFACT_ROOT@';

/**
 * What the runner puts in the artifact root: `bright.mp4`, `dark.mp4`, `sub/inner.mp4` (regular files), `sub/` (a
 * folder), `escape.mp4` (symlink to `../outside/secret.mp4`), `escape-dir` (symlink to `../outside`); the root's parent
 * also holds `outside/secret.mp4`. The fuzz judge never decodes files, so their content does not matter.
 */
export const ARTIFACT_LAYOUT = Object.freeze({
  files: ['bright.mp4', 'dark.mp4', 'sub/inner.mp4'],
  folders: ['sub'],
  escapeFile: 'escape.mp4',
  escapeDir: 'escape-dir',
  rootName: 'artifacts',
});

/** A long repetition inside a text frame, kept short in the corpus: `@RUN<i>@` in the text stands for `unit` × `count`. */
export interface Run {
  readonly unit: string;
  readonly count: number;
}

export type FuzzFrame =
  /** A UTF-8 text frame (strings here never hold lone surrogates: JSON.stringify escapes them); `runs` expand markers. */
  | { readonly kind: 'text'; readonly text: string; readonly runs?: readonly Run[] }
  /** A text frame carrying these raw bytes (hex), possibly invalid UTF-8. */
  | { readonly kind: 'text-bytes'; readonly hex: string }
  /** A binary frame of `length` bytes, each `fill`. */
  | { readonly kind: 'binary'; readonly length: number; readonly fill: number }
  /** Bytes written to the TCP socket as they are, after the WebSocket handshake (hand-made frames; `raw` cases only). */
  | { readonly kind: 'raw'; readonly hex: string };

export type ReplyType = 'pong' | 'status' | 'video_received' | 'verdict';

/** One answer the server must send: an `error` with one of `codes` for `id`, or a reply of `type` for `id`. */
export type Expectation = { readonly error: readonly ErrorCode[]; readonly id: string | null } | { readonly reply: ReplyType; readonly id: string };

export const CATEGORIES = [
  'bad-json',
  'not-object',
  'bad-type',
  'unknown-type',
  'schema',
  'numbers',
  'huge',
  'inline',
  'admission',
  'uri',
  'unicode',
  'invalid-utf8',
  'oversized',
  'protocol-mismatch',
  'ws-frame',
  'slow',
  'valid',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface FuzzCase {
  readonly index: number;
  readonly category: Category;
  /** `ws`: sent through a WebSocket client; `raw`: a TCP socket with a hand-made handshake and frames. */
  readonly transport: 'ws' | 'raw';
  readonly frames: readonly FuzzFrame[];
  /** Every answer the server must send, and nothing else (besides the runner's sentinel pong). */
  readonly expect: readonly Expectation[];
  /** The close code the server must close with; null: the connection must stay open and keep serving. */
  readonly close: number | null;
  /** Hostile messages in the case (valid companions, e.g. the binary after a good header, are not counted). */
  readonly hostile: number;
  /** `raw` cases: write the handshake and frames in small chunks with pauses of this many ms (slow clients). */
  readonly dripMs?: number;
  /** A short human-readable note on what the case does. */
  readonly note: string;
}

export interface CorpusLimits {
  /** The server's maxPayloadBytes. */
  readonly maxPayloadBytes: number;
  /** The server's maxInFlightPerConnection. */
  readonly maxInFlight: number;
  /** The server's maxInlineBytesPerConnection. */
  readonly maxInlineBytes: number;
}

export interface CorpusOptions extends CorpusLimits {
  readonly seed: number;
  /** Generate cases until this many hostile messages. Default 10 240. */
  readonly minHostile?: number;
}

export interface Corpus {
  readonly seed: number;
  readonly limits: CorpusLimits;
  readonly cases: readonly FuzzCase[];
  readonly hostileMessages: number;
}

/** Judge prompt the fuzz judge recognises: waits before answering (DUPLICATE_ID / OVERLOADED are then deterministic). */
export const SLOW_PROMPT = 'slow: a red circle';
/** Ids starting with this prefix are reserved for the runner's sentinel pings. */
export const SENTINEL_PREFIX = '~sentinel-';

const CATEGORY_WEIGHTS: Readonly<Record<Category, number>> = {
  'bad-json': 14,
  'not-object': 4,
  'bad-type': 5,
  'unknown-type': 6,
  schema: 20,
  numbers: 10,
  huge: 2,
  inline: 10,
  admission: 1.5,
  uri: 10,
  unicode: 8,
  'invalid-utf8': 2,
  oversized: 0.5,
  'protocol-mismatch': 1,
  'ws-frame': 3,
  slow: 0.3,
  valid: 3,
};

// ---- small helpers ----

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** A JSON value, or a raw JSON token (`1e999`, `-0.0`) spliced into the text as is. */
class RawToken {
  constructor(readonly text: string) {}
}
type Value = Json | RawToken | readonly Value[] | { readonly [key: string]: Value };

/** The marker of run `i` in a text frame. */
export function runMarker(i: number): string {
  return `@RUN${i}@`;
}

/** The text a frame stands for: its runs expanded. */
export function expandText(frame: { readonly text: string; readonly runs?: readonly Run[] }): string {
  const runs = frame.runs ?? [];
  return runs.length === 0
    ? frame.text
    : frame.text.replace(/@RUN(\d+)@/g, (m, i: string) => {
        const run = runs[Number(i)];
        return run === undefined ? m : run.unit.repeat(run.count);
      });
}

/** JSON text of `value`, with raw tokens spliced in unquoted. */
function toJson(value: Value): string {
  const tokens: string[] = [];
  const replaced = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawToken) {
      tokens.push(v.text);
      return `\u0000raw${tokens.length - 1}\u0000`;
    }
    return v;
  });
  return replaced.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => tokens[Number(i)] ?? 'null');
}

function hexOf(bytes: readonly number[] | Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Characters of a string as the protocol counts them: code points (a lone surrogate counts as one). */
function codePoints(text: string): number {
  return [...text].length;
}

/** The id a server can echo: a string of 1..128 characters (code points), else null. */
function echoable(id: unknown): string | null {
  return typeof id === 'string' && id.length >= 1 && codePoints(id) <= 128 ? id : null;
}

/** First characters no JSON text can start with (so garbage after them is never valid JSON). */
const INVALID_JSON_STARTS = ["'", '}', ']', ':', ',', 'u', 'N', 'I', '=', '<', '\\', '#', '/', '+', '.', '0x'];
const GARBAGE_ALPHABET = '{}[]":,\'\\ \t\n0123456789eE+-.truefalsnulxyzé€😀\u2028\u0000\u0007';

// ---- the generator ----

class Generator {
  readonly cases: FuzzCase[] = [];
  hostile = 0;

  constructor(
    private readonly rng: Rng,
    private readonly limits: CorpusLimits,
  ) {}

  // -- case plumbing --

  #add(c: Omit<FuzzCase, 'index' | 'transport'> & { transport?: 'ws' | 'raw' }): void {
    this.cases.push({ ...c, transport: c.transport ?? 'ws', index: this.cases.length });
    this.hostile += c.hostile;
  }

  #id(tag: string): string {
    return `c${this.cases.length}-${tag}`;
  }

  #uri(relative: string): string {
    return `file://${ROOT_TOKEN}/${relative}`;
  }

  /** A valid pointwise judge request on an existing file (the fuzz judge answers it with a verdict). */
  #validJudge(id: string): Record<string, Value> {
    return { type: 'judge', id, prompt: 'a red circle moving left', mode: 'pointwise', videos: [{ uri: this.#uri(this.rng.pick(ARTIFACT_LAYOUT.files)) }] };
  }

  #videoHeader(ref: string, width: number, height: number, frameCount: number): Record<string, Value> {
    return { type: 'video', ref, width, height, frameCount, pixelFormat: 'rgb24', fps: 8 };
  }

  #randomString(maxLength: number, alphabet = GARBAGE_ALPHABET): string {
    const chars = [...alphabet];
    const n = 1 + this.rng.int(maxLength);
    let out = '';
    for (let i = 0; i < n; i++) out += this.rng.pick(chars);
    return out;
  }

  // -- categories --

  badJson(): void {
    const id = this.#id('bj');
    const valid = toJson(this.rng.pick<Record<string, Value>>([{ type: 'ping', id, t: 1 }, { type: 'status', id }, this.#validJudge(id)]));
    const variants: (() => [string, string])[] = [
      () => {
        const cut = 1 + this.rng.int(valid.length - 1);
        return [valid.slice(0, cut), `truncated at ${cut}`];
      },
      () => [`${this.rng.pick(INVALID_JSON_STARTS)}${this.#randomString(60)}`, 'garbage'],
      () => [valid.replace(/}$/, ',}'), 'trailing comma'],
      () => [valid.replace(/"/g, "'"), 'single quotes'],
      () => [valid.replace(/}$/, ',"t":NaN}'), 'NaN literal'],
      () => [valid.replace(/}$/, ',"t":Infinity}'), 'Infinity literal'],
      () => [`${valid}/* comment */`, 'comment'],
      () => [`\ufeff${valid}`, 'byte order mark'],
      () => [`${valid}${valid}`, 'two objects'],
      () => [valid.replace(/"([a-z]+)":/, '$1:'), 'unquoted key'],
      () => [valid.replace(/"type":"([a-z]+)"/, '"type":"$1\u0001"'), 'raw control character in a string'],
      () => [valid.replace(/"id":"/, '"id":"\\x41'), 'bad escape'],
      () => [valid.replace(/"id":"/, '"id":"\\u1Z'), 'short unicode escape'],
      () => ['', 'empty message'],
      () => [' \t\r\n '.repeat(1 + this.rng.int(8)), 'whitespace only'],
      () => [runMarker(0), 'unclosed deep nesting'],
      () => [`{"type":"ping","t":0x${this.rng.int(255).toString(16)}}`, 'hex number'],
      () => [`{"type":"ping","t":0${1 + this.rng.int(9)}}`, 'leading zero'],
      () => [`{"type":"ping","t":+1}`, 'plus sign'],
      () => [`{"type":"ping","t":.5}`, 'bare fraction'],
      () => [`{"type":"ping","id":"${id}"`, 'missing brace'],
    ];
    const [text, note] = this.rng.pick(variants)();
    const runs: Run[] = text === runMarker(0) ? [{ unit: '[', count: 1000 + this.rng.int(50_000) }] : [];
    this.#add({ category: 'bad-json', frames: [{ kind: 'text', text, runs }], expect: [{ error: ['BAD_MESSAGE'], id: null }], close: null, hostile: 1, note });
  }

  notObject(): void {
    const id = this.#id('no');
    const values: Value[] = [
      null,
      true,
      false,
      0,
      -1,
      new RawToken('1e308'),
      new RawToken('-0.0'),
      '',
      'judge',
      `{"type":"ping","id":"${id}"}`,
      [],
      [{ type: 'ping', id }],
      [[[[[[[]]]]]]],
    ];
    let text = toJson(this.rng.pick(values));
    let runs: Run[] = [];
    let note = 'JSON value that is not an object';
    if (this.rng.bool(0.1)) {
      const depth = 1000 + this.rng.int(20_000);
      text = `${runMarker(0)}${runMarker(1)}`;
      runs = [
        { unit: '[', count: depth },
        { unit: ']', count: depth },
      ];
      note = `array nested ${depth} deep`;
    }
    this.#add({
      category: 'not-object',
      frames: [{ kind: 'text', text, runs }],
      expect: [{ error: ['INVALID_REQUEST'], id: null }],
      close: null,
      hostile: 1,
      note,
    });
  }

  badType(): void {
    const id = this.rng.bool(0.7) ? this.#id('bt') : this.rng.pick<Json>([null, 5, '', 'x'.repeat(129), ['a']]);
    const type = this.rng.pick<Value>([null, 1, 0, true, [], ['ping'], { ping: 1 }, new RawToken('1e999')]);
    const message: Record<string, Value> = { id, prompt: 'p' };
    if (this.rng.bool(0.8)) message.type = type;
    this.#add({
      category: 'bad-type',
      frames: [{ kind: 'text', text: toJson(message) }],
      expect: [{ error: ['INVALID_REQUEST'], id: echoable(id) }],
      close: null,
      hostile: 1,
      note: 'type missing or not a string',
    });
  }

  unknownType(): void {
    const id = this.#id('ut');
    const variants: string[] = [
      '',
      'PING',
      'Judge',
      ' ping',
      'ping ',
      'ping\u0000',
      '\u200bping',
      'p\u0131ng',
      '\uff50\uff49\uff4e\uff47',
      'judge\u0301',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'verdict',
      'error',
      'pong',
      'video_received',
      'reboot',
      'admin',
      'x'.repeat(5000),
      '\ud800',
      '😀',
      this.#randomString(30, 'abcdefghijklmnopqrstuvwxyz_-'),
    ];
    let type = this.rng.pick(variants);
    if ((CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) type = `${type}!`;
    const message: Record<string, Value> = { type, id };
    if (this.rng.bool(0.5)) message.prompt = 'extra fields do not matter for an unknown type';
    this.#add({
      category: 'unknown-type',
      frames: [{ kind: 'text', text: toJson(message) }],
      expect: [{ error: ['UNKNOWN_TYPE'], id }],
      close: null,
      hostile: 1,
      note: `type ${JSON.stringify(type.slice(0, 20))}`,
    });
  }

  /** A valid message of some type and a table of invalid values per field. */
  #templates(
    id: string,
  ): { message: Record<string, Value>; idField: 'id' | 'ref' | null; required: readonly string[]; bad: Record<string, readonly Value[]> }[] {
    const badId: Value[] = [null, 5, '', 'x'.repeat(129), [], {}, true];
    const badString: Value[] = [null, 5, true, [], {}, ['a']];
    return [
      {
        message: { type: 'ping', id, t: 1 },
        idField: 'id',
        required: [],
        bad: { id: badId, t: ['1', null, true, [], {}, new RawToken('1e999'), new RawToken('-1e999')] },
      },
      { message: { type: 'status', id }, idField: 'id', required: [], bad: { id: badId } },
      {
        message: this.#validJudge(id),
        idField: 'id',
        required: ['id', 'prompt', 'mode', 'videos'],
        bad: {
          id: badId,
          prompt: [...badString, '', 'p'.repeat(4001)],
          mode: [...badString, '', 'PAIRWISE', 'both', 'pointwise '],
          videos: [
            ...badString,
            '',
            [],
            [null],
            [{}],
            [{ uri: '' }],
            [{ inline: '' }],
            [{ uri: 5 }],
            [{ uri: 'file:///a', inline: 'b' }],
            [{ url: 'file:///a' }],
            [{ uri: 'u'.repeat(4097) }],
            ['file:///a'],
          ],
          options: [null, 5, true, 'x', [], ['a'], { stream: 'yes' }, { trace: 1 }, { bothOrders: null }, { nope: true }, { initialFrames: '8' }],
        },
      },
      {
        message: this.#videoHeader(id, 4, 4, 1),
        idField: 'ref',
        required: ['ref', 'width', 'height', 'frameCount', 'pixelFormat'],
        bad: {
          ref: badId,
          width: ['4', null, 4.5, 1, 4097],
          height: [[], false, 0, -4],
          frameCount: [0, 10_001, 1.5, '1'],
          pixelFormat: ['rgba', 'RGB24', 'rgb24 ', null, 24, ''],
          fps: [0, -8, 1001, '8', null, new RawToken('1e999')],
        },
      },
      {
        message: { type: 'hello', protocol: PROTOCOL_VERSION, client: 'fuzz' },
        idField: null,
        required: ['protocol'],
        bad: { protocol: ['1', null, 1.5, [], new RawToken('1e308'), new RawToken('1e999')], client: [5, 'c'.repeat(201), null] },
      },
    ];
  }

  schema(): void {
    const id = this.#id('sc');
    const template = this.rng.pick(this.#templates(id));
    const message: Record<string, Value> = { ...template.message };
    let action = this.rng.int(3);
    if (action === 1 && template.required.length === 0) action = 2;
    let note: string;
    let idBroken = false;
    let extra = '';
    if (action === 0) {
      const field = this.rng.pick(Object.keys(template.bad));
      message[field] = this.rng.pick(template.bad[field] ?? [null]);
      idBroken = field === template.idField;
      note = `bad ${field}`;
    } else if (action === 1) {
      const field = this.rng.pick(template.required);
      delete message[field];
      idBroken = field === template.idField;
      note = `missing ${field}`;
    } else {
      // Spliced into the text: assigning `__proto__` on an object would set its prototype instead of adding a key.
      const key = this.rng.pick(['extra', 'ID', 'Type', '__proto__', 'constructor', 'type ', '\u0000', '😀', 'videos2']);
      extra = `,${JSON.stringify(key)}:${toJson(this.rng.pick<Value>([1, null, 'x', {}, []]))}`;
      note = `unknown field ${JSON.stringify(key)}`;
    }
    // Errors carry the message's `id`, else a video header's `ref`, when the schema would accept it.
    const echoed = template.idField !== null && !idBroken ? id : null;
    const expect: Expectation[] = [{ error: ['INVALID_REQUEST'], id: echoed }];
    const frames: FuzzFrame[] = [{ kind: 'text', text: `${toJson(message).slice(0, -1)}${extra}}` }];
    this.#add({ category: 'schema', frames, expect, close: null, hostile: 1, note: `${toJson(template.message.type ?? null)}: ${note}` });
  }

  numbers(): void {
    const id = this.#id('nu');
    const huge: Value[] = [
      -1,
      -(2 ** 31),
      2 ** 31,
      2 ** 32 + 1,
      2 ** 53,
      new RawToken('1e308'),
      new RawToken('-1e308'),
      new RawToken('1e999'),
      1.5,
      new RawToken('1e-300'),
      new RawToken('9007199254740993'),
    ];
    const pick = this.rng.int(3);
    if (pick === 0) {
      const option = this.rng.pick(['initialFrames', 'maxToolCalls', 'memoryWindow', 'maxFramesPerCall']);
      const value = this.rng.pick(huge);
      const message = { ...this.#validJudge(id), options: { [option]: value } };
      this.#add({
        category: 'numbers',
        frames: [{ kind: 'text', text: toJson(message) }],
        expect: [{ error: ['INVALID_REQUEST'], id }],
        close: null,
        hostile: 1,
        note: `options.${option} = ${toJson(value)}`,
      });
      return;
    }
    if (pick === 1) {
      // Headers whose numbers pass the schema but announce more bytes than the server takes: refused, binary dropped.
      const width = this.rng.pick([2048, 4096]);
      const height = this.rng.pick([2048, 4096]);
      const frameCount = this.rng.pick([1000, 9999, 10_000]);
      const frames: FuzzFrame[] = [{ kind: 'text', text: toJson(this.#videoHeader(id, width, height, frameCount)) }];
      if (this.rng.bool(0.7)) frames.push({ kind: 'binary', length: this.rng.int(2048), fill: this.rng.int(256) });
      this.#add({
        category: 'numbers',
        frames,
        expect: [{ error: ['INVALID_REQUEST'], id }],
        close: null,
        hostile: frames.length,
        note: `header of ${width}x${height}x${frameCount}, binary dropped`,
      });
      return;
    }
    const field = this.rng.pick(['width', 'height', 'frameCount']);
    const header: Record<string, Value> = { ...this.#videoHeader(id, 4, 4, 1), [field]: this.rng.pick(huge) };
    const frames: FuzzFrame[] = [{ kind: 'text', text: toJson(header) }];
    if (this.rng.bool(0.5)) frames.push({ kind: 'binary', length: 48, fill: 7 });
    // A header that fails its schema is refused like any header: one error for its ref, the binary after it dropped.
    const expect: Expectation[] = [{ error: ['INVALID_REQUEST'], id }];
    this.#add({ category: 'numbers', frames, expect, close: null, hostile: frames.length, note: `video ${field} = ${toJson(header[field] ?? null)}` });
  }

  huge(): void {
    const id = this.#id('hg');
    const budget = this.limits.maxPayloadBytes - 4096;
    const variant = this.rng.int(6);
    let message: Record<string, Value>;
    let runs: Run[];
    let echoed: string | null = id;
    let note: string;
    if (variant === 0) {
      const n = Math.min(17 + this.rng.int(40_000), Math.floor(budget / 20));
      message = { ...this.#validJudge(id), videos: new RawToken(`[${runMarker(0)}{"inline":"last"}]`) };
      runs = [{ unit: '{"inline":"v"},', count: n - 1 }];
      note = `${n} videos`;
    } else if (variant === 1) {
      const n = 4001 + this.rng.int(Math.min(200_000, budget));
      message = { ...this.#validJudge(id), prompt: runMarker(0) };
      runs = [{ unit: 'p', count: n }];
      note = `prompt of ${n} characters`;
    } else if (variant === 2) {
      const n = 100 + this.rng.int(5000);
      message = { type: 'ping', id };
      for (let i = 0; i < n; i++) message[`k${i}`] = i;
      runs = [];
      note = `${n} unknown fields`;
    } else if (variant === 3) {
      const n = 129 + this.rng.int(100_000);
      message = { type: 'ping', id: runMarker(0) };
      runs = [{ unit: 'i', count: n }];
      echoed = null;
      note = `id of ${n} characters`;
    } else if (variant === 4) {
      const depth = 100 + this.rng.int(5000);
      message = { ...this.#validJudge(id), options: { stream: new RawToken(`${runMarker(0)}1${runMarker(1)}`) } };
      runs = [
        { unit: '{"a":', count: depth },
        { unit: '}', count: depth },
      ];
      note = `option nested ${depth} deep`;
    } else {
      const n = 1000 + this.rng.int(20_000);
      message = { type: 'ping', id, t: new RawToken(`[${runMarker(0)}0]`) };
      runs = [{ unit: '12345,', count: n }];
      note = `t is an array of ${n} numbers`;
    }
    this.#add({
      category: 'huge',
      frames: [{ kind: 'text', text: toJson(message), runs }],
      expect: [{ error: ['INVALID_REQUEST'], id: echoed }],
      close: null,
      hostile: 1,
      note,
    });
  }

  inline(): void {
    const ref = this.#id('in');
    const w = 2 + this.rng.int(6);
    const h = 2 + this.rng.int(6);
    const n = 1 + this.rng.int(4);
    const bytes = w * h * 3 * n;
    const header = toJson(this.#videoHeader(ref, w, h, n));
    const judgeId = `${ref}-j`;
    const use = toJson({ type: 'judge', id: judgeId, prompt: 'uses the stored video', mode: 'pointwise', videos: [{ inline: ref }] });
    const variant = this.rng.int(9);
    const frames: FuzzFrame[] = [];
    const expect: Expectation[] = [];
    let hostile = 1;
    let note: string;
    if (variant === 0) {
      frames.push({ kind: 'binary', length: this.rng.int(5000), fill: this.rng.int(256) });
      expect.push({ error: ['BAD_MESSAGE'], id: null });
      note = 'binary without a header';
    } else if (variant === 1) {
      const delta = this.rng.pick([-bytes, -1, 1, bytes, 3 - bytes]);
      frames.push({ kind: 'text', text: header }, { kind: 'binary', length: bytes + delta, fill: 1 });
      expect.push({ error: ['INVALID_REQUEST'], id: ref });
      note = `binary of ${bytes + delta} bytes for a header of ${bytes}`;
    } else if (variant === 2) {
      const pingId = `${ref}-p`;
      frames.push({ kind: 'text', text: header }, { kind: 'text', text: toJson({ type: 'ping', id: pingId }) });
      expect.push({ error: ['INVALID_REQUEST'], id: ref }, { reply: 'pong', id: pingId });
      note = 'header followed by a text message';
    } else if (variant === 3) {
      const second = `${ref}-b`;
      frames.push(
        { kind: 'text', text: header },
        { kind: 'text', text: toJson(this.#videoHeader(second, w, h, n)) },
        { kind: 'binary', length: bytes, fill: 9 },
      );
      frames.push({ kind: 'text', text: toJson({ type: 'judge', id: judgeId, prompt: 'p', mode: 'pointwise', videos: [{ inline: second }] }) });
      expect.push({ error: ['INVALID_REQUEST'], id: ref }, { reply: 'video_received', id: second }, { reply: 'verdict', id: judgeId });
      note = 'two headers in a row';
    } else if (variant === 4) {
      frames.push(
        { kind: 'text', text: header },
        { kind: 'binary', length: bytes, fill: 2 },
        { kind: 'text', text: header },
        { kind: 'binary', length: bytes, fill: 3 },
        { kind: 'text', text: use },
      );
      expect.push({ reply: 'video_received', id: ref }, { error: ['INVALID_REQUEST'], id: ref }, { reply: 'verdict', id: judgeId });
      hostile = 2;
      note = 'duplicate ref while the first is stored';
    } else if (variant === 5) {
      // Over the connection's inline budget on its own: refused, the binary after it dropped silently.
      const side = 256;
      const frameCount = Math.ceil((this.limits.maxInlineBytes + 1) / (side * side * 3));
      const big = toJson(this.#videoHeader(ref, side, side, frameCount));
      frames.push({ kind: 'text', text: big }, { kind: 'binary', length: this.rng.int(4096), fill: 4 });
      expect.push({ error: ['INVALID_REQUEST'], id: ref });
      hostile = 2;
      note = 'header over the inline budget';
    } else if (variant === 6) {
      // Stored, used once, then named again: the second judge request finds no video.
      const again = `${ref}-k`;
      frames.push({ kind: 'text', text: header }, { kind: 'binary', length: bytes, fill: 5 }, { kind: 'text', text: use });
      frames.push({ kind: 'text', text: toJson({ type: 'judge', id: again, prompt: 'p', mode: 'pointwise', videos: [{ inline: ref }] }) });
      expect.push({ reply: 'video_received', id: ref }, { reply: 'verdict', id: judgeId }, { error: ['INVALID_REQUEST'], id: again });
      note = 'inline video used twice';
    } else if (variant === 7) {
      // Two videos that each fit the inline budget but not together: the second is OVERLOADED until the first is used.
      const side = 128;
      const frameCount = Math.max(1, Math.ceil((0.6 * this.limits.maxInlineBytes) / (side * side * 3)));
      const size = side * side * 3 * frameCount;
      const second = `${ref}-b`;
      frames.push({ kind: 'text', text: toJson(this.#videoHeader(ref, side, side, frameCount)) }, { kind: 'binary', length: size, fill: 8 });
      frames.push({ kind: 'text', text: toJson(this.#videoHeader(second, side, side, frameCount)) }, { kind: 'binary', length: size, fill: 9 });
      frames.push({ kind: 'text', text: use });
      expect.push({ reply: 'video_received', id: ref }, { error: ['OVERLOADED'], id: second }, { reply: 'verdict', id: judgeId });
      hostile = 2;
      note = 'second video over the remaining inline budget';
    } else {
      // Same ref twice in one request is allowed; a pairwise request on it gets a verdict.
      frames.push({ kind: 'text', text: header }, { kind: 'binary', length: bytes, fill: 6 });
      frames.push({ kind: 'text', text: toJson({ type: 'judge', id: judgeId, prompt: 'p', mode: 'pairwise', videos: [{ inline: ref }, { inline: ref }] }) });
      expect.push({ reply: 'video_received', id: ref }, { reply: 'verdict', id: judgeId });
      hostile = 0;
      note = 'same inline ref twice in one request';
    }
    this.#add({ category: 'inline', frames, expect, close: null, hostile, note });
  }

  admission(): void {
    const id = this.#id('ad');
    const variant = this.rng.int(3);
    const slow = (jid: string): string => toJson({ ...this.#validJudge(jid), prompt: SLOW_PROMPT });
    if (variant === 0) {
      const frames: FuzzFrame[] = [
        { kind: 'text', text: slow(id) },
        { kind: 'text', text: slow(id) },
      ];
      this.#add({
        category: 'admission',
        frames,
        expect: [
          { reply: 'verdict', id },
          { error: ['DUPLICATE_ID'], id },
        ],
        close: null,
        hostile: 1,
        note: 'duplicate id in flight',
      });
      return;
    }
    if (variant === 1) {
      const n = this.limits.maxInFlight + 1 + this.rng.int(3);
      const frames: FuzzFrame[] = [];
      const expect: Expectation[] = [];
      for (let i = 0; i < n; i++) {
        frames.push({ kind: 'text', text: slow(`${id}-${i}`) });
        expect.push(i < this.limits.maxInFlight ? { reply: 'verdict', id: `${id}-${i}` } : { error: ['OVERLOADED'], id: `${id}-${i}` });
      }
      this.#add({
        category: 'admission',
        frames,
        expect,
        close: null,
        hostile: n - this.limits.maxInFlight,
        note: `${n} judgments at once (limit ${this.limits.maxInFlight})`,
      });
      return;
    }
    const refs = Array.from({ length: 1 + this.rng.int(16) }, (_, i) => ({ inline: `${id}-missing-${i}` }));
    const message = { type: 'judge', id, prompt: 'p', mode: refs.length === 2 ? 'pairwise' : 'pointwise', videos: refs };
    this.#add({
      category: 'admission',
      frames: [{ kind: 'text', text: toJson(message) }],
      expect: [{ error: ['INVALID_REQUEST'], id }],
      close: null,
      hostile: 1,
      note: `${refs.length} inline refs never sent`,
    });
  }

  /** A hostile file URI and what the server must answer for it. */
  #hostileUri(): { uri: string; outcome: 'verdict' | 'FORBIDDEN_PATH' | 'VIDEO_DECODE_FAILED'; note: string } {
    const rng = this.rng;
    const up = (): string => rng.pick(['..', '.%2e', '%2e.', '%2e%2e', '%2E%2E', '%2e%2E']);
    // No empty segments: the URL parser keeps them, so a following '..' would pop the empty one, not a name.
    const here = (): string => rng.pick(['.', '%2e', '%2E']);
    const encodeSome = (name: string): string => [...name].map((ch) => (/[a-z]/.test(ch) && rng.bool(0.2) ? `%${ch.charCodeAt(0).toString(16)}` : ch)).join('');
    // Walk: start in the root; track where we are relative to its parent, as lexical normalisation does.
    let above = 0; // levels above the root's parent
    const segs: string[] = [ARTIFACT_LAYOUT.rootName];
    const parts: string[] = [];
    const steps = rng.int(6);
    for (let i = 0; i < steps; i++) {
      const r = rng.int(5);
      if (r === 0) {
        parts.push(up());
        if (segs.length > 0) segs.pop();
        else above += 1;
      } else if (r === 1) {
        parts.push(here());
      } else if (r === 2 && above === 0 && segs.length === 0) {
        parts.push(encodeSome(ARTIFACT_LAYOUT.rootName));
        segs.push(ARTIFACT_LAYOUT.rootName);
      } else if (r === 3) {
        const name = rng.pick(['sub', 'nope', ARTIFACT_LAYOUT.escapeDir, 'outside']);
        parts.push(encodeSome(name));
        segs.push(name);
      } else {
        parts.push(here());
      }
    }
    const target = rng.pick([
      'bright.mp4',
      'dark.mp4',
      'inner.mp4',
      'secret.mp4',
      'missing.mp4',
      ARTIFACT_LAYOUT.escapeFile,
      'sub',
      'a%5C..%5C..%5Cb.mp4',
      '\u00e9t\u00e9.mp4',
      '\ud800.mp4',
    ]);
    parts.push(target.includes('%') || /[^\x00-\x7f]/.test(target) ? target : encodeSome(target));
    segs.push(target);
    const sep = rng.bool(0.1) ? '\\' : '/';
    const path = `${ROOT_TOKEN}${sep}${parts.join(sep)}`;
    const prefix = rng.pick(['file://', 'file://', 'file://', 'file://localhost', 'FILE://', 'file://LocalHost', 'file:']);
    let uri = `${prefix}${path}`;
    let outcome: 'verdict' | 'FORBIDDEN_PATH' | 'VIDEO_DECODE_FAILED';
    const inside = above === 0 && segs[0] === ARTIFACT_LAYOUT.rootName;
    const rel = segs.slice(1);
    if (!inside) outcome = 'FORBIDDEN_PATH';
    else if (rel[0] === ARTIFACT_LAYOUT.escapeDir || (rel.length === 1 && rel[0] === ARTIFACT_LAYOUT.escapeFile)) outcome = 'FORBIDDEN_PATH';
    else if (ARTIFACT_LAYOUT.files.includes(rel.join('/'))) outcome = 'verdict';
    else outcome = 'VIDEO_DECODE_FAILED'; // missing, or a folder
    let note = `${inside ? 'inside' : 'outside'} ${rel.join('/')}`;
    // Spoilers that make any URI forbidden, whatever its path.
    const spoil = rng.int(10);
    if (spoil === 0) {
      uri = `${rng.pick(['http://localhost', 'https://example.com', 'ftp://x', 'file://evil.example', 'file://127.0.0.1', 'smb://host/share'])}${path}`;
      note = 'another scheme or host';
      outcome = 'FORBIDDEN_PATH';
    } else if (spoil === 1) {
      uri = `${uri}${rng.pick(['?a=1', '#frag', '?x#y'])}`;
      note = 'query or fragment';
      outcome = 'FORBIDDEN_PATH';
    } else if (spoil === 2) {
      uri = uri.replace(/\/([^/]*)$/, '/x%2F$1');
      note = 'encoded slash';
      outcome = 'FORBIDDEN_PATH';
    } else if (spoil === 3) {
      uri = uri.replace(/\.mp4$/, '%00.mp4');
      if (!uri.includes('%00')) uri = `${uri}%00`;
      note = 'NUL byte';
      outcome = 'FORBIDDEN_PATH';
    } else if (spoil === 4) {
      uri = rng.pick([
        `${ROOT_TOKEN}/bright.mp4`,
        'bright.mp4',
        `./bright.mp4`,
        `data:video/mp4;base64,AAAA`,
        `javascript:alert(1)`,
        `//${ROOT_TOKEN}/bright.mp4`,
        '\\\\server\\share\\x.mp4',
        ' ',
      ]);
      note = 'not a file URI';
      outcome = 'FORBIDDEN_PATH';
    }
    return { uri, outcome, note };
  }

  uri(): void {
    const id = this.#id('ur');
    const count = this.rng.bool(0.3) ? 2 : 1;
    const uris = Array.from({ length: count }, () => this.#hostileUri());
    const message = { type: 'judge', id, prompt: 'p', mode: count === 2 ? 'pairwise' : 'pointwise', videos: uris.map((u) => ({ uri: u.uri })) };
    const failing = uris.map((u) => u.outcome).filter((o): o is 'FORBIDDEN_PATH' | 'VIDEO_DECODE_FAILED' => o !== 'verdict');
    // With two bad videos the first to fail decides the code (both are acceptable).
    const expect: Expectation = failing.length === 0 ? { reply: 'verdict', id } : { error: [...new Set(failing)], id };
    this.#add({
      category: 'uri',
      frames: [{ kind: 'text', text: toJson(message) }],
      expect: [expect],
      close: null,
      hostile: 1,
      note: uris.map((u) => `${u.note}: ${u.uri}`).join(' | '),
    });
  }

  unicode(): void {
    const id = this.#id('uc');
    const strange = [
      '\ud800',
      '\udfff',
      '\udc00\ud800',
      '😀',
      '\u202e',
      '\u200b',
      '\u0000',
      '\u2028',
      '\u2029',
      '\ufffe',
      '\uffff',
      'e\u0301',
      '\u{10ffff}',
      '\ufeff',
      'İ',
      'ß',
    ];
    const variant = this.rng.int(6);
    if (variant === 0) {
      // Ids with lone surrogates, NULs, bidi overrides: echoed exactly in the pong.
      let pid = `${id}${this.rng.pick(strange)}${this.rng.pick(strange)}`;
      if (pid.length > 128) pid = pid.slice(0, 128);
      this.#add({
        category: 'unicode',
        frames: [{ kind: 'text', text: toJson({ type: 'ping', id: pid, t: 1 }) }],
        expect: [{ reply: 'pong', id: pid }],
        close: null,
        hostile: 1,
        note: 'strange characters in an id',
      });
      return;
    }
    if (variant === 1) {
      // Ids are counted in characters (code points): 128 astral characters (256 UTF-16 units) are fine, 129 are not.
      // An id the schema accepts is echoed even when another field is wrong.
      const prefix = `${id}-`;
      const length = this.rng.pick([128, 129]);
      const pid = `${prefix}${'😀'.repeat(length - prefix.length)}`;
      const badT = this.rng.bool(0.5);
      const message: Record<string, Value> = badT ? { type: 'ping', id: pid, t: 'not a number' } : { type: 'ping', id: pid };
      const expect: Expectation =
        length === 129 ? { error: ['INVALID_REQUEST'], id: null } : badT ? { error: ['INVALID_REQUEST'], id: pid } : { reply: 'pong', id: pid };
      this.#add({
        category: 'unicode',
        frames: [{ kind: 'text', text: toJson(message) }],
        expect: [expect],
        close: null,
        hostile: 1,
        note: `id of ${length} characters (${pid.length} UTF-16 units)${badT ? ', bad t' : ''}`,
      });
      return;
    }
    if (variant === 2) {
      const prompt = Array.from({ length: 1 + this.rng.int(20) }, () => this.rng.pick(strange)).join('');
      const message = { ...this.#validJudge(id), prompt };
      this.#add({
        category: 'unicode',
        frames: [{ kind: 'text', text: toJson(message) }],
        expect: [{ reply: 'verdict', id }],
        close: null,
        hostile: 1,
        note: 'strange prompt',
      });
      return;
    }
    if (variant === 3) {
      // A ref made of strange characters: stored and used.
      const ref = `${id}${this.rng.pick(strange)}`;
      const jid = `${id}-j`;
      const frames: FuzzFrame[] = [
        { kind: 'text', text: toJson(this.#videoHeader(ref, 2, 2, 1)) },
        { kind: 'binary', length: 12, fill: 128 },
        { kind: 'text', text: toJson({ type: 'judge', id: jid, prompt: 'p', mode: 'pointwise', videos: [{ inline: ref }] }) },
      ];
      this.#add({
        category: 'unicode',
        frames,
        expect: [
          { reply: 'video_received', id: ref },
          { reply: 'verdict', id: jid },
        ],
        close: null,
        hostile: 1,
        note: 'strange ref',
      });
      return;
    }
    if (variant === 4) {
      // Look-alike keys: the object has no `type`, or an unknown field.
      const text = this.rng.bool(0.5) ? `{"typ\u0435":"ping","id":${JSON.stringify(id)}}` : `{"type":"ping","id":${JSON.stringify(id)},"\u0456d":"x"}`;
      this.#add({
        category: 'unicode',
        frames: [{ kind: 'text', text }],
        expect: [{ error: ['INVALID_REQUEST'], id }],
        close: null,
        hostile: 1,
        note: 'look-alike key',
      });
      return;
    }
    // Escaped ASCII is the same string: `\u0070ing` is `ping`.
    const text = `{"\\u0074ype":"\\u0070in\\u0067","\\u0069d":${JSON.stringify(id)}}`;
    this.#add({
      category: 'unicode',
      frames: [{ kind: 'text', text }],
      expect: [{ reply: 'pong', id }],
      close: null,
      hostile: 1,
      note: 'unicode escapes of ASCII',
    });
  }

  invalidUtf8(): void {
    const id = this.#id('u8');
    const bad = this.rng.pick([
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xf0, 0x80, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0x80],
      [0xc3],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ]);
    const before = Buffer.from(`{"type":"ping","id":"${id}`);
    const after = Buffer.from('"}');
    const bytes = this.rng.bool(0.5) ? Buffer.concat([before, Buffer.from(bad), after]) : Buffer.concat([before, after, Buffer.from(bad)]);
    this.#add({
      category: 'invalid-utf8',
      frames: [{ kind: 'text-bytes', hex: hexOf(bytes) }],
      expect: [],
      close: 1007,
      hostile: 1,
      note: `invalid UTF-8 ${hexOf(bad)}`,
    });
  }

  oversized(): void {
    const over = this.limits.maxPayloadBytes + 1 + this.rng.int(4096);
    const variant = this.rng.int(3);
    if (variant === 0) {
      this.#add({
        category: 'oversized',
        frames: [{ kind: 'text', text: `{"type":"ping","id":"${runMarker(0)}"}`, runs: [{ unit: 'x', count: over }] }],
        expect: [],
        close: 1009,
        hostile: 1,
        note: `text of ${over} bytes`,
      });
    } else if (variant === 1) {
      this.#add({
        category: 'oversized',
        frames: [{ kind: 'binary', length: over, fill: 0 }],
        expect: [],
        close: 1009,
        hostile: 1,
        note: `binary of ${over} bytes without a header`,
      });
    } else {
      const ref = this.#id('ov');
      const frames: FuzzFrame[] = [
        { kind: 'text', text: toJson(this.#videoHeader(ref, 2, 2, 1)) },
        { kind: 'binary', length: over, fill: 0 },
      ];
      this.#add({ category: 'oversized', frames, expect: [], close: 1009, hostile: 1, note: `binary of ${over} bytes after a small header` });
    }
  }

  protocolMismatch(): void {
    const protocol = this.rng.pick([0, 1, 3, -1, 99, 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER].filter((p) => p !== PROTOCOL_VERSION));
    const message: Record<string, Value> = { type: 'hello', protocol };
    if (this.rng.bool(0.5)) message.client = 'fuzz/9.9';
    this.#add({
      category: 'protocol-mismatch',
      frames: [{ kind: 'text', text: toJson(message) }],
      expect: [{ error: ['PROTOCOL_MISMATCH'], id: null }],
      close: 1002,
      hostile: 1,
      note: `hello protocol ${protocol}`,
    });
  }

  /** A client frame: FIN/RSV bits, opcode, mask (a seeded key unless `masked` is false), declared length. */
  #frame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; rsv?: number; masked?: boolean; declared?: bigint; extended?: 16 | 64 } = {}): Buffer {
    const fin = opts.fin ?? true;
    const masked = opts.masked ?? true;
    const first = (fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f);
    const length = opts.declared ?? BigInt(payload.length);
    const head: number[] = [first];
    const maskBit = masked ? 0x80 : 0;
    if (opts.extended === 64 || length > 0xffffn) {
      head.push(maskBit | 127);
      for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
    } else if (opts.extended === 16 || length > 125n) {
      head.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length) & 0xff);
    } else {
      head.push(maskBit | Number(length));
    }
    if (!masked) return Buffer.concat([Buffer.from(head), payload]);
    const key = [this.rng.int(256), this.rng.int(256), this.rng.int(256), this.rng.int(256)];
    const body = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] ?? 0)));
    return Buffer.concat([Buffer.from(head), Buffer.from(key), body]);
  }

  wsFrame(): void {
    const id = this.#id('wf');
    const ping = Buffer.from(toJson({ type: 'ping', id }));
    const utf8 = (s: string): Uint8Array => Buffer.from(s);
    const closePayload = (code: number, reason: Uint8Array = new Uint8Array()): Uint8Array => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);
    type Variant = () => { frames: Buffer[]; close: number | null; expect: Expectation[]; note: string };
    const variants: Variant[] = [
      () => ({ frames: [this.#frame(0x1, ping, { rsv: this.rng.pick([1, 2, 4, 3, 7]) })], close: 1002, expect: [], note: 'RSV bits set' }),
      () => {
        const opcode = this.rng.pick([0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]);
        return { frames: [this.#frame(opcode, ping)], close: 1002, expect: [], note: `opcode ${opcode}` };
      },
      () => ({ frames: [this.#frame(0x1, ping, { masked: false })], close: 1002, expect: [], note: 'unmasked client frame' }),
      () => ({ frames: [this.#frame(0x0, ping)], close: 1002, expect: [], note: 'continuation without a first fragment' }),
      () => ({ frames: [this.#frame(0x9, utf8('x'), { fin: false })], close: 1002, expect: [], note: 'fragmented control frame' }),
      () => ({ frames: [this.#frame(0x9, new Uint8Array(126 + this.rng.int(200)))], close: 1002, expect: [], note: 'control frame over 125 bytes' }),
      () => ({ frames: [this.#frame(0x8, new Uint8Array([0x03]))], close: 1002, expect: [], note: 'close frame with a 1-byte payload' }),
      () => {
        const code = this.rng.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]);
        return { frames: [this.#frame(0x8, closePayload(code))], close: 1002, expect: [], note: `close code ${code}` };
      },
      () => ({ frames: [this.#frame(0x8, closePayload(1000, new Uint8Array([0xff, 0xfe])))], close: 1007, expect: [], note: 'close reason not UTF-8' }),
      () => {
        const code = this.rng.pick([1000, 1001, 1003, 1008, 1011, 3000, 4000, 4999]);
        return { frames: [this.#frame(0x8, closePayload(code, utf8('bye')))], close: code, expect: [], note: `client close ${code} is echoed` };
      },
      () => ({ frames: [this.#frame(0x8, new Uint8Array())], close: 1005, expect: [], note: 'empty close frame' }),
      () => ({
        frames: [this.#frame(0x1, new Uint8Array(), { declared: 2n ** 63n + BigInt(this.rng.int(1000)) })],
        close: 1009,
        expect: [],
        note: 'length > 2^53 - 1',
      }),
      () => ({
        frames: [this.#frame(0x2, new Uint8Array(), { declared: BigInt(this.limits.maxPayloadBytes + 1 + this.rng.int(1 << 20)) })],
        close: 1009,
        expect: [],
        note: 'declared length over maxPayload',
      }),
      () => ({
        frames: [this.#frame(0x1, ping.subarray(0, 5), { fin: false }), this.#frame(0x1, ping.subarray(5))],
        close: 1002,
        expect: [],
        note: 'new message inside a fragmented one',
      }),
      () => ({
        frames: [this.#frame(0x1, ping.subarray(0, 4), { fin: false }), this.#frame(0x0, Buffer.from([0xc0, 0xaf]))],
        close: 1007,
        expect: [],
        note: 'invalid UTF-8 in a continuation',
      }),
      () => {
        // Valid but unusual: a fragmented message with a ping control frame between its fragments.
        const cut = 1 + this.rng.int(ping.length - 2);
        const frames = [this.#frame(0x1, ping.subarray(0, cut), { fin: false }), this.#frame(0x9, utf8('hi')), this.#frame(0x0, ping.subarray(cut))];
        return { frames, close: null, expect: [{ reply: 'pong', id }], note: 'fragmented message with an interleaved ping' };
      },
      () => ({
        frames: [this.#frame(0x1, ping, { extended: this.rng.pick([16, 64] as const) })],
        close: null,
        expect: [{ reply: 'pong', id }],
        note: 'non-minimal length encoding',
      }),
      () => ({ frames: [this.#frame(0x1, new Uint8Array())], close: null, expect: [{ error: ['BAD_MESSAGE'], id: null }], note: 'empty text frame' }),
      () => ({ frames: [this.#frame(0xa, utf8('unsolicited'))], close: null, expect: [], note: 'unsolicited pong' }),
    ];
    const v = this.rng.pick(variants)();
    this.#add({
      category: 'ws-frame',
      transport: 'raw',
      frames: [{ kind: 'raw', hex: Buffer.concat(v.frames).toString('hex') }],
      expect: v.expect,
      close: v.close,
      hostile: 1,
      note: v.note,
    });
  }

  slow(): void {
    const id = this.#id('sl');
    const frames: Buffer[] = [this.#frame(0x1, Buffer.from(toJson({ type: 'ping', id, t: 2 })))];
    this.#add({
      category: 'slow',
      transport: 'raw',
      frames: [{ kind: 'raw', hex: Buffer.concat(frames).toString('hex') }],
      expect: [{ reply: 'pong', id }],
      close: null,
      hostile: 1,
      dripMs: 1 + this.rng.int(3),
      note: 'handshake and message dripped in small chunks',
    });
  }

  valid(): void {
    const id = this.#id('ok');
    const variant = this.rng.int(4);
    if (variant === 0) {
      this.#add({
        category: 'valid',
        frames: [{ kind: 'text', text: toJson({ type: 'status', id }) }],
        expect: [{ reply: 'status', id }],
        close: null,
        hostile: 0,
        note: 'status',
      });
    } else if (variant === 1) {
      this.#add({
        category: 'valid',
        frames: [{ kind: 'text', text: toJson(this.#validJudge(id)) }],
        expect: [{ reply: 'verdict', id }],
        close: null,
        hostile: 0,
        note: 'judge a file',
      });
    } else if (variant === 2) {
      this.#add({
        category: 'valid',
        frames: [{ kind: 'text', text: toJson({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'fuzz' }) }],
        expect: [],
        close: null,
        hostile: 0,
        note: 'hello with the same protocol (no answer)',
      });
    } else {
      const a = `${id}-a`;
      const b = `${id}-b`;
      const frames: FuzzFrame[] = [
        { kind: 'text', text: toJson(this.#videoHeader(a, 4, 4, 2)) },
        { kind: 'binary', length: 96, fill: 200 },
        { kind: 'text', text: toJson(this.#videoHeader(b, 4, 4, 2)) },
        { kind: 'binary', length: 96, fill: 40 },
        { kind: 'text', text: toJson({ type: 'judge', id, prompt: 'p', mode: 'pairwise', videos: [{ inline: a }, { inline: b }], options: { stream: true } }) },
      ];
      this.#add({
        category: 'valid',
        frames,
        expect: [
          { reply: 'video_received', id: a },
          { reply: 'video_received', id: b },
          { reply: 'verdict', id },
        ],
        close: null,
        hostile: 0,
        note: 'inline pairwise judge',
      });
    }
  }

  one(category: Category): void {
    switch (category) {
      case 'bad-json':
        return this.badJson();
      case 'not-object':
        return this.notObject();
      case 'bad-type':
        return this.badType();
      case 'unknown-type':
        return this.unknownType();
      case 'schema':
        return this.schema();
      case 'numbers':
        return this.numbers();
      case 'huge':
        return this.huge();
      case 'inline':
        return this.inline();
      case 'admission':
        return this.admission();
      case 'uri':
        return this.uri();
      case 'unicode':
        return this.unicode();
      case 'invalid-utf8':
        return this.invalidUtf8();
      case 'oversized':
        return this.oversized();
      case 'protocol-mismatch':
        return this.protocolMismatch();
      case 'ws-frame':
        return this.wsFrame();
      case 'slow':
        return this.slow();
      case 'valid':
        return this.valid();
    }
  }
}

function weightedPick(rng: Rng): Category {
  const total = CATEGORIES.reduce((s, c) => s + CATEGORY_WEIGHTS[c], 0);
  let x = rng.next() * total;
  for (const c of CATEGORIES) {
    x -= CATEGORY_WEIGHTS[c];
    if (x < 0) return c;
  }
  return 'valid';
}

/** Default hostile-message count of a corpus. */
export const DEFAULT_MIN_HOSTILE = 10_240;

/**
 * Generates the corpus for `seed`: first one case of every category (so each is covered whatever the seed), then
 * weighted random categories until `minHostile` hostile messages. Pure: the same options give the same corpus.
 */
export function generateCorpus(options: CorpusOptions): Corpus {
  const limits: CorpusLimits = { maxPayloadBytes: options.maxPayloadBytes, maxInFlight: options.maxInFlight, maxInlineBytes: options.maxInlineBytes };
  const rng = Rng.fromSeed(options.seed);
  const generator = new Generator(rng, limits);
  const minHostile = options.minHostile ?? DEFAULT_MIN_HOSTILE;
  for (const category of CATEGORIES) generator.one(category);
  while (generator.hostile < minHostile) generator.one(weightedPick(rng));
  return { seed: options.seed, limits, cases: generator.cases, hostileMessages: generator.hostile };
}

/** The corpus as JSON lines: a header line (seed, limits, counts), then one case per line. */
export function corpusToJsonLines(corpus: Corpus): string {
  const header = { seed: corpus.seed, limits: corpus.limits, cases: corpus.cases.length, hostileMessages: corpus.hostileMessages, rootToken: ROOT_TOKEN };
  return `${[header, ...corpus.cases].map((line) => JSON.stringify(line)).join('\n')}\n`;
}
