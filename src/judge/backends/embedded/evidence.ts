/**
 * Evidence the embedded reasoner derives from perceived frames of one video: per prompt object, how likely its colour,
 * shape and background are right and the motion fitted from matched centroids; quality from measured signals. The
 * estimates mirror the gold evaluator's checks, but are computed only from what the judge has seen.
 */
import type { PromptSpec } from '../../../world/index.js';
import {
  BACKGROUND_COLOUR_NAMES,
  FAST_FROM_PX_PER_FRAME,
  GOLD_OVERALL_WEIGHTS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  STILL_BELOW_PX_PER_FRAME,
  BACKGROUND_COLOURS,
  OBJECT_COLOURS,
  classifyMotion,
  rgbDistance,
  type Rgb,
} from '../../../world/index.js';

/** What the reasoner needs of one perceived frame (the Perception module's `FramePerception`). */
export interface PerceivedFrame {
  readonly frameIndex: number;
  readonly backgroundProbs: Float32Array;
  /** Measured background colour (0..1), when the perception reports it. */
  readonly background?: Rgb;
  readonly objects: readonly {
    readonly x: number;
    readonly y: number;
    readonly area: number;
    readonly colourProbs: Float32Array;
    readonly shapeProbs: Float32Array;
    /** Measured core colour of the object (0..1), when the perception reports it. */
    readonly rgb?: Rgb;
    /** The object reaches the frame border, when the perception reports it. */
    readonly touchesBorder?: boolean;
  }[];
  readonly brightness: number;
  readonly sharpness: number;
  readonly noise: number;
}

/** Defect severity estimates (0 none, ~1 clearly visible) from the Perception module's `videoSignals`. */
export interface QualitySignals {
  readonly jitter: number;
  readonly flicker: number;
  readonly blur: number;
  readonly noise: number;
  readonly confidence: number;
}

export interface ObjectEvidence {
  readonly colour: number;
  readonly shape: number;
  /** Probability-like agreement of the fitted motion with the prompt's motion (and speed). */
  readonly motion: number;
  readonly speed: number | null;
  /** Fitted velocity, px/frame, and the frames it rests on. */
  readonly vx: number;
  readonly vy: number;
  readonly samples: number;
  /** Frames where this object was found, with its centroid. */
  readonly track: readonly { readonly frame: number; readonly x: number; readonly y: number }[];
}

