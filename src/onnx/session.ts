/**
 * `OnnxModel`: the project's one adapter over onnxruntime-node. An async factory loads a model (path or bytes) on the
 * CPU execution provider and checks its input/output signature; `run` takes and returns plain float32 tensors, so no
 * onnxruntime type leaves this folder. `close()` is idempotent and waits for runs in flight.
 */
import { basename, dirname, relative, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { VrGrpoError } from '../errors/index.js';
import { DEFAULT_MODEL_MAX_BYTES, readCheckpointFile } from './model-file.js';

/** A named tensor shape; `-1` stands for a dynamic dimension (such as the batch). */
export interface TensorSignature {
  readonly name: string;
  readonly dims: readonly number[];
}

/** The inputs and outputs a caller expects of a model. */
export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  /** Outputs the caller needs; the model may have more. */
  readonly outputs: readonly TensorSignature[];
}

/** A dense float32 tensor in row-major order. */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

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
}

/** Lifecycle of an {@link OnnxModel}. */
export type OnnxModelState = 'OPEN' | 'CLOSING' | 'CLOSED';

/** Dimensions as the runtime reports them: numbers for fixed sizes, -1 for symbolic or unknown ones. */
function dimsOf(meta: ort.InferenceSession.ValueMetadata): number[] | null {
  if (!meta.isTensor) return null;
  return meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

function sameDims(want: readonly number[], have: readonly number[]): boolean {
  return want.length === have.length && want.every((d, i) => d === -1 || have[i] === -1 || have[i] === d);
}

function describe(sig: readonly TensorSignature[]): string {
  return sig.map((s) => `${s.name}[${s.dims.join(',')}]`).join(', ');
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class OnnxModel {
  private state: OnnxModelState = 'OPEN';
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;
  /** The signature the model actually has (all inputs and outputs, -1 for dynamic dimensions). */
  readonly signature: ModelSignature;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
  ) {
    const toSig = (metas: readonly ort.InferenceSession.ValueMetadata[]): TensorSignature[] => metas.map((m) => ({ name: m.name, dims: dimsOf(m) ?? [] }));
    this.signature = Object.freeze({ inputs: toSig(session.inputMetadata), outputs: toSig(session.outputMetadata) });
  }

  /**
   * Loads a model from a file path or its bytes on the CPU execution provider. MODEL_INVALID when the file is missing,
   * unreadable, not a regular file, over `maxBytes`, not a valid ONNX model, or lacks the `expected` signature (default:
   * no check); FORBIDDEN_PATH when a path resolves outside `root`. A path is read as src/onnx/model-file.ts says
   * (confined, regular file, size checked before opening, asynchronous, within `readTimeoutMs`).
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
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.intraOpNumThreads ?? 1,
        interOpNumThreads: options.interOpNumThreads ?? 1,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
    } catch (e) {
      throw new VrGrpoError('MODEL_INVALID', `${label} is not a loadable ONNX model: ${reasonOf(e).split('\n')[0] ?? ''}`, {
        details: { model: label },
        cause: e,
      });
    }
    const model = new OnnxModel(session, label);
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
   * INFERENCE_FAILED when the runtime fails or the model is closed. Returns every output as float32.
   */
  async run(feeds: Readonly<Record<string, FloatTensor>>): Promise<Record<string, FloatTensor>> {
    if (this.state !== 'OPEN') throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: the model is closed`, { details: { model: this.label } });
    const ortFeeds: Record<string, ort.Tensor> = {};
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
      ortFeeds[input.name] = new ort.Tensor('float32', feed.data, [...feed.dims]);
    }
    const extra = Object.keys(feeds).filter((k) => !this.inputNames.includes(k));
    if (extra.length > 0) throw new VrGrpoError('INVALID_ARGUMENT', `${this.label}: unknown input(s) ${extra.join(', ')}`, { details: { model: this.label } });
    const pending = this.session.run(ortFeeds);
    this.inFlight.add(pending);
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await pending;
    } catch (e) {
      throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: inference failed: ${reasonOf(e).split('\n')[0] ?? ''}`, {
        details: { model: this.label },
        cause: e,
      });
    } finally {
      this.inFlight.delete(pending);
    }
    const out: Record<string, FloatTensor> = {};
    for (const name of this.outputNames) {
      const value = results[name];
      if (value === undefined) continue;
      if (value.type !== 'float32' || !(value.data instanceof Float32Array)) {
        throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: output ${name} is ${value.type}, not float32`, { details: { model: this.label } });
      }
      out[name] = { data: value.data, dims: [...value.dims] };
    }
    return out;
  }

  /** Waits for runs in flight, then releases the session. Safe to call any number of times. */
  async close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.state = 'CLOSING';
    this.closing = (async () => {
      await Promise.allSettled([...this.inFlight]);
      try {
        await this.session.release();
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
