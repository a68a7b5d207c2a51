/**
 * `OnnxModel`: the project's one adapter over onnxruntime-node. An async factory loads a model (path or bytes) on the
 * CPU execution provider and checks its input/output signature; `run` takes and returns plain float32 tensors, so no
 * onnxruntime type leaves this folder. `close()` is idempotent and waits for runs in flight.
 *
 * onnxruntime-node creates sessions and runs them synchronously on the calling thread. A large model (at least
 * {@link ONNX_THREAD_MIN_BYTES}) therefore lives in its own worker thread by default (src/onnx/session-thread.ts):
 * loading and runs block that thread, not the event loop. A small one stays on the calling thread, where its
 * millisecond runs cost less than a thread hop (docs/perf.md, "Event loop under load"). The file is read (confined,
 * asynchronous) here and its bytes moved to the thread; feeds and outputs travel in transfer lists.
 */
import { basename, dirname, relative, resolve } from 'node:path';
import { VrGrpoError } from '../errors/index.js';
import { DEFAULT_MODEL_MAX_BYTES, readCheckpointFile } from './model-file.js';
import { OrtSession, type OrtSessionOptions, type RawFeed, type RawOutput } from './ort-session.js';
import { SessionThread } from './session-thread.js';
import type { FloatTensor, ModelSignature, TensorSignature } from './types.js';

export type { FloatTensor, ModelSignature, TensorSignature } from './types.js';

/**
 * Smallest model, in bytes, that `thread: 'auto'` runs in its own thread: 8 MiB. The shipped models (rm-v2 and the
 * learned judge's, about 1.2 MB and 70 kB) load in ~1 ms and run in ~2 ms, where a thread only adds a hop per run and
 * ~370 ms of CPU per start; a model this large takes long enough to load and run that keeping it off the event loop
 * pays (docs/perf.md: a 140 ms run stalls the loop 185 ms on the calling thread, 37 ms with the thread).
 */
export const ONNX_THREAD_MIN_BYTES = 8 * 1024 * 1024;

/** Session options of {@link OnnxModel.create}. */
export interface OnnxModelOptions {
  /** Threads one operator may use; default 1 (the reward server runs several sessions on 2 cores). */
  readonly intraOpNumThreads?: number;
  /** Threads for running independent operators in parallel; default 1. */
  readonly interOpNumThreads?: number;
  /** Largest model accepted, bytes (path or bytes); default 256 MiB ({@link DEFAULT_MODEL_MAX_BYTES}). */
  readonly maxBytes?: number;
  /** ms reading a model file may take; default 30000. */
  readonly readTimeoutMs?: number;
  /** A path source must resolve (realpath) inside this folder; default: the folder the path names. */
  readonly root?: string;
  /**
   * Where the session runs. `true`: a dedicated worker thread, off the event loop. `false`: the calling thread, which
   * each load and run blocks (training loops that have no event loop to keep free, benches comparing both). `'auto'`
   * (default): a thread for a model of at least {@link ONNX_THREAD_MIN_BYTES} bytes, the calling thread for a smaller one.
   */
  readonly thread?: boolean | 'auto';
}

/** Options of one {@link OnnxModel.run}. */
export interface OnnxRunOptions {
  /**
   * Move each feed's buffer to the session thread instead of copying it (zero-copy): the caller's arrays are detached
   * afterwards and must not be used again. Only arrays that span their whole, non-shared buffer move; others are
   * copied. No effect on a model without a thread. Default false.
   */
  readonly transferInputs?: boolean;
}

/** Lifecycle of an {@link OnnxModel}. */
export type OnnxModelState = 'OPEN' | 'CLOSING' | 'CLOSED';

/** Where a model's session lives: on the calling thread or in its own worker thread. */
interface SessionBackend {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  run(feeds: readonly RawFeed[], move: boolean): Promise<RawOutput[]>;
  close(): Promise<void>;
}

