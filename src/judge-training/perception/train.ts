/**
 * Trains the perception network in TensorFlow.js on crops cut from freshly rendered world frames (softmax
 * cross-entropy per head, Adam with cosine decay), exports it with the project's ONNX exporter, and measures the
 * exported model — accuracy on held-out renders from a fixed evaluation seed (and, for a model trained on world-v2
 * frames, on held-out world-v2 frames too), and the correlation of the video signals with true defect severities — into
 * its manifest. Reproducible from the seed.
 */
import { deriveSeed } from '../../common/rng.js';
import { VrGrpoError } from '../../errors/index.js';
import { ONNX_IR_VERSION, ONNX_OPSET, exportMlpToOnnx } from '../../onnx/index.js';
import { Adam, scoped, tf, type Scalar, type Tensor, type Tensor2D } from '../../tensor/index.js';
import { measureAccuracy, measureSignals, measureWorldV2Accuracy } from './evaluate.js';
import { CROP_PLANES, CROP_SIZE, FEATURE_SIZE } from '../../judge/backends/embedded/perception/features.js';
import { HEADS, type HeadName } from '../../judge/backends/embedded/perception/heads.js';
import {
  PERCEPTION_FORMAT,
  PERCEPTION_FORMAT_VERSION,
  MODEL_FILE,
  sha256Hex,
  type PerceptionManifest,
} from '../../judge/backends/embedded/perception/manifest.js';
import { PerceptionNet } from './net.js';
import { PERCEPTION_SIGNATURE, Perception } from '../../judge/backends/embedded/perception/perception.js';
import { DEFAULT_SCENES, DEFAULT_WORLD_SPLIT, FrameSampler, sampleRows, type SceneDistribution, type WorldSplitOptions } from './training-data.js';

/** Seed of the held-out evaluation frames; training data seeds are derived from the training seed and never equal it. */
export const DEFAULT_EVAL_SEED = 90_210;
/** Seed of the held-out world-v2 evaluation frames (models trained on world-v2 frames; `measureWorldV2Accuracy`). */
export const DEFAULT_EVAL_SEED_V2 = 90_212;
/** Seed of the signal-calibration videos. */
export const DEFAULT_CALIBRATION_SEED = 31_337;

export interface TrainPerceptionOptions {
  /** Version label written into the manifest (e.g. `rm-v2`). */
  readonly version: string;
  /** Optimiser steps. */
  readonly steps: number;
  /** Trunk layer widths (ReLU); `[]` makes the heads linear in the input. */
  readonly hidden: readonly number[];
  /** Seed of initialisation and training data. */
  readonly seed: number;
  /** Probability that a training scene has defects (0 trains on clean renders only). */
  readonly defectProbability: number;
  /** Input rows per step; default 128. */
  readonly batchSize?: number;
  /** Peak Adam learning rate (cosine decay to 10 %); default 0.002. */
  readonly learningRate?: number;
  /** Other scene-distribution settings of the training data; defaults in DEFAULT_SCENES. */
  readonly scenes?: Partial<Omit<SceneDistribution, 'defectProbability'>>;
  /** The world's prompt split; defaults in DEFAULT_WORLD_SPLIT (= the default config's `world`). */
  readonly world?: Partial<WorldSplitOptions>;
  /** Held-out frames for the accuracy measurement; default 1000. */
  readonly evalFrames?: number;
  /** Seed of the held-out frames; default {@link DEFAULT_EVAL_SEED} (the same for every version, so they compare). */
  readonly evalSeed?: number;
  /**
   * Held-out world-v2 frames for `accuracy.worldV2`, measured only when the training data has world-v2 frames
   * (`scenes.worldV2.share` > 0); default 1000, seed {@link DEFAULT_EVAL_SEED_V2}.
   */
  readonly evalFramesV2?: number;
  /** Videos for the signal calibration; default 80. */
  readonly calibrationVideos?: number;
  /** Frames seen per calibration video (uniformly spaced of 24); default 8. */
  readonly calibrationFramesPerVideo?: number;
  /** Name of the tfjs backend in use, recorded in the manifest; default `tf.getBackend()`. */
  readonly tensorBackend?: string;
  /** Called every `logEvery` steps. */
  readonly onProgress?: (p: { readonly step: number; readonly steps: number; readonly loss: number; readonly elapsedMs: number }) => void;
  /** Steps per progress report and loss-curve point; default 50. */
  readonly logEvery?: number;
}

export interface TrainPerceptionResult {
  readonly bytes: Uint8Array;
  readonly manifest: PerceptionManifest;
  /** Wall-clock seconds: training, measuring, total. */
  readonly seconds: { readonly train: number; readonly measure: number; readonly total: number };
  readonly lossCurve: readonly { readonly step: number; readonly loss: number }[];
}

