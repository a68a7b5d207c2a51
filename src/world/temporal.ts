/**
 * World v2's time: events that change an object at a moment of the clip, and defects that hold for a few frames only.
 * The renderer draws, and the gold evaluator judges, from the same functions here, so what is drawn is what is scored.
 *
 * Time is a fraction of the clip, τ = f / (F − 1) for frame f of F. Velocities are px per reference frame (1/24 of
 * the clip, as in world v1's 24-frame videos), so a v2 clip of 48 frames shows the same motion as a v1 clip of 24.
 */
import type { Scene, SceneObject } from './latent.js';
import { FLASH_SPAN, REFERENCE_FRAMES, type EventKind, type LocalDefectKind, type Rgb } from './vocabulary.js';

/** One object's event, decoded from the latent. */
export interface SceneEvent {
  readonly kind: EventKind;
  /** Fraction of the clip, 0..1. */
  readonly time: number;
  /** recolour / flash: the new colour (0..1). */
  readonly rgb: Rgb;
  /** turn: the new velocity, px per reference frame. */
  readonly vx: number;
  readonly vy: number;
}

/** A defect that holds over frames with τ ∈ [start, start + span). */
export interface LocalDefect {
  readonly kind: LocalDefectKind;
  readonly start: number;
  readonly span: number;
  /** Latent units, > 0 (1 = clearly visible). */
  readonly severity: number;
}

/** The time-dependent part of a v2 scene (absent in world v1 scenes). */
export interface TemporalScene {
  /** Per object slot: its event or null. */
  readonly events: readonly (SceneEvent | null)[];
  readonly localDefects: readonly LocalDefect[];
}

/** An object as it appears at one moment. */
export interface ObjectState {
  readonly present: boolean;
  readonly rgb: Rgb;
  readonly x: number;
  readonly y: number;
}

export const clipTime = (frame: number, frames: number): number => (frames <= 1 ? 0 : frame / (frames - 1));

/** Frames of an F-frame clip a span [start, start + span) of clip time covers. */
export function framesCovered(start: number, span: number, frames: number): number[] {
  const out: number[] = [];
  for (let f = 0; f < frames; f++) {
    const t = clipTime(f, frames);
    if (t >= start && t < start + span) out.push(f);
  }
  return out;
}

/** Reference frames from mid-clip at clip time τ (world v1's `f − (F−1)/2` for a 24-frame clip). */
const fromMiddle = (t: number): number => (t - 0.5) * (REFERENCE_FRAMES - 1);

/** State of object `o` (with its event, if any) at clip time τ. */
export function objectStateAt(o: SceneObject, event: SceneEvent | null, t: number): ObjectState {
  let vx0 = o.vx;
  let vy0 = o.vy;
  let x = o.cx + vx0 * fromMiddle(t);
  let y = o.cy + vy0 * fromMiddle(t);
  let present = o.present;
  let rgb = o.rgb;
  if (event !== null) {
    const after = t >= event.time;
    switch (event.kind) {
      case 'recolour':
        if (after) rgb = event.rgb;
        break;
      case 'flash':
        if (after && t < event.time + FLASH_SPAN) rgb = event.rgb;
        break;
      case 'appear':
        present = present && after;
        break;
      case 'leave':
        present = present && !after;
        break;
      case 'turn':
        if (after) {
          // Continuous path: straight at the first velocity up to the event, then at the new one.
          const xe = o.cx + vx0 * fromMiddle(event.time);
          const ye = o.cy + vy0 * fromMiddle(event.time);
          vx0 = event.vx;
          vy0 = event.vy;
          x = xe + vx0 * (fromMiddle(t) - fromMiddle(event.time));
          y = ye + vy0 * (fromMiddle(t) - fromMiddle(event.time));
        }
        break;
    }
  }
  return { present, rgb, x, y };
}

/** What the local defects do to frame f: the moment it shows, whether objects drop out, burst and flicker strength. */
export interface FrameEffects {
  /** The frame whose moment is shown (freeze holds an earlier one; skip jumps ahead). */
  readonly shownFrame: number;
  readonly dropout: boolean;
  /** Severity of a corruption burst on this frame (0 = none). */
  readonly burst: number;
  /** Severity of local flicker on this frame (0 = none). */
  readonly flicker: number;
}

/**
 * Effects of local defects on frame f of F. Freeze: frames of the span show the moment before it, and the clip runs on
 * late by the span (its end is cut). Skip: from the span on, the clip runs early by the span (the end repeats the last
 * moment). Both leave a cue between coarse samples: a moving object covers less (freeze) or more (skip) ground there.
 */
export function frameEffects(f: number, frames: number, defects: readonly LocalDefect[]): FrameEffects {
  let shown = f;
  let dropout = false;
  let burst = 0;
  let flicker = 0;
  for (const d of defects) {
    const covered = framesCovered(d.start, d.span, frames);
    const first = covered[0];
    if (first === undefined) continue;
    const inside = covered.includes(f);
    switch (d.kind) {
      case 'dropout':
        dropout ||= inside;
        break;
      case 'burst':
        if (inside) burst = Math.max(burst, d.severity);
        break;
      case 'flicker':
        if (inside) flicker = Math.max(flicker, d.severity);
        break;
      case 'freeze':
        if (f >= first) shown = Math.max(0, shown - Math.min(covered.length, f - first + 1));
        break;
      case 'skip':
        if (f >= first) shown = Math.min(frames - 1, shown + covered.length);
        break;
    }
  }
  return { shownFrame: shown, dropout, burst, flicker };
}

/** The objects of a scene as they appear in frame f (events and freeze/skip applied; dropout leaves them out). */
export function sceneObjectsAt(scene: Scene, f: number, frames: number): ObjectState[] {
  const temporal = scene.temporal;
  if (temporal === undefined) {
    const dt = f - (frames - 1) / 2;
    return scene.objects.map((o) => ({ present: o.present, rgb: o.rgb, x: o.cx + o.vx * dt, y: o.cy + o.vy * dt }));
  }
  const fx = frameEffects(f, frames, temporal.localDefects);
  const t = clipTime(fx.shownFrame, frames);
  return scene.objects.map((o, k) => {
    const s = objectStateAt(o, temporal.events[k] ?? null, t);
    return fx.dropout ? { ...s, present: false } : s;
  });
}