class LocalSession implements SessionBackend {
  constructor(private readonly session: OrtSession) {}
  get inputs(): readonly TensorSignature[] {
    return this.session.inputs;
  }
  get outputs(): readonly TensorSignature[] {
    return this.session.outputs;
  }
  run(feeds: readonly RawFeed[]): Promise<RawOutput[]> {
    return this.session.run(feeds);
  }
  close(): Promise<void> {
    return this.session.release();
  }
}

function sameDims(want: readonly number[], have: readonly number[]): boolean {
  return want.length === have.length && want.every((d, i) => d === -1 || have[i] === -1 || have[i] === d);
}

function describe(sig: readonly TensorSignature[]): string {
  return sig.map((s) => `${s.name}[${s.dims.join(',')}]`).join(', ');
}

/** Whether a model of `bytes` runs in its own thread under the `thread` option. */
function runsInThread(thread: OnnxModelOptions['thread'], bytes: number): boolean {
  return thread === undefined || thread === 'auto' ? bytes >= ONNX_THREAD_MIN_BYTES : thread;
}

export class OnnxModel {
  private state: OnnxModelState = 'OPEN';
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;
  /** The signature the model actually has (all inputs and outputs, -1 for dynamic dimensions). */
  readonly signature: ModelSignature;

  private constructor(
    private readonly backend: SessionBackend,
    readonly label: string,
    /** Whether the session runs in its own worker thread. */
    readonly threaded: boolean,
  ) {
    this.signature = Object.freeze({ inputs: backend.inputs, outputs: backend.outputs });
  }

