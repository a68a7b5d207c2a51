/**
 * The onnxruntime-node calls both session modes share: open a session from bytes on the CPU execution provider, read its
 * signature, run it on float32 feeds, release it. Used on the calling thread and inside a session thread
 * (src/onnx/session-worker.ts). The runtime's errors leave here with their catalogue code (MODEL_INVALID for bytes it
 * refuses, INFERENCE_FAILED for a failed run), so they read the same in both modes and cross the thread boundary intact.
 */
import * as ort from 'onnxruntime-node';
import { VrGrpoError } from '../errors/index.js';
import type { TensorSignature } from './types.js';

/** Session options both modes pass to the runtime. */
export interface OrtSessionOptions {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
}

/** One input of a run. */
export interface RawFeed {
  readonly name: string;
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** One output of a run: `data` is null unless the output is float32 (`type` names what it is). */
export interface RawOutput {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | null;
}

/** Dimensions as the runtime reports them: numbers for fixed sizes, -1 for symbolic or unknown ones. */
function dimsOf(meta: ort.InferenceSession.ValueMetadata): number[] {
  if (!meta.isTensor) return [];
  return meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/** The first line of the runtime's message (the rest is a native stack). */
function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

function signatureOf(metas: readonly ort.InferenceSession.ValueMetadata[]): TensorSignature[] {
  return metas.map((m) => ({ name: m.name, dims: dimsOf(m) }));
}

export class OrtSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSignature[],
    readonly outputs: readonly TensorSignature[],
    private readonly label: string,
  ) {}

  /** Loads a model from its bytes; MODEL_INVALID when the runtime refuses them. `label` names the model in errors. */
  static async open(bytes: Uint8Array, options: OrtSessionOptions, label: string): Promise<OrtSession> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.intraOpNumThreads,
        interOpNumThreads: options.interOpNumThreads,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
    } catch (e) {
      throw new VrGrpoError('MODEL_INVALID', `${label} is not a loadable ONNX model: ${firstLine(e)}`, { details: { model: label }, cause: e });
    }
    return new OrtSession(session, signatureOf(session.inputMetadata), signatureOf(session.outputMetadata), label);
  }

  /** Runs the session (feeds already checked against the signature); every output of the signature that came back. INFERENCE_FAILED when the runtime fails. */
  async run(feeds: readonly RawFeed[]): Promise<RawOutput[]> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const feed of feeds) ortFeeds[feed.name] = new ort.Tensor('float32', feed.data, [...feed.dims]);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds);
    } catch (e) {
      throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: inference failed: ${firstLine(e)}`, { details: { model: this.label }, cause: e });
    }
    const out: RawOutput[] = [];
    for (const { name } of this.outputs) {
      const value = results[name];
      if (value === undefined) continue;
      const data = value.type === 'float32' && value.data instanceof Float32Array ? value.data : null;
      out.push({ name, type: value.type, dims: [...value.dims], data });
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
