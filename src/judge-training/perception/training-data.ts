/**
 * Labelled frames for training and measuring the perception network, drawn on the fly from random world scenes:
 * prompts from the train and held-out splits, latents from the imperfect data distribution (wrong attributes, jittered
 * colours, optional defects), one random frame rendered, then the same classical analysis the judge runs. Each blob
 * is labelled with the true attributes of the nearest true object; the frame with its true background colour.
 *
 * World v2 frames (`worldV2.share` > 0, rm-v3): part of the frames come from 48-frame v2 clips with events (recolour,
 * flash, appear, leave, turn) and temporally local defects (burst, dropout, freeze, skip, flicker). Labels stay per
 * frame: each object as drawn in that frame (`sceneObjectsAt`: its colour after a recolour or during a flash, absent
 * after leaving, before appearing or in a dropout). With `worldV2.share` 0 (rm-v1, rm-v2) nothing of this draws a
 * random number, so their data streams are byte-identical to before.
 */
import { Rng, deriveSeed } from '../../common/rng.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  BACKGROUND_OFFSET,
  DEFECTS,
  DEFECT_OFFSET,
  EVENT_DIM,
  EVENT_OFFSET,
  EVENT_SLOT,
  FLASH_SPAN,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  PromptGenerator,
  SHAPES,
  SLOT,
  SLOT_DIM,
  TEMPORAL_DATA_DEFAULTS,
  clipTime,
  decodeLatent,
  frameEffects,
  framePatterns,
  framesCovered,
  nearestColour,
  objectPosition,
  renderScene,
  sampleDataLatent,
  sceneObjectsAt,
  type FrameEffects,
  type LocalDefect,
  type ObjectState,
  type Scene,
} from '../../world/index.js';
import { analyseFrame, type FrameAnalysis } from '../../judge/backends/embedded/perception/frame-analysis.js';
import { FEATURE_SIZE, writeBackgroundRow, writeObjectRow } from '../../judge/backends/embedded/perception/features.js';

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
  /** World v2 frames in the mix; absent or `share` 0 = world v1 only (and no random draws for v2). */
  readonly worldV2?: Partial<WorldV2Frames>;
}

/** The world-v2 part of a scene distribution (rm-v3's training data, and the v2 evaluation frames). */
export interface WorldV2Frames {
  /** Share of frames taken from world-v2 clips (the rest are world v1 frames as before); default 0. */
  readonly share: number;
  /** Probability that a prompt object asks for an event (PromptGenerator's `eventProbability`); default 0.6. */
  readonly eventProbability: number;
  /** Probability that each of the two local-defect slots holds a defect; default 0.3 (TEMPORAL_DATA_DEFAULTS). */
  readonly localDefectProbability: number;
  /**
   * Probability that the frame is drawn among the frames an event (recolour, flash, appear, leave: from 2 frames before
   * to 2 after the change) or a burst, dropout or local flicker touches, when the clip has any, instead of uniformly;
   * default 0.
   */
  readonly focus: number;
  /** Keep frames with a corruption burst (labelled as drawn); false draws another frame instead; default true. */
  readonly burstFrames: boolean;
  /** Frames per clip; default 48. */
  readonly frames: number;
}

export const DEFAULT_WORLD_V2_FRAMES: Readonly<WorldV2Frames> = Object.freeze({
  share: 0,
  eventProbability: 0.6,
  localDefectProbability: TEMPORAL_DATA_DEFAULTS.localDefectProbability,
  focus: 0,
  burstFrames: true,
  frames: 48,
});

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
  /** World v2 frames only: what the clip's time does to this frame. */
  readonly temporal?: FrameTemporal;
}

