/**
 * The scene latent: 35 numbers that fully describe a video of the world, and their decoding into physical scene
 * parameters. Values are unit-scaled (roughly in [-1.5, 1.5]) so a flow-matching model can learn them.
 *
 * Layout (docs/world.md has the same table):
 *   per object slot k ∈ {0, 1}, 14 numbers at offset 14·k:
 *     0 present (> 0 = drawn) · 1–3 colour RGB (c = 0.5 + 0.5·z) · 4–8 shape logits (argmax over SHAPES)
 *     9–10 centre x, y at mid-video (px = W/2 + (W/4)·z) · 11–12 velocity x, y (px/frame = z · W/64)
 *     13 size (radius px = (8 + 3·z) · W/64, clamped to [2, 20]·W/64)
 *   28–30 background RGB (c = 0.5 + 0.5·z)
 *   31 blur (σ px = 1.5·max(0, z)) · 32 noise (std = 0.12·max(0, z)) · 33 jitter (amplitude px = 2.5·max(0, z))
 *   34 flicker (brightness amplitude = 0.25·max(0, z))
 * Defect values ≤ 0 mean no defect.
 *
 * World v2 appends 42 numbers (77 in all; docs/world.md, "World v2"):
 *   per object slot k, 12 numbers at EVENT_OFFSET + 12·k: 0–5 event logits (argmax over none + EVENT_KINDS)
 *     6 time (τ = 0.5 + 0.4·z, clamped to [0.02, 0.98]) · 7–9 new colour RGB · 10–11 new velocity x, y (px per
 *     reference frame = z · W/64)
 *   per local-defect slot j ∈ {0, 1}, 9 numbers at LOCAL_DEFECT_OFFSET + 9·j: 0–5 logits (argmax over none +
 *     LOCAL_DEFECT_KINDS) · 6 start (τ = 0.5 + 0.45·z, clamped to [0, 0.98]) · 7 span (0.06 + 0.04·z of the clip,
 *     clamped to [0.02, 0.2]) · 8 severity (max(0, z), at most 2)
 */
import { clipTime, type LocalDefect, type SceneEvent, type TemporalScene } from './temporal.js';
import { EVENT_KINDS, LOCAL_DEFECT_KINDS, SHAPES, type Rgb, type Shape } from './vocabulary.js';

export const SLOT_DIM = 14;
export const MAX_OBJECTS = 2;
export const BACKGROUND_OFFSET = SLOT_DIM * MAX_OBJECTS;
export const DEFECT_OFFSET = BACKGROUND_OFFSET + 3;
export const DEFECTS = ['blur', 'noise', 'jitter', 'flicker'] as const;
export type Defect = (typeof DEFECTS)[number];
export const LATENT_DIM = DEFECT_OFFSET + DEFECTS.length;

/** World v2 layout: event slots per object, then local-defect slots. */
export const EVENT_DIM = 12;
export const EVENT_OFFSET = LATENT_DIM;
export const EVENT_SLOT = { kind: 0, time: 6, colour: 7, velocity: 10 } as const;
export const LOCAL_DEFECT_SLOTS = 2;
export const LOCAL_DEFECT_DIM = 9;
export const LOCAL_DEFECT_OFFSET = EVENT_OFFSET + EVENT_DIM * MAX_OBJECTS;
export const LOCAL_SLOT = { kind: 0, start: 6, span: 7, severity: 8 } as const;
export const LATENT_DIM_V2 = LOCAL_DEFECT_OFFSET + LOCAL_DEFECT_SLOTS * LOCAL_DEFECT_DIM;

/** Latent length of each world version. */
export function latentDimOf(version: 1 | 2): number {
  return version === 2 ? LATENT_DIM_V2 : LATENT_DIM;
}

/** Latent value of an event time τ (inverse of the decoding). */
export const eventTimeToLatent = (t: number): number => (t - 0.5) / 0.4;
export const defectStartToLatent = (t: number): number => (t - 0.5) / 0.45;
export const defectSpanToLatent = (span: number): number => (span - 0.06) / 0.04;

export const SLOT = {
  present: 0,
  colour: 1,
  shape: 4,
  centre: 9,
  velocity: 11,
  size: 13,
} as const;

/** Physical scale of each defect per unit of its latent value (above 0). */
export const DEFECT_SCALE: Readonly<Record<Defect, number>> = { blur: 1.5, noise: 0.12, jitter: 2.5, flicker: 0.25 };