/**
 * The shipped versions: rm-v1 is deliberately weak (small, short, clean data only), rm-v2 the good one for world v1,
 * rm-v3 rm-v2's recipe with half of the frames from world-v2 clips (events, bursts, dropouts; labelled as drawn).
 */
export const PERCEPTION_PRESETS = {
  'rm-v1': { steps: 180, hidden: [16], seed: 101, defectProbability: 0, batchSize: 64, learningRate: 0.003 },
  'rm-v2': {
    steps: 1200,
    hidden: [128, 64],
    seed: 202,
    defectProbability: 0.6,
    batchSize: 128,
    learningRate: 0.002,
    scenes: { severity: [0.2, 1.6] as const, freeLayout: 0.3, colourSpread: 0.5 },
  },
  'rm-v3': {
    steps: 1200,
    hidden: [128, 64],
    seed: 303,
    defectProbability: 0.6,
    batchSize: 128,
    learningRate: 0.002,
    scenes: {
      severity: [0.2, 1.6] as const,
      freeLayout: 0.3,
      colourSpread: 0.5,
      worldV2: { share: 0.5, eventProbability: 0.8, localDefectProbability: 0.6, focus: 0.6, burstFrames: true, frames: 48 },
    },
  },
} as const satisfies Record<string, Omit<TrainPerceptionOptions, 'version'>>;

export type PerceptionPreset = keyof typeof PERCEPTION_PRESETS;

function labelTensor(labels: Int32Array, classes: number): { onehot: Tensor2D; mask: Tensor } {
  const clipped = Int32Array.from(labels, (l) => Math.max(0, l));
  const mask = tf.tensor1d(Float32Array.from(labels, (l) => (l >= 0 ? 1 : 0)));
  return { onehot: tf.oneHot(tf.tensor1d(clipped, 'int32'), classes).toFloat() as Tensor2D, mask };
}

