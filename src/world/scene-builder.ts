/**
 * Builds scene latents from prompts: `idealLatent` gives a clean scene that matches the prompt, `sampleDataLatent`
 * draws from the deliberately imperfect data distribution used to pretrain the base generator (wrong attributes with
 * some probability, visible defects in part of the videos).
 */
import type { Rng } from '../common/rng.js';
import {
  BACKGROUND_OFFSET,
  DEFECT_OFFSET,
  DEFECTS,
  EVENT_DIM,
  EVENT_OFFSET,
  EVENT_SLOT,
  LATENT_DIM,
  LATENT_DIM_V2,
  LOCAL_DEFECT_DIM,
  LOCAL_DEFECT_OFFSET,
  LOCAL_DEFECT_SLOTS,
  LOCAL_SLOT,
  SLOT,
  SLOT_DIM,
  colourToLatent,
  defectSpanToLatent,
  defectStartToLatent,
  eventTimeToLatent,
} from './latent.js';
import type { EventSpec, ObjectSpec, PromptSpec } from './prompt.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  EVENT_KINDS,
  EVENT_TIMES,
  EVENT_TIME_TOLERANCE,
  EVENT_TIME_WORDS,
  LOCAL_DEFECT_KINDS,
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
  /** World v2: probability that an asked event is missing, of another kind, with another target, or at another time. */
  readonly eventNoise?: number;
  /** World v2: probability that an object with no asked event has one anyway. */
  readonly spuriousEventProbability?: number;
  /** World v2: probability that each of the two local-defect slots holds a defect. */
  readonly localDefectProbability?: number;
}

export const CLEAN_DATA: DataImperfection = { attributeNoise: 0, defectProbability: 0, jitter: 0 };

/** World v2's pretraining imperfections of time: events wrong in one way or another, local defects. */
export const TEMPORAL_DATA_DEFAULTS = { eventNoise: 0.4, spuriousEventProbability: 0.15, localDefectProbability: 0.3 } as const;

/** Span (fraction of the clip) of each local defect kind: [min, max]. At 48 frames: dropout 1–3 frames, burst 2–4, others 3–6. */
const LOCAL_SPAN: Readonly<Record<(typeof LOCAL_DEFECT_KINDS)[number], readonly [number, number]>> = {
  dropout: [0.02, 0.064],
  burst: [0.04, 0.085],
  freeze: [0.064, 0.13],
  skip: [0.064, 0.13],
  flicker: [0.064, 0.13],
};

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

/** A clean latent that renders exactly the prompt (one random layout drawn from `rng`); world v2 latents with `version: 2`. */
export function idealLatent(prompt: PromptSpec, rng: Rng, version: 1 | 2 = 1): Float32Array {
  return sampleDataLatent(prompt, rng, CLEAN_DATA, version);
}

/** Writes one-hot logits (+1 for `index`, −1 elsewhere) with a little noise. */
function writeLogits(latent: Float32Array, offset: number, n: number, index: number, rng: Rng, jitter: number): void {
  for (let i = 0; i < n; i++) latent[offset + i] = (i === index ? 1 : -1) + jitter * 0.3 * rng.normal();
}

/** A random event for an object that asked for none (or of another kind than asked). */
function randomEvent(o: ObjectSpec, rng: Rng, kinds: readonly EventSpec['kind'][] = EVENT_KINDS): EventSpec {
  const kind = rng.pick(kinds);
  const when = rng.pick(EVENT_TIME_WORDS);
  switch (kind) {
    case 'recolour':
    case 'flash':
      return { kind, colour: otherThan(rng, OBJECT_COLOUR_NAMES, o.colour), when };
    case 'turn': {
      const motion = rng.pick(MOTIONS);
      const speed = motion === 'still' ? null : rng.pick(SPEEDS);
      if (motion !== o.motion || speed !== o.speed) return { kind, motion, speed, when };
      // The drawn motion is the object's own: a visible change instead (no extra draw keeps the stream).
      return o.motion === 'still' ? { kind, motion: 'right', speed: 'slow', when } : { kind, motion: 'still', speed: null, when };
    }
    case 'appear':
    case 'leave':
      return { kind, when };
  }
}

/** Writes an object's event slot: `event` at clip time `time` (null = no event). */
function writeEvent(latent: Float32Array, k: number, event: EventSpec | null, time: number, rng: Rng, jitter: number): void {
  const b = EVENT_OFFSET + k * EVENT_DIM;
  writeLogits(latent, b + EVENT_SLOT.kind, EVENT_KINDS.length + 1, event === null ? 0 : EVENT_KINDS.indexOf(event.kind) + 1, rng, jitter);
  latent[b + EVENT_SLOT.time] = eventTimeToLatent(time);
  const rgb: Rgb | null = event !== null && (event.kind === 'recolour' || event.kind === 'flash') ? OBJECT_COLOURS[event.colour] : null;
  for (let c = 0; c < 3; c++) latent[b + EVENT_SLOT.colour + c] = rgb === null ? 0.1 * rng.normal() : colourToLatent(rgb[c] ?? 0) + jitter * 0.3 * rng.normal();
  const [dx, dy] = event?.kind === 'turn' ? MOTION_DIRECTION[event.motion] : [0, 0];
  const speed = event?.kind === 'turn' && event.speed !== null ? SPEED_PX_PER_FRAME[event.speed] * (1 + jitter * 0.15 * rng.normal()) : 0;
  latent[b + EVENT_SLOT.velocity] = dx * speed + (event === null ? 0.1 : jitter * 0.05) * rng.normal();
  latent[b + EVENT_SLOT.velocity + 1] = dy * speed + (event === null ? 0.1 : jitter * 0.05) * rng.normal();
}

