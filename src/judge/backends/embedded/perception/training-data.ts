/**
 * Labelled frames for training and measuring the perception network, drawn on the fly from random world scenes:
 * prompts from the train and held-out splits, latents from the imperfect data distribution (wrong attributes, jittered
 * colours, optional defects), one random frame rendered, then the same classical analysis the judge runs. Each blob
 * is labelled with the true attributes of the nearest true object; the frame with its true background colour.
 */
import { Rng, deriveSeed } from '../../../../common/rng.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  BACKGROUND_OFFSET,
  DEFECTS,
  DEFECT_OFFSET,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  PromptGenerator,
  SHAPES,
  SLOT,
  SLOT_DIM,
  decodeLatent,
  framePatterns,
  nearestColour,
  objectPosition,
  renderScene,
  sampleDataLatent,
  type Scene,
} from '../../../../world/index.js';
import { analyseFrame, type FrameAnalysis } from './frame-analysis.js';
import { FEATURE_SIZE, writeBackgroundRow, writeObjectRow } from './features.js';

/** The world's prompt split settings (the same as `world.*` in the config). */
export interface WorldSplitOptions {
  /** Seed of the held-out (colour, shape) choice; default 7. */
  readonly splitSeed: number;
  /** Fraction of held-out pairs; default 0.2. */
  readonly heldOutFraction: number;
  /** Probability of a second object; default 0.25. */
  readonly secondObjectProbability: number;
}

export const DEFAULT_WORLD_SPLIT: Readonly<WorldSplitOptions> = Object.freeze({ splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });

/** Which scenes are drawn. */
export interface SceneDistribution {
  /** Share of prompts drawn from the held-out split (the rest from train); default 0.5. */
  readonly heldOutShare: number;
  /** Probability that each attribute is replaced by a random other one (as in the pretraining data); default 0.35. */
  readonly attributeNoise: number;
  /** Std of colour/position/speed jitter, latent units (as in the pretraining data); default 0.3. */
  readonly jitter: number;
  /** Probability that a scene has defects; each defect is then on with probability 0.5; default 0.5. */
  readonly defectProbability: number;
  /** Severity range of a defect that is on (latent units); default [0.4, 1.3] (the pretraining data's). */
  readonly severity: readonly [number, number];
  /** Probability that objects get a free position (anywhere in view) and size; default 0. */
  readonly freeLayout: number;
  /**
   * Probability that each object colour and the background colour are drawn uniformly from the whole RGB cube (labelled
   * with the nearest named colour, as the gold evaluator does), so blended colours a generator produces are covered;
   * default 0.
   */
  readonly colourSpread: number;
  /** Frames per video the random frame is taken from; default 24. */
  readonly frames: number;
  /** Frame size, px; default 64. */
  readonly width: number;
  readonly height: number;
}

export const DEFAULT_SCENES: Readonly<SceneDistribution> = Object.freeze({
  heldOutShare: 0.5,
  attributeNoise: 0.35,
  jitter: 0.3,
  defectProbability: 0.5,
  severity: [0.4, 1.3] as const,
  freeLayout: 0,
  colourSpread: 0,
  frames: 24,
  width: 64,
  height: 64,
});

/** A true object as seen in the rendered frame. */
export interface TrueObject {
  /** Position of the shape centre in this frame (with jitter), px. */
  readonly x: number;
  readonly y: number;
  readonly radius: number;
  /** Class indices (OBJECT_COLOUR_NAMES / SHAPES order). */
  readonly colour: number;
  readonly shape: number;
  /** Its centre lies inside the frame. */
  readonly visible: boolean;
}

export interface LabelledFrame {
  readonly analysis: FrameAnalysis;
  readonly objects: readonly TrueObject[];
  /** Per blob (same order as analysis.blobs): index into `objects`, or -1 when no true object is near. */
  readonly match: readonly number[];
  /** Background class (BACKGROUND_COLOUR_NAMES order). */
  readonly background: number;
  /** The scene has any defect above zero. */
  readonly defective: boolean;
  readonly scene: Scene;
  readonly frameIndex: number;
}

/**
 * Renders frame `f` of a video of `frames` frames without rendering the others: the objects are moved to where they
 * are in frame `f` and a one- or two-frame clip is rendered so the flicker sign matches `f`'s parity. Returns the
 * frame and the true (jittered) object centres.
 */
export function renderSingleFrame(scene: Scene, f: number, frames: number, patternSeed: number): { rgb: Uint8Array; centres: [number, number][] } {
  const short = 1 + (f % 2);
  const last = short - 1;
  const dt = last - (short - 1) / 2;
  const moved: Scene = {
    ...scene,
    objects: scene.objects.map((o) => {
      const [x, y] = objectPosition(o, f, frames);
      return { ...o, cx: x - o.vx * dt, cy: y - o.vy * dt };
    }),
  };
  const video = renderScene(moved, { frames: short, fps: 8, patternSeed });
  const { jitter } = framePatterns(short, patternSeed);
  const jx = (jitter[2 * last] ?? 0) * scene.defects.jitter;
  const jy = (jitter[2 * last + 1] ?? 0) * scene.defects.jitter;
  const size = scene.width * scene.height * 3;
  const centres = moved.objects.map((o): [number, number] => {
    const [x, y] = objectPosition(o, last, short);
    return [x + jx, y + jy];
  });
  return { rgb: video.data.slice(last * size, (last + 1) * size), centres };
}

