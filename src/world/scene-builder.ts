/**
 * Builds scene latents from prompts: `idealLatent` gives a clean scene that matches the prompt, `sampleDataLatent`
 * draws from the deliberately imperfect data distribution used to pretrain the base generator (wrong attributes with
 * some probability, visible defects in part of the videos).
 */
import type { Rng } from '../common/rng.js';
import { BACKGROUND_OFFSET, DEFECT_OFFSET, DEFECTS, LATENT_DIM, SLOT, SLOT_DIM, colourToLatent } from './latent.js';
import type { ObjectSpec, PromptSpec } from './prompt.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  MOTIONS,
  MOTION_DIRECTION,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  SPEEDS,
  SPEED_PX_PER_FRAME,
  type Rgb,
} from './vocabulary.js';

/** How imperfect the pretraining data is. */
export interface DataImperfection {
  /** Probability that each attribute of a training scene is replaced by a random other value. */
  readonly attributeNoise: number;
  /** Probability that a training video has visible defects. */
  readonly defectProbability: number;
  /** Std of the jitter added to colours, positions and speeds (latent units). */
  readonly jitter: number;
}

export const CLEAN_DATA: DataImperfection = { attributeNoise: 0, defectProbability: 0, jitter: 0 };

function writeObject(latent: Float32Array, k: number, offset: number, o: ObjectSpec, rgb: Rgb, rng: Rng, jitter: number): void {
  const b = k * SLOT_DIM;
  latent[b + SLOT.present] = 1 + jitter * rng.normal();
  for (let c = 0; c < 3; c++) latent[b + SLOT.colour + c] = colourToLatent(rgb[c] ?? 0) + jitter * 0.3 * rng.normal();
  const shapeIndex = SHAPES.indexOf(o.shape);
  for (let s = 0; s < SHAPES.length; s++) latent[b + SLOT.shape + s] = (s === shapeIndex ? 1 : -1) + jitter * 0.3 * rng.normal();
  const [dx, dy] = MOTION_DIRECTION[o.motion];
  const speed = o.speed === null ? 0 : SPEED_PX_PER_FRAME[o.speed] * (1 + jitter * 0.15 * rng.normal());
  // Mid-video centre: a random spot near the middle (two objects sit on opposite diagonals), so the whole trajectory
  // of a fast object (±15 px over 24 frames) stays in view.
  latent[b + SLOT.centre] = offset + rng.uniform(-0.45, 0.45);
  latent[b + SLOT.centre + 1] = offset + rng.uniform(-0.45, 0.45);
  latent[b + SLOT.velocity] = dx * speed + jitter * 0.05 * rng.normal();
  latent[b + SLOT.velocity + 1] = dy * speed + jitter * 0.05 * rng.normal();
  latent[b + SLOT.size] = rng.uniform(-0.5, 0.5);
}

function absentSlot(latent: Float32Array, k: number, rng: Rng): void {
  const b = k * SLOT_DIM;
  latent[b + SLOT.present] = -1;
  // Absent slots carry no information; small noise keeps the target distribution non-degenerate.
  for (let i = 1; i < SLOT_DIM; i++) latent[b + i] = 0.1 * rng.normal();
}

function otherThan<T>(rng: Rng, items: readonly T[], value: T): T {
  const rest = items.filter((x) => x !== value);
  return rng.pick(rest);
}

/** Replaces attributes of an object spec at random with probability p each. */
function corruptObject(o: ObjectSpec, p: number, rng: Rng): ObjectSpec {
  const colour = rng.bool(p) ? otherThan(rng, OBJECT_COLOUR_NAMES, o.colour) : o.colour;
  const shape = rng.bool(p) ? otherThan(rng, SHAPES, o.shape) : o.shape;
  const motion = rng.bool(p) ? otherThan(rng, MOTIONS, o.motion) : o.motion;
  let speed = motion === 'still' ? null : (o.speed ?? rng.pick(SPEEDS));
  if (speed !== null && rng.bool(p)) speed = otherThan(rng, SPEEDS, speed);
  return { colour, shape, motion, speed };
}

function writeDefects(latent: Float32Array, rng: Rng, defective: boolean): void {
  for (let i = 0; i < DEFECTS.length; i++) {
    // Clean: well below zero; defective: each defect on with probability 0.5, severity 0.4–1.3.
    latent[DEFECT_OFFSET + i] = defective && rng.bool(0.5) ? rng.uniform(0.4, 1.3) : -1 + 0.2 * rng.normal();
  }
}

/** A clean latent that renders exactly the prompt (one random layout drawn from `rng`). */
export function idealLatent(prompt: PromptSpec, rng: Rng): Float32Array {
  return sampleDataLatent(prompt, rng, CLEAN_DATA);
}

/** One latent of the pretraining data distribution for a prompt. */
export function sampleDataLatent(prompt: PromptSpec, rng: Rng, imperfection: DataImperfection): Float32Array {
  const latent = new Float32Array(LATENT_DIM);
  const p = imperfection.attributeNoise;
  for (let k = 0; k < 2; k++) {
    const want = prompt.objects[k];
    if (want === undefined) absentSlot(latent, k, rng);
    else {
      const o = p > 0 ? corruptObject(want, p, rng) : want;
      const offset = prompt.objects.length === 1 ? 0 : k === 0 ? -0.45 : 0.45;
      writeObject(latent, k, offset, o, OBJECT_COLOURS[o.colour], rng, imperfection.jitter);
    }
  }
  const bgName = p > 0 && rng.bool(p) ? otherThan(rng, BACKGROUND_COLOUR_NAMES, prompt.background) : prompt.background;
  const bg = BACKGROUND_COLOURS[bgName];
  for (let c = 0; c < 3; c++) latent[BACKGROUND_OFFSET + c] = colourToLatent(bg[c] ?? 0) + imperfection.jitter * 0.3 * rng.normal();
  writeDefects(latent, rng, rng.bool(imperfection.defectProbability));
  return latent;
}