export interface VideoEvidence {
  readonly objects: readonly ObjectEvidence[];
  readonly background: number;
  readonly count: number;
  /** Estimated TA, MQ, VQ, overall in [0, 1] (same definitions as the gold scores). */
  readonly TA: number;
  readonly MQ: number;
  readonly VQ: number;
  readonly overall: number;
  /** 0..1: how much the estimate rests on (frames, motion samples, classifier confidence). */
  readonly certainty: number;
  readonly framesUsed: readonly number[];
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

/**
 * Sharpens a classifier probability towards a decision (p^k / (p^k + (1−p)^k)): the gold checks are hard decisions,
 * so a confident 0.8 should count nearly as 1 while 0.5 stays undecided.
 */
/**
 * Soft nearest-colour assignment of a measured colour to `name` within a palette (Gaussian in RGB distance, σ = 0.06):
 * the same rule the gold evaluator applies to the true colour, applied to what was measured in the pixels.
 */
export function measuredColourProb<K extends string>(palette: Readonly<Record<K, Rgb>>, rgb: Rgb, name: K): number {
  let total = 0;
  let mine = 0;
  for (const k of Object.keys(palette) as K[]) {
    const w = Math.exp(-(rgbDistance(palette[k], rgb) ** 2) / (2 * 0.06 ** 2));
    total += w;
    if (k === name) mine = w;
  }
  return total === 0 ? 0 : mine / total;
}

/** Classifier probability blended with the measured-colour assignment when a measurement exists. */
function blend(classifier: number, measured: number | null): number {
  return measured === null ? classifier : 0.5 * classifier + 0.5 * measured;
}

export function sharpen(p: number, k = 3): number {
  const a = Math.max(0, Math.min(1, p)) ** k;
  const b = (1 - Math.max(0, Math.min(1, p))) ** k;
  return a + b === 0 ? 0.5 : a / (a + b);
}

/** Least-squares slope of values over times. */
function slope(ts: readonly number[], vs: readonly number[]): number {
  const tm = mean(ts);
  const vm = mean(vs);
  let num = 0;
  let den = 0;
  ts.forEach((t, i) => {
    num += (t - tm) * ((vs[i] ?? 0) - vm);
    den += (t - tm) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/** A soft version of a threshold test: 1 far on the right side, 0.5 at the threshold. */
const soft = (margin: number, scale: number): number => 1 / (1 + Math.exp(-margin / scale));

export function videoEvidence(prompt: PromptSpec, frames: readonly PerceivedFrame[], quality: QualitySignals, unit: number): VideoEvidence {
  const sorted = [...frames].sort((a, b) => a.frameIndex - b.frameIndex);
  const objects: ObjectEvidence[] = prompt.objects.map((want) => {
    const ci = OBJECT_COLOUR_NAMES.indexOf(want.colour);
    const si = SHAPES.indexOf(want.shape);
    const colourP: number[] = [];
    const shapeP: number[] = [];
    const track: { frame: number; x: number; y: number }[] = [];
    for (const f of sorted) {
      let best: PerceivedFrame['objects'][number] | null = null;
      let bestScore = -1;
      for (const o of f.objects) {
        const s = (o.colourProbs[ci] ?? 0) * (0.5 + (o.shapeProbs[si] ?? 0));
        if (s > bestScore) {
          bestScore = s;
          best = o;
        }
      }
      // With two prompt objects, prefer the detection that matches this object's colour; fall back to the largest.
      if (best === null) {
        colourP.push(0);
        shapeP.push(0);
        continue;
      }
      colourP.push(blend(best.colourProbs[ci] ?? 0, best.rgb === undefined ? null : measuredColourProb(OBJECT_COLOURS, best.rgb, want.colour)));
      shapeP.push(best.shapeProbs[si] ?? 0);
      track.push({ frame: f.frameIndex, x: best.x, y: best.y });
    }
    const ts = track.map((p) => p.frame);
    const vx =
      track.length >= 2
        ? slope(
            ts,
            track.map((p) => p.x),
          )
        : 0;
    const vy =
      track.length >= 2
        ? slope(
            ts,
            track.map((p) => p.y),
          )
        : 0;
    const seen = classifyMotion({ vx, vy }, unit);
    const spd = Math.hypot(vx, vy) / unit;
    let motion: number;
    if (track.length < 2) motion = 0.2;
    else if (want.motion === 'still') motion = soft(STILL_BELOW_PX_PER_FRAME - spd, 0.06);
    else {
      const dir = want.motion === 'left' ? -vx : want.motion === 'right' ? vx : want.motion === 'up' ? -vy : vy;
      const across = want.motion === 'left' || want.motion === 'right' ? Math.abs(vy) : Math.abs(vx);
      motion =
        seen.motion === want.motion
          ? soft(dir / unit - STILL_BELOW_PX_PER_FRAME, 0.06) * soft((dir - across) / unit, 0.1)
          : Math.min(0.3, soft(dir / unit - STILL_BELOW_PX_PER_FRAME, 0.06) * soft((dir - across) / unit, 0.1));
    }
    const speed =
      want.motion === 'still'
        ? null
        : track.length < 2
          ? 0.3
          : want.speed === 'fast'
            ? soft(spd - FAST_FROM_PX_PER_FRAME, 0.08)
            : soft(FAST_FROM_PX_PER_FRAME - spd, 0.08);
    return { colour: sharpen(mean(colourP)), shape: sharpen(mean(shapeP)), motion, speed, vx, vy, samples: track.length, track };
  });
  const bi = BACKGROUND_COLOUR_NAMES.indexOf(prompt.background);
  const background = sharpen(
    mean(
      sorted.map((f) =>
        blend(f.backgroundProbs[bi] ?? 0, f.background === undefined ? null : measuredColourProb(BACKGROUND_COLOURS, f.background, prompt.background)),
      ),
    ),
  );
  const count = mean(sorted.map((f) => (f.objects.length === prompt.objects.length ? 1 : 0)));
  const checks: number[] = [];
  for (const o of objects) {
    checks.push(o.colour, o.shape, o.motion);
    if (o.speed !== null) checks.push(o.speed);
  }
  checks.push(background, count);
  const TA = mean(checks);
  const sev = (x: number): number => Math.min(1, Math.max(0, x));
  const MQ = 1 - (sev(quality.jitter) + sev(quality.flicker)) / 2;
  const VQ = 1 - (sev(quality.blur) + sev(quality.noise)) / 2;
  const overall = GOLD_OVERALL_WEIGHTS.TA * TA + GOLD_OVERALL_WEIGHTS.MQ * MQ + GOLD_OVERALL_WEIGHTS.VQ * VQ;
  const decisiveness = mean(checks.map((c) => Math.abs(c - 0.5) * 2));
  const motionSupport = Math.min(1, mean(objects.map((o) => o.samples)) / 4);
  return {
    objects,
    background,
    count,
    TA,
    MQ,
    VQ,
    overall,
    certainty: Math.min(decisiveness, motionSupport, quality.confidence),
    framesUsed: sorted.map((f) => f.frameIndex),
  };
}
