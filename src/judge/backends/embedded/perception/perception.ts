/**
 * `Perception`: what the embedded judge sees in a frame. Classical analysis finds the background and up to two blobs;
 * one batched ONNX run over every blob crop (plus one background row per frame) of a call classifies object colour,
 * shape and background colour. Loaded from a model folder (`manifest.json` + `model.onnx`) by an async factory.
 */
import { VrGrpoError } from '../../../../errors/index.js';
import { OnnxModel, type ModelSignature } from '../../../../onnx/index.js';
import { BACKGROUND_COLOUR_NAMES, OBJECT_COLOUR_NAMES, SHAPES, type Rgb } from '../../../../world/index.js';
import { AnalysisThreads, MAX_ANALYSIS_THREADS, autoAnalysisThreads } from './analysis-thread.js';
import { CROP_SIZE, FEATURE_SIZE } from './features.js';
import { DEFAULT_ANALYSIS, checkFrameSize, type AnalysisOptions, type BoundingBox } from './frame-analysis.js';
import { analyseFrames, type AnalysedFrames } from './frame-rows.js';
import { HEADS, INPUT_NAME, PROB_OUTPUTS, type HeadName } from './heads.js';
import { readPerceptionDir, type PerceptionManifest } from './manifest.js';

/** One object found in a frame. */
export interface PerceivedObject {
  /** Centroid, px (continuous coordinates: pixel i covers [i, i+1)). */
  readonly x: number;
  readonly y: number;
  /** Area, px. */
  readonly area: number;
  /** Probabilities over OBJECT_COLOUR_NAMES. */
  readonly colourProbs: Float32Array;
  /** Probabilities over SHAPES. */
  readonly shapeProbs: Float32Array;
  /** Mean core colour, 0–1 (measured, not classified). */
  readonly rgb: Rgb;
  readonly bbox: BoundingBox;
  /** The object reaches the frame border (partly out of view; centroid and shape less reliable). */
  readonly touchesBorder: boolean;
  /** Edge steepness at the object's boundary, 1/px (≈ 1/(√(2π)·edge σ)); lower is blurrier. */
  readonly edgeSteepness: number;
}

/** Everything perceived in one frame. */
export interface FramePerception {
  /** The caller's frame index (0-based within its video). */
  readonly frameIndex: number;
  /** Probabilities over BACKGROUND_COLOUR_NAMES. */
  readonly backgroundProbs: Float32Array;
  /** By area, descending; at most 2. */
  readonly objects: readonly PerceivedObject[];
  /** Mean intensity, 0–1. */
  readonly brightness: number;
  /** Mean edge steepness of the objects, 1/px (≈ 1/(√(2π)·edge σ)); 0 when there is no object. */
  readonly sharpness: number;
  /** Noise std in flat background, intensity 0–1. */
  readonly noise: number;
  /** Measured background colour, 0–1. */
  readonly background: Rgb;
}

/** Options of {@link Perception.create}. */
export interface PerceptionOptions {
  /** ONNX intra-op threads; default 1. */
  readonly intraOpNumThreads?: number;
  /** Classical analysis tunables; defaults in DEFAULT_ANALYSIS. */
  readonly analysis?: Partial<AnalysisOptions>;
  /**
   * Worker threads that run the per-frame JavaScript of `perceive` (frame analysis and input rows, tens of ms per
   * call) off the caller's event loop: 0 = inline, on the caller's thread (default: training and evaluation, where
   * nothing else waits on the loop); 1…8 threads; `'auto'` = one per core beyond the first, 1…4 (the reward server's
   * choice). Results are the same either way, bit for bit.
   */
  readonly analysisThreads?: number | 'auto';
}

/** {@link PerceptionOptions} with every default filled in, frozen. */
export interface ResolvedPerceptionOptions {
  readonly intraOpNumThreads: number | undefined;
  readonly analysis: Readonly<AnalysisOptions>;
  readonly analysisThreads: number;
}

/** Checks and completes perception options. INVALID_ARGUMENT for an analysis thread count outside 0…8 or 'auto'. */
export function compilePerceptionOptions(options: PerceptionOptions = {}): ResolvedPerceptionOptions {
  const threads = options.analysisThreads ?? 0;
  const analysisThreads = threads === 'auto' ? autoAnalysisThreads() : threads;
  if (!Number.isInteger(analysisThreads) || analysisThreads < 0 || analysisThreads > MAX_ANALYSIS_THREADS) {
    throw new VrGrpoError(
      'INVALID_ARGUMENT',
      `perception analysisThreads must be 'auto' or an integer in 0..${MAX_ANALYSIS_THREADS} (got ${String(threads)})`,
      {
        details: { field: 'analysisThreads' },
      },
    );
  }
  return Object.freeze({
    intraOpNumThreads: options.intraOpNumThreads,
    analysis: Object.freeze({ ...DEFAULT_ANALYSIS, ...options.analysis }),
    analysisThreads,
  });
}