export interface SceneObject {
  readonly present: boolean;
  readonly rgb: Rgb;
  readonly shape: Shape;
  /** Centre at mid-video, px. */
  readonly cx: number;
  readonly cy: number;
  /** Velocity, px per frame. */
  readonly vx: number;
  readonly vy: number;
  /** Radius, px. */
  readonly radius: number;
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly objects: readonly SceneObject[];
  readonly background: Rgb;
  /** Physical defect magnitudes: blur σ px, noise std (0–1 intensity), jitter px, flicker amplitude. */
  readonly defects: Readonly<Record<Defect, number>>;
  /** Defect severity in latent units (max(0, z)); 1 is a clearly visible defect. */
  readonly defectSeverity: Readonly<Record<Defect, number>>;
  /** World v2 only: events and local defects (time is then a fraction of the clip; see temporal.ts). */
  readonly temporal?: TemporalScene;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const toColour = (z: number): number => clamp(0.5 + 0.5 * z, 0, 1);
const at = (latent: ArrayLike<number>, i: number): number => {
  const v = latent[i];
  return v === undefined || !Number.isFinite(v) ? 0 : v;
};

/** Decodes a latent (length {@link LATENT_DIM}) into a scene for a frame of `width`×`height` pixels. */
export function decodeLatent(latent: ArrayLike<number>, width = 64, height = 64): Scene {
  const unit = width / 64;
  const objects: SceneObject[] = [];
  for (let k = 0; k < MAX_OBJECTS; k++) {
    const o = k * SLOT_DIM;
    let shapeIndex = 0;
    for (let s = 1; s < SHAPES.length; s++) {
      if (at(latent, o + SLOT.shape + s) > at(latent, o + SLOT.shape + shapeIndex)) shapeIndex = s;
    }
    objects.push({
      present: at(latent, o + SLOT.present) > 0,
      rgb: [toColour(at(latent, o + 1)), toColour(at(latent, o + 2)), toColour(at(latent, o + 3))],
      shape: SHAPES[shapeIndex] ?? 'circle',
      cx: clamp(width / 2 + (width / 4) * at(latent, o + SLOT.centre), -width / 4, width * 1.25),
      cy: clamp(height / 2 + (height / 4) * at(latent, o + SLOT.centre + 1), -height / 4, height * 1.25),
      vx: clamp(at(latent, o + SLOT.velocity), -4, 4) * unit,
      vy: clamp(at(latent, o + SLOT.velocity + 1), -4, 4) * unit,
      radius: clamp(8 + 3 * at(latent, o + SLOT.size), 2, 20) * unit,
    });
  }
  const b = BACKGROUND_OFFSET;
  const severity = Object.fromEntries(DEFECTS.map((d, i) => [d, Math.min(2, Math.max(0, at(latent, DEFECT_OFFSET + i)))])) as Record<Defect, number>;
  const defects = Object.fromEntries(DEFECTS.map((d) => [d, severity[d] * DEFECT_SCALE[d] * (d === 'blur' || d === 'jitter' ? unit : 1)])) as Record<
    Defect,
    number
  >;
  const scene: Scene = {
    width,
    height,
    objects,
    background: [toColour(at(latent, b)), toColour(at(latent, b + 1)), toColour(at(latent, b + 2))],
    defects,
    defectSeverity: severity,
  };
  return latent.length >= LATENT_DIM_V2 ? { ...scene, temporal: decodeTemporal(latent, unit) } : scene;
}

/** Index of the largest of `n` values from `offset`. */
function argmax(latent: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (at(latent, offset + i) > at(latent, offset + best)) best = i;
  return best;
}

function decodeTemporal(latent: ArrayLike<number>, unit: number): TemporalScene {
  const events: (SceneEvent | null)[] = [];
  for (let k = 0; k < MAX_OBJECTS; k++) {
    const o = EVENT_OFFSET + k * EVENT_DIM;
    const kind = EVENT_KINDS[argmax(latent, o + EVENT_SLOT.kind, EVENT_KINDS.length + 1) - 1];
    events.push(
      kind === undefined
        ? null
        : {
            kind,
            time: clamp(0.5 + 0.4 * at(latent, o + EVENT_SLOT.time), 0.02, 0.98),
            rgb: [
              toColour(at(latent, o + EVENT_SLOT.colour)),
              toColour(at(latent, o + EVENT_SLOT.colour + 1)),
              toColour(at(latent, o + EVENT_SLOT.colour + 2)),
            ],
            vx: clamp(at(latent, o + EVENT_SLOT.velocity), -4, 4) * unit,
            vy: clamp(at(latent, o + EVENT_SLOT.velocity + 1), -4, 4) * unit,
          },
    );
  }
  const localDefects: LocalDefect[] = [];
  for (let j = 0; j < LOCAL_DEFECT_SLOTS; j++) {
    const o = LOCAL_DEFECT_OFFSET + j * LOCAL_DEFECT_DIM;
    const kind = LOCAL_DEFECT_KINDS[argmax(latent, o + LOCAL_SLOT.kind, LOCAL_DEFECT_KINDS.length + 1) - 1];
    const severity = Math.min(2, Math.max(0, at(latent, o + LOCAL_SLOT.severity)));
    if (kind === undefined || severity <= 0) continue;
    localDefects.push({
      kind,
      start: clamp(0.5 + 0.45 * at(latent, o + LOCAL_SLOT.start), 0, 0.98),
      span: clamp(0.06 + 0.04 * at(latent, o + LOCAL_SLOT.span), 0.02, 0.2),
      severity,
    });
  }
  return { events, localDefects };
}

/** Whether clip time τ of frame `f` lies in a local defect's span. */
export function inDefectSpan(d: LocalDefect, f: number, frames: number): boolean {
  const t = clipTime(f, frames);
  return t >= d.start && t < d.start + d.span;
}

/** Inverse of the colour mapping (for building latents from named colours). */
export function colourToLatent(c: number): number {
  return 2 * c - 1;
}