  /**
   * Loads a model from a file path or its bytes on the CPU execution provider. MODEL_INVALID when the file is missing,
   * unreadable, not a regular file, over `maxBytes`, not a valid ONNX model, or lacks the `expected` signature (default:
   * no check); FORBIDDEN_PATH when a path resolves outside `root`; INFERENCE_FAILED when the session thread fails to
   * start or dies while loading. A path is read as src/onnx/model-file.ts says (confined, regular file, size checked before opening,
   * asynchronous, within `readTimeoutMs`) on the calling thread; only the bytes go to the session thread (a caller's
   * bytes are copied there, never detached).
   */
  static async create(source: string | Uint8Array, expected?: ModelSignature, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    const label = typeof source === 'string' ? source : `<${source.length} bytes>`;
    const maxBytes = options.maxBytes ?? DEFAULT_MODEL_MAX_BYTES;
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      const path = resolve(source);
      const root = options.root === undefined ? dirname(path) : resolve(options.root);
      const name = options.root === undefined ? basename(path) : relative(root, path);
      const limits = { maxBytes, ...(options.readTimeoutMs === undefined ? {} : { timeoutMs: options.readTimeoutMs }) };
      bytes = (await readCheckpointFile(root, name, limits, 'ONNX model')).bytes;
    } else bytes = source;
    if (bytes.length > maxBytes) {
      throw new VrGrpoError('MODEL_INVALID', `${label}: ${bytes.length} bytes, over the limit of ${maxBytes}`, {
        details: { model: label, reason: 'too large', bytes: bytes.length, maxBytes },
      });
    }
    const sessionOptions: OrtSessionOptions = { intraOpNumThreads: options.intraOpNumThreads ?? 1, interOpNumThreads: options.interOpNumThreads ?? 1 };
    const threaded = runsInThread(options.thread, bytes.length);
    let model: OnnxModel | null = null;
    const backend: SessionBackend = threaded
      ? await SessionThread.start(bytes, typeof source === 'string', sessionOptions, label, () => model?.onThreadCrash())
      : new LocalSession(await OrtSession.open(bytes, sessionOptions, label));
    model = new OnnxModel(backend, label, threaded);
    if (expected !== undefined) {
      try {
        model.check(expected);
      } catch (e) {
        await model.close();
        throw e;
      }
    }
    return model;
  }

  /** The session thread died: whatever was pending has been rejected; nothing more can run. */
  private onThreadCrash(): void {
    this.state = 'CLOSED';
    this.closing ??= Promise.resolve();
  }

  get inputNames(): readonly string[] {
    return this.signature.inputs.map((s) => s.name);
  }

  get outputNames(): readonly string[] {
    return this.signature.outputs.map((s) => s.name);
  }

  /** MODEL_INVALID unless the inputs are exactly the expected ones and every expected output exists, with matching dims. */
  private check(expected: ModelSignature): void {
    const mismatch = (what: string): VrGrpoError =>
      new VrGrpoError(
        'MODEL_INVALID',
        `${this.label}: ${what} (model has inputs ${describe(this.signature.inputs)}; outputs ${describe(this.signature.outputs)})`,
        {
          details: { model: this.label, expected: { inputs: describe(expected.inputs), outputs: describe(expected.outputs) } },
        },
      );
    if (expected.inputs.length !== this.signature.inputs.length) {
      throw mismatch(`expected ${expected.inputs.length} input(s), found ${this.signature.inputs.length}`);
    }
    const check = (want: TensorSignature, have: readonly TensorSignature[], kind: string): void => {
      const found = have.find((h) => h.name === want.name);
      if (found === undefined) throw mismatch(`missing ${kind} ${want.name}`);
      if (!sameDims(want.dims, found.dims)) throw mismatch(`${kind} ${want.name} has dims [${found.dims.join(',')}], expected [${want.dims.join(',')}]`);
    };
    for (const want of expected.inputs) check(want, this.signature.inputs, 'input');
    for (const want of expected.outputs) check(want, this.signature.outputs, 'output');
  }

  /**
   * Runs the model. Feeds must name every input with float32 data matching `dims`; INVALID_ARGUMENT otherwise.
   * INFERENCE_FAILED when the runtime fails, the model is closed or its session thread dies. Returns every output as
   * float32. The feeds are copied to the session thread unless `options.transferInputs` moves them.
   */
  async run(feeds: Readonly<Record<string, FloatTensor>>, options: OnnxRunOptions = {}): Promise<Record<string, FloatTensor>> {
    const backend = this.backend;
    if (this.state !== 'OPEN') {
      throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: the model is closed`, { details: { model: this.label } });
    }
    const raw: RawFeed[] = [];
    for (const input of this.signature.inputs) {
      const feed = feeds[input.name];
      if (feed === undefined)
        throw new VrGrpoError('INVALID_ARGUMENT', `${this.label}: feed for input ${input.name} is missing`, { details: { model: this.label } });
      const count = feed.dims.reduce((p, d) => p * d, 1);
      if (!feed.dims.every((d) => Number.isInteger(d) && d >= 0) || count !== feed.data.length || !sameDims(input.dims, feed.dims)) {
        throw new VrGrpoError(
          'INVALID_ARGUMENT',
          `${this.label}: feed ${input.name} has dims [${feed.dims.join(',')}] and ${feed.data.length} values; the model wants [${input.dims.join(',')}]`,
          { details: { model: this.label, input: input.name } },
        );
      }
      raw.push({ name: input.name, data: feed.data, dims: feed.dims });
    }
    const extra = Object.keys(feeds).filter((k) => !this.inputNames.includes(k));
    if (extra.length > 0) throw new VrGrpoError('INVALID_ARGUMENT', `${this.label}: unknown input(s) ${extra.join(', ')}`, { details: { model: this.label } });
    const pending = backend.run(raw, options.transferInputs ?? false);
    this.inFlight.add(pending);
    let results: RawOutput[];
    try {
      results = await pending;
    } finally {
      this.inFlight.delete(pending);
    }
    const out: Record<string, FloatTensor> = {};
    for (const value of results) {
      if (value.data === null) {
        throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: output ${value.name} is ${value.type}, not float32`, { details: { model: this.label } });
      }
      out[value.name] = { data: value.data, dims: [...value.dims] };
    }
    return out;
  }

  /** Waits for runs in flight, then releases the session (and stops its thread). Safe to call any number of times. */
  async close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.state = 'CLOSING';
    this.closing = (async () => {
      await Promise.allSettled([...this.inFlight]);
      try {
        await this.backend.close();
      } finally {
        this.state = 'CLOSED';
      }
    })();
    return this.closing;
  }

  /** `'OPEN'`, `'CLOSING'` or `'CLOSED'`. */
  get status(): OnnxModelState {
    return this.state;
  }
}