/** The signature every perception model must have. */
export const PERCEPTION_SIGNATURE: ModelSignature = Object.freeze({
  inputs: [{ name: INPUT_NAME, dims: [-1, FEATURE_SIZE] }],
  outputs: HEADS.map((h) => ({ name: PROB_OUTPUTS[h.name], dims: [-1, h.classes.length] })),
});

function checkManifest(manifest: PerceptionManifest, where: string): void {
  const fail = (what: string): never => {
    throw new VrGrpoError('MODEL_INVALID', `perception model ${where}: ${what}`, { details: { model: where, version: manifest.version } });
  };
  if (manifest.input.featureSize !== FEATURE_SIZE || manifest.input.cropSize !== CROP_SIZE) {
    fail(
      `input layout (crop ${manifest.input.cropSize}, ${manifest.input.featureSize} values) differs from this code's (crop ${CROP_SIZE}, ${FEATURE_SIZE} values)`,
    );
  }
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(manifest.classes.colour, OBJECT_COLOUR_NAMES)) fail('colour classes differ from the world vocabulary');
  if (!same(manifest.classes.shape, SHAPES)) fail('shape classes differ from the world vocabulary');
  if (!same(manifest.classes.background, BACKGROUND_COLOUR_NAMES)) fail('background classes differ from the world vocabulary');
}

type State = 'OPEN' | 'CLOSED';

/** Rows waiting for the next coalesced model run. */
interface PendingRows {
  readonly rows: Float32Array;
  readonly n: number;
  readonly resolve: (probs: Record<HeadName, Float32Array>) => void;
  readonly reject: (error: unknown) => void;
}

/** Counts of {@link Perception.perceive}'s work: frames analysed, model runs and the rows they carried. */
export interface PerceptionStats {
  readonly frames: number;
  readonly runs: number;
  readonly rows: number;
}

export class Perception {
  private state: State = 'OPEN';
  #pending: PendingRows[] = [];
  #flushScheduled = false;
  #stats = { frames: 0, runs: 0, rows: 0 };

  private constructor(
    private readonly model: OnnxModel,
    readonly manifest: PerceptionManifest,
    readonly options: ResolvedPerceptionOptions,
    private readonly threads: AnalysisThreads | null,
  ) {}

  /** The model's version label (e.g. `rm-v2`). */
  get version(): string {
    return this.manifest.version;
  }

  /**
   * Loads a model folder. CHECKPOINT_NOT_FOUND when the folder or manifest is missing; MODEL_INVALID when the manifest,
   * the model file or its signature is wrong.
   */
  static async create(modelDir: string, options: PerceptionOptions = {}): Promise<Perception> {
    const { manifest, bytes, dir } = readPerceptionDir(modelDir);
    return Perception.load(bytes, manifest, options, dir);
  }