/** What events and local defects do to one frame of a world-v2 clip. */
export interface FrameTemporal {
  /** Frames in the clip. */
  readonly frames: number;
  /** Severity of a corruption burst on the frame (0 = none). */
  readonly burst: number;
  /** Severity of local flicker on the frame (0 = none). */
  readonly flicker: number;
  /** The objects drop out of this frame. */
  readonly dropout: boolean;
  /** A drawn object shows another colour class than its initial one (after a recolour, during a flash). */
  readonly recoloured: boolean;
  /** An object of the scene is not drawn in this frame (dropout, before appearing, after leaving). */
  readonly absent: boolean;
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

/**
 * Renders frame `f` of a world-v2 clip of `frames` frames without rendering the others (world v2's counterpart of
 * {@link renderSingleFrame}): each object is drawn as {@link sceneObjectsAt} says it appears in frame `f` (events,
 * freeze/skip and dropout applied), with the frame's burst and local flicker, in a one- or two-frame clip so the
 * flicker signs match `f`'s parity. Without jitter, noise, global flicker or a burst the bytes equal frame `f` of the
 * whole clip. Returns the frame, each object's state in it with its true (jittered) centre, and the frame's effects.
 */
export function renderClipFrame(
  scene: Scene,
  f: number,
  frames: number,
  patternSeed: number,
): { rgb: Uint8Array; states: ObjectState[]; effects: FrameEffects } {
  const localDefects = scene.temporal?.localDefects ?? [];
  const effects = frameEffects(f, frames, localDefects);
  const states = sceneObjectsAt(scene, f, frames);
  const short = 1 + (f % 2);
  const last = short - 1;
  const t = clipTime(last, short);
  // The short clip's last frame (clip time t) gets the frame's burst and local flicker, and only it.
  const local: LocalDefect[] = [];
  if (effects.burst > 0) local.push({ kind: 'burst', start: t, span: 0.01, severity: effects.burst });
  if (effects.flicker > 0) local.push({ kind: 'flicker', start: t, span: 0.01, severity: effects.flicker });
  const still: Scene = {
    ...scene,
    objects: scene.objects.map((o, k) => {
      const s = states[k];
      return s === undefined ? { ...o, present: false } : { ...o, present: s.present, rgb: s.rgb, cx: s.x, cy: s.y, vx: 0, vy: 0 };
    }),
    temporal: { events: scene.objects.map(() => null), localDefects: local },
  };
  const video = renderScene(still, { frames: short, fps: 8, patternSeed });
  const { jitter } = framePatterns(short, patternSeed);
  const jx = (jitter[2 * last] ?? 0) * scene.defects.jitter;
  const jy = (jitter[2 * last + 1] ?? 0) * scene.defects.jitter;
  const size = scene.width * scene.height * 3;
  return {
    rgb: video.data.slice(last * size, (last + 1) * size),
    states: states.map((s) => ({ ...s, x: s.x + jx, y: s.y + jy })),
    effects,
  };
}

/** Frames of a v2 clip that an event or a burst, dropout or local flicker touches (sorted, unique). */
export function eventfulFrames(scene: Scene, frames: number): number[] {
  const temporal = scene.temporal;
  if (temporal === undefined) return [];
  const out = new Set<number>();
  const step = frames <= 1 ? 1 : 1 / (frames - 1);
  temporal.events.forEach((e, k) => {
    if (e === null || e.kind === 'turn' || scene.objects[k]?.present !== true) return;
    for (const f of framesCovered(e.time - 2 * step, FLASH_SPAN + 4 * step, frames)) out.add(f);
  });
  for (const d of temporal.localDefects) {
    if (d.kind === 'burst' || d.kind === 'dropout' || d.kind === 'flicker') for (const f of framesCovered(d.start, d.span, frames)) out.add(f);
  }
  return [...out].sort((a, b) => a - b);
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
  private readonly v2: WorldV2Frames;
  /** World-v2 prompt generators (events drawn), or null without v2 frames. */
  private readonly v2Prompts: { readonly train: PromptGenerator; readonly heldOut: PromptGenerator } | null;

  constructor(seed: number, dist: Partial<SceneDistribution> = {}, world: Partial<WorldSplitOptions> = {}) {
    this.dist = { ...DEFAULT_SCENES, ...dist };
    this.v2 = { ...DEFAULT_WORLD_V2_FRAMES, ...this.dist.worldV2 };
    const w = { ...DEFAULT_WORLD_SPLIT, ...world };
    this.rng = Rng.fromSeed(deriveSeed(seed, 1));
    const common = { splitSeed: w.splitSeed, heldOutFraction: w.heldOutFraction, secondObjectProbability: w.secondObjectProbability };
    this.train = new PromptGenerator({ ...common, seed: deriveSeed(seed, 2), split: 'train' });
    this.heldOut = new PromptGenerator({ ...common, seed: deriveSeed(seed, 3), split: 'heldout' });
    const events = { ...common, eventProbability: this.v2.eventProbability };
    this.v2Prompts =
      this.v2.share > 0
        ? {
            train: new PromptGenerator({ ...events, seed: deriveSeed(seed, 4), split: 'train' }),
            heldOut: new PromptGenerator({ ...events, seed: deriveSeed(seed, 5), split: 'heldout' }),
          }
        : null;
  }

  /** One random world-v1 latent of the distribution (35 numbers). */
  latent(): Float32Array {
    const d = this.dist;
    const prompt = (this.rng.bool(d.heldOutShare) ? this.heldOut : this.train).next();
    const latent = sampleDataLatent(prompt, this.rng, { attributeNoise: d.attributeNoise, defectProbability: 0, jitter: d.jitter });
    this.vary(latent, prompt.objects.length);
    return latent;
  }

  /**
   * One random world-v2 latent (77 numbers): a prompt with events, the pretraining data's imperfections of time (events
   * missing, wrong or spurious; local defects with probability `worldV2.localDefectProbability` per slot), then the same
   * layout, colour and defect variations as {@link latent} (event colours spread like object colours).
   */
  latentV2(): Float32Array {
    const d = this.dist;
    const prompts = this.v2Prompts;
    if (prompts === null) throw new RangeError('latentV2 needs worldV2.share > 0');
    const prompt = (this.rng.bool(d.heldOutShare) ? prompts.heldOut : prompts.train).next();
    const latent = sampleDataLatent(
      prompt,
      this.rng,
      {
        attributeNoise: d.attributeNoise,
        defectProbability: 0,
        jitter: d.jitter,
        ...TEMPORAL_DATA_DEFAULTS,
        localDefectProbability: this.v2.localDefectProbability,
      },
      2,
    );
    this.vary(latent, prompt.objects.length);
    for (let k = 0; k < prompt.objects.length; k++) {
      if (!this.rng.bool(d.colourSpread)) continue;
      for (let c = 0; c < 3; c++) latent[EVENT_OFFSET + k * EVENT_DIM + EVENT_SLOT.colour + c] = this.rng.uniform(-1, 1);
    }
    return latent;
  }

  /** Free layout, spread colours and defects of a latent's v1 part (in place). */
  private vary(latent: Float32Array, objectCount: number): void {
    const d = this.dist;
    const rng = this.rng;
    if (rng.bool(d.freeLayout)) {
      for (let k = 0; k < objectCount; k++) {
        const b = k * SLOT_DIM;
        latent[b + SLOT.centre] = rng.uniform(-1.1, 1.1);
        latent[b + SLOT.centre + 1] = rng.uniform(-1.1, 1.1);
        latent[b + SLOT.size] = rng.uniform(-1, 0.6);
      }
    }
    for (let k = 0; k < objectCount; k++) {
      if (!rng.bool(d.colourSpread)) continue;
      for (let c = 0; c < 3; c++) latent[k * SLOT_DIM + SLOT.colour + c] = rng.uniform(-1, 1);
    }
    if (rng.bool(d.colourSpread)) for (let c = 0; c < 3; c++) latent[BACKGROUND_OFFSET + c] = rng.uniform(-1, 1);
    const defective = rng.bool(d.defectProbability);
    for (let i = 0; i < DEFECTS.length; i++) {
      latent[DEFECT_OFFSET + i] = defective && rng.bool(0.5) ? rng.uniform(d.severity[0], d.severity[1]) : -1;
    }
  }

  next(): LabelledFrame {
    if (this.v2.share > 0 && this.rng.bool(this.v2.share)) {
      for (;;) {
        const frame = this.nextV2();
        if (this.v2.burstFrames || (frame.temporal?.burst ?? 0) === 0) return frame;
      }
    }
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

  /** A frame of a world-v2 clip: uniformly drawn, or (with probability `worldV2.focus`) one an event or local defect touches. */
  private nextV2(): LabelledFrame {
    const d = this.dist;
    const frames = this.v2.frames;
    const scene = decodeLatent(this.latentV2(), d.width, d.height);
    const touched = this.v2.focus > 0 && this.rng.bool(this.v2.focus) ? eventfulFrames(scene, frames) : [];
    const f = touched.length > 0 ? this.rng.pick(touched) : this.rng.int(frames);
    const { rgb, states, effects } = renderClipFrame(scene, f, frames, this.rng.nextUint32());
    const analysis = analyseFrame(rgb, d.width, d.height);
    const objects: TrueObject[] = [];
    let recoloured = false;
    let absent = false;
    scene.objects.forEach((o, k) => {
      const s = states[k];
      if (!o.present || s === undefined) return;
      if (!s.present) {
        absent = true;
        return;
      }
      const colour = OBJECT_COLOUR_NAMES.indexOf(nearestColour(OBJECT_COLOURS, s.rgb));
      recoloured ||= colour !== OBJECT_COLOUR_NAMES.indexOf(nearestColour(OBJECT_COLOURS, o.rgb));
      objects.push({
        x: s.x,
        y: s.y,
        radius: o.radius,
        colour,
        shape: SHAPES.indexOf(o.shape),
        visible: s.x >= 0 && s.x < d.width && s.y >= 0 && s.y < d.height,
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
      temporal: { frames, burst: effects.burst, flicker: effects.flicker, dropout: effects.dropout, recoloured, absent },
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