/** Trains, exports and measures one perception model. INVALID_ARGUMENT for bad options, TRAINING_DIVERGED for a non-finite loss. */
export async function trainPerception(options: TrainPerceptionOptions): Promise<TrainPerceptionResult> {
  const batch = options.batchSize ?? 128;
  const lr = options.learningRate ?? 0.002;
  const logEvery = options.logEvery ?? 50;
  if (!Number.isInteger(options.steps) || options.steps < 0)
    throw new VrGrpoError('INVALID_ARGUMENT', `steps must be a non-negative integer, got ${options.steps}`);
  if (!Number.isInteger(batch) || batch < 1) throw new VrGrpoError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batch}`);
  if (!(options.defectProbability >= 0 && options.defectProbability <= 1)) {
    throw new VrGrpoError('INVALID_ARGUMENT', `defectProbability must be in [0, 1], got ${options.defectProbability}`);
  }
  const started = performance.now();
  const scenes: SceneDistribution = { ...DEFAULT_SCENES, ...options.scenes, defectProbability: options.defectProbability };
  const world: WorldSplitOptions = { ...DEFAULT_WORLD_SPLIT, ...options.world };
  const dataSeed = deriveSeed(options.seed, 1);
  const sampler = new FrameSampler(dataSeed, scenes, world);
  const net = PerceptionNet.create({ inputSize: FEATURE_SIZE, hidden: options.hidden }, deriveSeed(options.seed, 2));
  const adam = new Adam(net.vars, { learningRate: lr });
  const byVarName = new Map([...net.vars].map(([name, v]) => [v.name, name]));
  const lossCurve: { step: number; loss: number }[] = [];
  let windowLoss = 0;
  let windowCount = 0;
  try {
    for (let step = 1; step <= options.steps; step++) {
      const data = sampleRows(sampler, batch);
      adam.learningRate = lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / Math.max(1, options.steps))));
      const loss = scoped(() => {
        const x = tf.tensor2d(data.rows, [batch, FEATURE_SIZE]);
        const labels: Record<HeadName, { onehot: Tensor2D; mask: Tensor }> = {
          colour: labelTensor(data.colour, HEADS[0].classes.length),
          shape: labelTensor(data.shape, HEADS[1].classes.length),
          background: labelTensor(data.background, HEADS[2].classes.length),
        };
        const { value, grads } = tf.variableGrads(() => {
          const logits = net.logits(x);
          const terms = HEADS.map((h) => {
            const { onehot, mask } = labels[h.name];
            const nll = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits[h.name])), 1));
            return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1));
          });
          return tf.addN(terms) as Scalar;
        }, [...net.vars.values()]);
        const named: Record<string, Tensor> = {};
        for (const [varName, g] of Object.entries(grads)) {
          const name = byVarName.get(varName);
          if (name !== undefined) named[name] = g;
        }
        adam.apply(named);
        return value.dataSync()[0] ?? NaN;
      });
      if (!Number.isFinite(loss))
        throw new VrGrpoError('TRAINING_DIVERGED', `perception training diverged at step ${step} (loss ${loss}); lower the learning rate`);
      windowLoss += loss;
      windowCount += 1;
      if (step % logEvery === 0 || step === options.steps) {
        const mean = windowLoss / windowCount;
        lossCurve.push({ step, loss: Math.round(mean * 10000) / 10000 });
        options.onProgress?.({ step, steps: options.steps, loss: mean, elapsedMs: performance.now() - started });
        windowLoss = 0;
        windowCount = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const createdAt = new Date().toISOString();
    const bytes = exportMlpToOnnx(net.toMlpSpec({ version: options.version, metadata: { version: options.version, format: PERCEPTION_FORMAT } }));
    const evalSeed = options.evalSeed ?? DEFAULT_EVAL_SEED;
    const draft: PerceptionManifest = {
      format: PERCEPTION_FORMAT,
      formatVersion: PERCEPTION_FORMAT_VERSION,
      version: options.version,
      createdAt,
      model: { file: MODEL_FILE, bytes: bytes.length, sha256: sha256Hex(bytes), opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION },
      signature: {
        inputs: PERCEPTION_SIGNATURE.inputs.map((s) => ({ name: s.name, dims: [...s.dims] })),
        outputs: PERCEPTION_SIGNATURE.outputs.map((s) => ({ name: s.name, dims: [...s.dims] })),
      },
      input: {
        cropSize: CROP_SIZE,
        planes: ['coverage', 'r', 'g', 'b'],
        featureSize: FEATURE_SIZE,
        layout: `${CROP_PLANES} planes of ${CROP_SIZE}x${CROP_SIZE} (row-major: coverage 0-1, then R, G, B minus background), then background RGB, then core RGB (each (c - 0.5) * 4)`,
      },
      classes: { colour: [...HEADS[0].classes], shape: [...HEADS[1].classes], background: [...HEADS[2].classes] },
      architecture: { hidden: [...options.hidden], parameters: net.parameterCount },
      training: {
        seed: options.seed,
        steps: options.steps,
        hidden: [...options.hidden],
        dataSeed,
        batchSize: batch,
        learningRate: lr,
        scenes: { ...scenes },
        world: { ...world },
        seconds: Math.round(trainSeconds * 10) / 10,
        finalLoss: lossCurve.at(-1)?.loss ?? null,
        tensorBackend: options.tensorBackend ?? tf.getBackend(),
        lossCurve,
      },
      accuracy: {
        frames: 0,
        colour: 0,
        shape: 0,
        background: 0,
        detection: 0,
        evalSeed,
        clean: { frames: 0, colour: 0, shape: 0, background: 0, detection: 0 },
        defective: { frames: 0, colour: 0, shape: 0, background: 0, detection: 0 },
      },
      signalsCalibration: {
        seed: DEFAULT_CALIBRATION_SEED,
        videos: 0,
        framesPerVideo: options.calibrationFramesPerVideo ?? 8,
        correlation: { blur: 0, noise: 0, jitter: 0, flicker: 0 },
      },
    };
    const measureStart = performance.now();
    const perception = await Perception.load(bytes, draft);
    try {
      const predict = (rows: Float32Array, n: number): ReturnType<Perception['predictRows']> => perception.predictRows(rows, n);
      const v1Accuracy = await measureAccuracy(predict, { seed: evalSeed, frames: options.evalFrames ?? 1000, world });
      const accuracy =
        (scenes.worldV2?.share ?? 0) > 0
          ? { ...v1Accuracy, worldV2: await measureWorldV2Accuracy(predict, { seed: DEFAULT_EVAL_SEED_V2, frames: options.evalFramesV2 ?? 1000, world }) }
          : v1Accuracy;
      const signals = await measureSignals(perception, {
        seed: DEFAULT_CALIBRATION_SEED,
        videos: options.calibrationVideos ?? 80,
        framesPerVideo: options.calibrationFramesPerVideo ?? 8,
        world,
      });
      const measureSeconds = (performance.now() - measureStart) / 1000;
      const manifest: PerceptionManifest = { ...draft, accuracy: { ...accuracy }, signalsCalibration: { ...signals } };
      return {
        bytes,
        manifest,
        seconds: { train: trainSeconds, measure: measureSeconds, total: (performance.now() - started) / 1000 },
        lossCurve,
      };
    } finally {
      await perception.close();
    }
  } finally {
    adam.dispose();
    net.dispose();
  }
}