/** A clip time at least the tolerance (plus a margin) away from `avoid`. */
function timeAwayFrom(avoid: number, rng: Rng): number {
  for (let i = 0; i < 100; i++) {
    const t = rng.uniform(0.06, 0.94);
    if (Math.abs(t - avoid) > EVENT_TIME_TOLERANCE + 0.04) return t;
  }
  return avoid < 0.5 ? 0.9 : 0.1;
}

/** World v2's part of a latent: each object's event (as asked, or wrong as the imperfection says) and the local defects. */
function writeTemporal(latent: Float32Array, objects: readonly (ObjectSpec | undefined)[], rng: Rng, imperfection: DataImperfection): void {
  const eventNoise = imperfection.eventNoise ?? 0;
  const spurious = imperfection.spuriousEventProbability ?? 0;
  const jitter = imperfection.jitter;
  for (let k = 0; k < 2; k++) {
    const o = objects[k];
    const want = o?.event;
    if (o === undefined) {
      writeEvent(latent, k, null, 0.5, rng, jitter);
      continue;
    }
    if (want === undefined) {
      const extra = rng.bool(spurious) ? randomEvent(o, rng) : null;
      writeEvent(latent, k, extra, extra === null ? 0.5 : rng.uniform(0.1, 0.9), rng, jitter);
      continue;
    }
    const asked = EVENT_TIMES[want.when] + 0.03 * jitter * rng.normal();
    if (!rng.bool(eventNoise)) {
      writeEvent(latent, k, want, asked, rng, jitter);
      continue;
    }
    const mode = rng.pick(['missing', 'kind', 'target', 'time'] as const);
    if (mode === 'missing') writeEvent(latent, k, null, 0.5, rng, jitter);
    else if (mode === 'kind')
      writeEvent(
        latent,
        k,
        randomEvent(
          o,
          rng,
          EVENT_KINDS.filter((x) => x !== want.kind),
        ),
        asked,
        rng,
        jitter,
      );
    else if (mode === 'target' && (want.kind === 'recolour' || want.kind === 'flash' || want.kind === 'turn')) {
      const other = randomEvent(o, rng, [want.kind]);
      const differs = JSON.stringify({ ...other, when: want.when }) !== JSON.stringify(want);
      writeEvent(latent, k, differs ? other : null, asked, rng, jitter);
    } else writeEvent(latent, k, want, timeAwayFrom(EVENT_TIMES[want.when], rng), rng, jitter);
  }
  const pDefect = imperfection.localDefectProbability ?? 0;
  for (let j = 0; j < LOCAL_DEFECT_SLOTS; j++) {
    const b = LOCAL_DEFECT_OFFSET + j * LOCAL_DEFECT_DIM;
    if (rng.bool(pDefect)) {
      const kind = rng.pick(LOCAL_DEFECT_KINDS);
      const [lo, hi] = LOCAL_SPAN[kind];
      writeLogits(latent, b + LOCAL_SLOT.kind, LOCAL_DEFECT_KINDS.length + 1, LOCAL_DEFECT_KINDS.indexOf(kind) + 1, rng, jitter);
      latent[b + LOCAL_SLOT.start] = defectStartToLatent(rng.uniform(0.05, 0.85));
      latent[b + LOCAL_SLOT.span] = defectSpanToLatent(rng.uniform(lo, hi));
      latent[b + LOCAL_SLOT.severity] = rng.uniform(0.6, 1.3);
    } else {
      writeLogits(latent, b + LOCAL_SLOT.kind, LOCAL_DEFECT_KINDS.length + 1, 0, rng, jitter);
      latent[b + LOCAL_SLOT.start] = 0.1 * rng.normal();
      latent[b + LOCAL_SLOT.span] = 0.1 * rng.normal();
      latent[b + LOCAL_SLOT.severity] = -1 + 0.2 * rng.normal();
    }
  }
}

/** One latent of the pretraining data distribution for a prompt (world v2: `version: 2`, with events and local defects). */
export function sampleDataLatent(prompt: PromptSpec, rng: Rng, imperfection: DataImperfection, version: 1 | 2 = 1): Float32Array {
  const latent = new Float32Array(version === 2 ? LATENT_DIM_V2 : LATENT_DIM);
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
  if (version === 2)
    writeTemporal(
      latent,
      [0, 1].map((k) => prompt.objects[k]),
      rng,
      imperfection,
    );
  return latent;
}