  /** Loads from bytes and an already validated manifest (training measures the model it just exported this way). */
  static async load(bytes: Uint8Array, manifest: PerceptionManifest, options: PerceptionOptions = {}, label = manifest.version): Promise<Perception> {
    checkManifest(manifest, label);
    const resolved = compilePerceptionOptions(options);
    const model = await OnnxModel.create(
      bytes,
      PERCEPTION_SIGNATURE,
      resolved.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: resolved.intraOpNumThreads },
    );
    let threads: AnalysisThreads | null = null;
    if (resolved.analysisThreads > 0) {
      try {
        threads = await AnalysisThreads.start(resolved.analysisThreads, resolved.analysis, manifest.version);
      } catch (error) {
        await model.close();
        throw error;
      }
    }
    return new Perception(model, manifest, resolved, threads);
  }

  /** Class probabilities of prepared input rows (`n` × FEATURE_SIZE), one ONNX run. */
  async predictRows(rows: Float32Array, n: number): Promise<Record<HeadName, Float32Array>> {
    if (this.state !== 'OPEN') throw new VrGrpoError('INFERENCE_FAILED', `perception ${this.version} is closed`, { details: { version: this.version } });
    const out = await this.model.run({ [INPUT_NAME]: { data: rows, dims: [n, FEATURE_SIZE] } });
    const get = (head: HeadName): Float32Array => {
      const t = out[PROB_OUTPUTS[head]];
      if (t === undefined) throw new VrGrpoError('INFERENCE_FAILED', `perception ${this.version}: output ${PROB_OUTPUTS[head]} missing`);
      return t.data;
    };
    return { colour: get('colour'), shape: get('shape'), background: get('background') };
  }

  /**
   * Perceives frames (RGB24, `width·height·3` bytes each) in one batched model run. INVALID_ARGUMENT for malformed
   * frames; INFERENCE_FAILED when the model fails or is closed.
   */
  async perceive(frames: readonly { readonly index: number; readonly rgb: Uint8Array }[], width: number, height: number): Promise<FramePerception[]> {
    if (this.state !== 'OPEN') throw new VrGrpoError('INFERENCE_FAILED', `perception ${this.version} is closed`, { details: { version: this.version } });
    if (frames.length === 0) return [];
    for (const f of frames) {
      if (!Number.isInteger(f.index) || f.index < 0) throw new VrGrpoError('INVALID_ARGUMENT', `frame index ${f.index} is not a non-negative integer`);
    }
    const { rows, frames: analyses } = await this.#analyse(frames, width, height);
    this.#stats.frames += frames.length;
    const n = rows.length / FEATURE_SIZE;
    const probs = await this.#predictCoalesced(rows, n);
    const slice = (head: HeadName, row: number): Float32Array => {
      const k = HEADS.find((h) => h.name === head)?.classes.length ?? 0;
      return probs[head].slice(row * k, (row + 1) * k);
    };
    let r = 0;
    return analyses.map((a, i) => {
      const bgRow = r;
      r += 1;
      const objects: PerceivedObject[] = a.blobs.map((b) => {
        const row = r;
        r += 1;
        return {
          x: b.x,
          y: b.y,
          area: b.area,
          colourProbs: slice('colour', row),
          shapeProbs: slice('shape', row),
          rgb: b.rgb,
          bbox: b.bbox,
          touchesBorder: b.touchesBorder,
          edgeSteepness: b.edgeSteepness,
        };
      });
      return {
        frameIndex: frames[i]?.index ?? i,
        backgroundProbs: slice('background', bgRow),
        objects,
        brightness: a.brightness,
        sharpness: a.sharpness,
        noise: a.noise,
        background: a.background,
      };
    });
  }

  /** Frame analysis and input rows: on an analysis thread when there are some, else inline. */
  async #analyse(frames: readonly { readonly rgb: Uint8Array }[], width: number, height: number): Promise<AnalysedFrames> {
    if (this.threads === null) {
      return analyseFrames(
        frames.map((f) => f.rgb),
        width,
        height,
        this.options.analysis,
      );
    }
    // Checked here, as the inline analysis would: the thread gets the frames packed back to back.
    for (const f of frames) checkFrameSize(f.rgb, width, height);
    return this.threads.analyse(
      frames.map((f) => f.rgb),
      width,
      height,
    );
  }

  /** Frames perceived, model runs and rows so far (concurrent `perceive` calls share runs). */
  stats(): PerceptionStats {
    return { ...this.#stats };
  }

  /**
   * Class probabilities of `n` rows, from one model run shared with every other `perceive` call that reaches this
   * point in the same turn of the event loop: concurrent conversations (a reward server judges many at once) batch
   * their crops into one ONNX run instead of one run each.
   */
  #predictCoalesced(rows: Float32Array, n: number): Promise<Record<HeadName, Float32Array>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ rows, n, resolve, reject });
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        const batch = this.#pending;
        this.#pending = [];
        this.#runBatch(batch).catch((error: unknown) => {
          for (const p of batch) p.reject(error);
        });
      });
    });
  }

  async #runBatch(batch: readonly PendingRows[]): Promise<void> {
    const total = batch.reduce((s, p) => s + p.n, 0);
    const rows = new Float32Array(total * FEATURE_SIZE);
    let at = 0;
    for (const p of batch) {
      rows.set(p.rows, at * FEATURE_SIZE);
      at += p.n;
    }
    this.#stats.runs += 1;
    this.#stats.rows += total;
    const probs = await this.predictRows(rows, total);
    at = 0;
    for (const p of batch) {
      const part = {} as Record<HeadName, Float32Array>;
      for (const h of HEADS) part[h.name] = probs[h.name].slice(at * h.classes.length, (at + p.n) * h.classes.length);
      at += p.n;
      p.resolve(part);
    }
  }

  /** Releases the ONNX session (waits for runs in flight) and stops the analysis threads; each step runs even when the other fails. Idempotent. */
  async close(): Promise<void> {
    this.state = 'CLOSED';
    const [model, threads] = await Promise.allSettled([this.model.close(), this.threads?.close()]);
    if (model.status === 'rejected') throw model.reason;
    if (threads.status === 'rejected') throw threads.reason;
  }

  /** Ends the analysis threads as a crash would. For tests of the crash path only. */
  async simulateAnalysisCrash(): Promise<void> {
    await this.threads?.simulateCrash();
  }
}