/** Matches blobs to true objects: the nearest present object whose centre is within its radius + 3 px. */
export function matchBlobs(analysis: FrameAnalysis, objects: readonly TrueObject[]): number[] {
  const unit = analysis.width / 64;
  return analysis.blobs.map((b) => {
    let best = -1;
    let bestD = Infinity;
    objects.forEach((o, k) => {
      const d = Math.hypot(b.x - o.x, b.y - o.y);
      if (d < o.radius + 3 * unit && d < bestD) {
        best = k;
        bestD = d;
      }
    });
    return best;
  });
}

/** Draws labelled frames from a seeded scene distribution. */
export class FrameSampler {
  private readonly rng: Rng;
  private readonly train: PromptGenerator;
  private readonly heldOut: PromptGenerator;
  private readonly dist: SceneDistribution;

  constructor(seed: number, dist: Partial<SceneDistribution> = {}, world: Partial<WorldSplitOptions> = {}) {
    this.dist = { ...DEFAULT_SCENES, ...dist };
    const w = { ...DEFAULT_WORLD_SPLIT, ...world };
    this.rng = Rng.fromSeed(deriveSeed(seed, 1));
    const common = { splitSeed: w.splitSeed, heldOutFraction: w.heldOutFraction, secondObjectProbability: w.secondObjectProbability };
    this.train = new PromptGenerator({ ...common, seed: deriveSeed(seed, 2), split: 'train' });
    this.heldOut = new PromptGenerator({ ...common, seed: deriveSeed(seed, 3), split: 'heldout' });
  }

  /** One random latent of the distribution (35 numbers). */
  latent(): Float32Array {
    const d = this.dist;
    const rng = this.rng;
    const prompt = (rng.bool(d.heldOutShare) ? this.heldOut : this.train).next();
    const latent = sampleDataLatent(prompt, rng, { attributeNoise: d.attributeNoise, defectProbability: 0, jitter: d.jitter });
    if (rng.bool(d.freeLayout)) {
      for (let k = 0; k < prompt.objects.length; k++) {
        const b = k * SLOT_DIM;
        latent[b + SLOT.centre] = rng.uniform(-1.1, 1.1);
        latent[b + SLOT.centre + 1] = rng.uniform(-1.1, 1.1);
        latent[b + SLOT.size] = rng.uniform(-1, 0.6);
      }
    }
    for (let k = 0; k < prompt.objects.length; k++) {
      if (!rng.bool(d.colourSpread)) continue;
      for (let c = 0; c < 3; c++) latent[k * SLOT_DIM + SLOT.colour + c] = rng.uniform(-1, 1);
    }
    if (rng.bool(d.colourSpread)) for (let c = 0; c < 3; c++) latent[BACKGROUND_OFFSET + c] = rng.uniform(-1, 1);
    const defective = rng.bool(d.defectProbability);
    for (let i = 0; i < DEFECTS.length; i++) {
      latent[DEFECT_OFFSET + i] = defective && rng.bool(0.5) ? rng.uniform(d.severity[0], d.severity[1]) : -1;
    }
    return latent;
  }

  next(): LabelledFrame {
    const d = this.dist;
    const scene = decodeLatent(this.latent(), d.width, d.height);
    const f = this.rng.int(d.frames);
    const { rgb, centres } = renderSingleFrame(scene, f, d.frames, this.rng.nextUint32());
    const analysis = analyseFrame(rgb, d.width, d.height);
    const objects: TrueObject[] = [];
    scene.objects.forEach((o, k) => {
      const c = centres[k];
      if (!o.present || c === undefined) return;
      objects.push({
        x: c[0],
        y: c[1],
        radius: o.radius,
        colour: OBJECT_COLOUR_NAMES.indexOf(nearestColour(OBJECT_COLOURS, o.rgb)),
        shape: SHAPES.indexOf(o.shape),
        visible: c[0] >= 0 && c[0] < d.width && c[1] >= 0 && c[1] < d.height,
      });
    });
    return {
      analysis,
      objects,
      match: matchBlobs(analysis, objects),
      background: BACKGROUND_COLOUR_NAMES.indexOf(nearestColour(BACKGROUND_COLOURS, scene.background)),
      defective: DEFECTS.some((x) => scene.defectSeverity[x] > 0),
      scene,
      frameIndex: f,
    };
  }
}

/** A batch of input rows with their labels per head (-1 = no label: the head is not trained on that row). */
export interface LabelledRows {
  readonly count: number;
  readonly rows: Float32Array;
  readonly colour: Int32Array;
  readonly shape: Int32Array;
  readonly background: Int32Array;
}

/** Fills `count` rows from sampled frames: a background row per frame, then a row per matched blob. */
export function sampleRows(sampler: FrameSampler, count: number): LabelledRows {
  const rows = new Float32Array(count * FEATURE_SIZE);
  const colour = new Int32Array(count).fill(-1);
  const shape = new Int32Array(count).fill(-1);
  const background = new Int32Array(count).fill(-1);
  let n = 0;
  while (n < count) {
    const frame = sampler.next();
    writeBackgroundRow(frame.analysis, rows, n * FEATURE_SIZE);
    background[n] = frame.background;
    n += 1;
    frame.analysis.blobs.forEach((blob, i) => {
      const k = frame.match[i] ?? -1;
      const truth = frame.objects[k];
      if (n >= count || truth === undefined) return;
      writeObjectRow(frame.analysis, blob, rows, n * FEATURE_SIZE);
      colour[n] = truth.colour;
      shape[n] = truth.shape;
      background[n] = frame.background;
      n += 1;
    });
  }
  return { count, rows, colour, shape, background };
}
