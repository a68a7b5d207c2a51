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
 */
import { SHAPES, type Rgb, type Shape } from './vocabulary.js';

export const SLOT_DIM = 14;
export const MAX_OBJECTS = 2;
export const BACKGROUND_OFFSET = SLOT_DIM * MAX_OBJECTS;
export const DEFECT_OFFSET = BACKGROUND_OFFSET + 3;
export const DEFECTS = ['blur', 'noise', 'jitter', 'flicker'] as const;
export type Defect = (typeof DEFECTS)[number];
export const LATENT_DIM = DEFECT_OFFSET + DEFECTS.length;

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
  const severity = Object.fromEntries(DEFECTS.map((d, i) => [d, Math.min(2, Math.max(0, at(latent, DEFECT_OFFSET + i)))])) as Record<
    Defect,
    number
  >;
  const defects = Object.fromEntries(
    DEFECTS.map((d) => [d, severity[d] * DEFECT_SCALE[d] * (d === 'blur' || d === 'jitter' ? unit : 1)]),
  ) as Record<Defect, number>;
  return {
    width,
    height,
    objects,
    background: [toColour(at(latent, b)), toColour(at(latent, b + 1)), toColour(at(latent, b + 2))],
    defects,
    defectSeverity: severity,
  };
}

/** Inverse of the colour mapping (for building latents from named colours). */
export function colourToLatent(c: number): number {
  return 2 * c - 1;
}
