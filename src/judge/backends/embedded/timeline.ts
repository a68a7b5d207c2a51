/**
 * World v2 evidence: what the frames a judge has seen of one video say about time. Per prompt object a timeline of
 * sightings (present or not, colour, position) over the seen frames, from which it finds changes (a new colour that
 * stays, a colour for a moment, an object that appears, leaves or drops out, a path that bends, a stretch where the
 * clip stalls or jumps) and temporally local defects (a burst of corruption, local flicker). Every finding carries the
 * bracket of seen frames it lies between, so a planner can look where a finding is still uncertain.
 *
 * The estimates mirror the gold evaluator's v2 checks (src/world/gold.ts) but rest only on what was seen: a change
 * between two seen frames has an unknown moment inside that bracket, so the on-time check is the share of the bracket
 * inside the asked window.
 */
import {
  EVENT_TIMES,
  EVENT_TIME_TOLERANCE,
  FAST_FROM_PX_PER_FRAME,
  GOLD_OVERALL_WEIGHTS,
  LOCAL_DEFECT_DIMENSION,
  LOCAL_DEFECT_WEIGHT,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  REFERENCE_FRAMES,
  SHAPES,
  STILL_BELOW_PX_PER_FRAME,
  BACKGROUND_COLOUR_NAMES,
  BACKGROUND_COLOURS,
  classifyMotion,
  nearestColour,
  type EventKind,
  type EventSpec,
  type LocalDefectKind,
  type ObjectColour,
  type ObjectSpec,
  type PromptSpec,
} from '../../../world/index.js';
import { measuredColourProb, sharpen, type PerceivedFrame, type QualitySignals } from './evidence.js';

/** A finding between two seen frames (0-based, within the video): the change happened in (before, after]. */
export interface Bracket {
  readonly before: number;
  readonly after: number;
}

export interface DetectedEvent {
  readonly kind: EventKind;
  readonly bracket: Bracket;
  /** recolour / flash: the colour seen; turn: the new velocity (px per reference frame). */
  readonly colour?: ObjectColour;
  readonly vx?: number;
  readonly vy?: number;
}

export interface DetectedDefect {
  readonly kind: LocalDefectKind;
  /** Seen frames that show it (freeze/skip: the bracket of the stall or jump). */
  readonly frames: readonly number[];
  readonly bracket?: Bracket;
}

export interface ObjectTimeline {
  /** Sightings over the seen uncorrupted frames, sorted. */
  readonly sightings: readonly Sighting[];
  readonly colour: number;
  readonly shape: number;
  readonly motion: number;
  readonly speed: number | null;
  /** Probability that the asked event (or, when none is asked, no event) is what happened. */
  readonly event: number;
  /** Probability that the asked event happened on time (null when no event is asked). */
  readonly eventTime: number | null;
  readonly detected: DetectedEvent | null;
  /** First velocity, px per reference frame. */
  readonly vx: number;
  readonly vy: number;
}

export interface Sighting {
  readonly frame: number;
  readonly present: boolean;
  readonly x: number;
  readonly y: number;
  /** Named colour when it is clear (null when unsure or absent). */
  readonly colour: ObjectColour | null;
  readonly colourProbs: Float32Array | null;
  readonly shapeP: number;
  /** Partly out of view: its centroid is off, so it does not count for the path. */
  readonly border: boolean;
}

export interface TimelineEvidence {
  readonly objects: readonly ObjectTimeline[];
  readonly background: number;
  readonly count: number;
  readonly defects: readonly DetectedDefect[];
  /** Seen frames judged corrupted by a burst. */
  readonly corrupted: readonly number[];
  readonly TA: number;
  readonly MQ: number;
  readonly VQ: number;
  readonly overall: number;
  readonly certainty: number;
  readonly framesUsed: readonly number[];
  readonly frameCount: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}
const soft = (margin: number, scale: number): number => 1 / (1 + Math.exp(-margin / scale));
/** The longest stretch a freeze can hold one moment (its span plus the frame before), in frames of 48. */
const MAX_STALL_FRAMES = 7;

/** Noise above which a frame counts as corrupted by a burst: well above the video's usual level. */
const burstThreshold = (noises: readonly number[]): number => Math.max(0.07, 1.8 * median(noises) + 0.035);

/** Best assignment of a frame's detections to the prompt's objects, by shape (colours may change) and colour. */
function assign(prompt: PromptSpec, f: PerceivedFrame): (PerceivedFrame['objects'][number] | null)[] {
  const score = (o: PerceivedFrame['objects'][number], want: ObjectSpec): number => {
    const si = SHAPES.indexOf(want.shape);
    const colours = [want.colour, ...(want.event?.kind === 'recolour' || want.event?.kind === 'flash' ? [want.event.colour] : [])];
    const c = Math.max(...colours.map((name) => o.colourProbs[OBJECT_COLOUR_NAMES.indexOf(name)] ?? 0));
    return (o.shapeProbs[si] ?? 0) + 0.5 * c;
  };
  const [a, b] = prompt.objects;
  const dets = f.objects;
  if (b === undefined) {
    let best: PerceivedFrame['objects'][number] | null = null;
    for (const o of dets) if (best === null || score(o, a) > score(best, a)) best = o;
    return [best];
  }
  const [d0, d1] = dets;
  if (d0 === undefined) return [null, null];
  if (d1 === undefined) return score(d0, a) >= score(d0, b) ? [d0, null] : [null, d0];
  return score(d0, a) + score(d1, b) >= score(d1, a) + score(d0, b) ? [d0, d1] : [d1, d0];
}

interface Line {
  readonly x0: number;
  readonly vx: number;
  readonly y0: number;
  readonly vy: number;
  readonly sse: number;
}

function fit(points: readonly Sighting[]): Line {
  const fm = mean(points.map((p) => p.frame));
  const xm = mean(points.map((p) => p.x));
  const ym = mean(points.map((p) => p.y));
  let sff = 0;
  let sfx = 0;
  let sfy = 0;
  for (const p of points) {
    sff += (p.frame - fm) ** 2;
    sfx += (p.frame - fm) * (p.x - xm);
    sfy += (p.frame - fm) * (p.y - ym);
  }
  const vx = sff > 0 ? sfx / sff : 0;
  const vy = sff > 0 ? sfy / sff : 0;
  const x0 = xm - vx * fm;
  const y0 = ym - vy * fm;
  let sse = 0;
  for (const p of points) sse += (p.x - x0 - vx * p.frame) ** 2 + (p.y - y0 - vy * p.frame) ** 2;
  return { x0, vx, y0, vy, sse };
}

/** A change of path between seen frames: a bend (new velocity) or a step (same velocity, offset: a stall or a jump). */
interface PathChange {
  readonly kind: 'bend' | 'step';
  readonly bracket: Bracket;
  readonly before: Line;
  readonly after: Line;
  /** Step along the motion, px (negative: behind, a stall). */
  readonly step: number;
}

function pathChange(points: readonly Sighting[], unit: number): PathChange | null {
  if (points.length < 4) return null;
  const single = fit(points);
  let best: { i: number; sse: number; a: Line; b: Line } | null = null;
  for (let i = 2; i <= points.length - 2; i++) {
    const a = fit(points.slice(0, i));
    const b = fit(points.slice(i));
    if (best === null || a.sse + b.sse < best.sse) best = { i, sse: a.sse + b.sse, a, b };
  }
  if (best === null) return null;
  // A clear improvement over one straight path (jitter of a few tenths of a pixel stays below this).
  if (!(single.sse - best.sse > 3 * unit * unit && best.sse < 0.35 * single.sse)) return null;
  const before = points[best.i - 1];
  const after = points[best.i];
  if (before === undefined || after === undefined) return null;
  const bracket = { before: before.frame, after: after.frame };
  const dv = Math.hypot(best.a.vx - best.b.vx, best.a.vy - best.b.vy);
  const speed = Math.hypot(single.vx, single.vy);
  // Same velocity on both sides: a step; the offset measured along the motion at the bracket's middle.
  if (dv < 0.25 * Math.max(speed, 0.1 * unit)) {
    const m = (bracket.before + bracket.after) / 2;
    const dx = best.b.x0 + best.b.vx * m - (best.a.x0 + best.a.vx * m);
    const dy = best.b.y0 + best.b.vy * m - (best.a.y0 + best.a.vy * m);
    const along = speed > 0 ? (dx * single.vx + dy * single.vy) / speed : 0;
    return { kind: 'step', bracket, before: best.a, after: best.b, step: along };
  }
  return { kind: 'bend', bracket, before: best.a, after: best.b, step: 0 };
}

/** Probability that a moment uniformly inside the bracket lies in [lo, hi] (clip fractions, frames of F). */
function shareInside(b: Bracket, frames: number, lo: number, hi: number): number {
  const span = frames - 1;
  const a = b.before / span;
  const c = b.after / span;
  if (c <= a) return a >= lo && a <= hi ? 1 : 0;
  return Math.max(0, Math.min(c, hi) - Math.max(a, lo)) / (c - a);
}

/** Speed words match as in the gold evaluator, softly. */
function motionAgreement(
  want: { motion: ObjectSpec['motion']; speed: ObjectSpec['speed'] },
  vx: number,
  vy: number,
  samples: number,
): { motion: number; speed: number | null } {
  const spd = Math.hypot(vx, vy);
  if (samples < 2) return { motion: 0.2, speed: want.motion === 'still' ? null : 0.3 };
  if (want.motion === 'still') return { motion: soft(STILL_BELOW_PX_PER_FRAME - spd, 0.06), speed: null };
  const dir = want.motion === 'left' ? -vx : want.motion === 'right' ? vx : want.motion === 'up' ? -vy : vy;
  const across = want.motion === 'left' || want.motion === 'right' ? Math.abs(vy) : Math.abs(vx);
  const agree = soft(dir - STILL_BELOW_PX_PER_FRAME, 0.06) * soft(dir - across, 0.1);
  const seen = classifyMotion({ vx, vy });
  return {
    motion: seen.motion === want.motion ? agree : Math.min(0.3, agree),
    // A speed word holds only for an object that moves (the gold check fails for a still one).
    speed:
      (want.speed === 'fast' ? soft(spd - FAST_FROM_PX_PER_FRAME, 0.08) : soft(FAST_FROM_PX_PER_FRAME - spd, 0.08)) *
      soft(spd - STILL_BELOW_PX_PER_FRAME, 0.06),
  };
}

/** Runs of a value over sorted sightings: [value, first index, last index]. */
function runs<T>(xs: readonly T[]): { value: T; from: number; to: number }[] {
  const out: { value: T; from: number; to: number }[] = [];
  xs.forEach((v, i) => {
    const last = out[out.length - 1];
    if (last !== undefined && last.value === v) last.to = i;
    else out.push({ value: v, from: i, to: i });
  });
  return out;
}

interface ObjectAnalysis {
  readonly timeline: ObjectTimeline;
  readonly defects: DetectedDefect[];
  /** The object moves over the seen frames (a freeze or skip can show on it). */
  readonly moving: boolean;
}

function analyseObject(
  want: ObjectSpec,
  sightings: readonly Sighting[],
  frames: number,
  unit: number,
  refPerFrame: number,
  others: readonly ObjectColour[],
): ObjectAnalysis {
  const defects: DetectedDefect[] = [];
  const seen = sightings.filter((s) => s.present);
  let detected: DetectedEvent | null = null;
  // Presence: a leading absence is an appearance (or a dropout at the very start), a trailing one a departure, one
  // inside a dropout.
  const presence = runs(sightings.map((s) => s.present));
  for (const r of presence) {
    if (r.value) continue;
    const first = sightings[r.from];
    const last = sightings[r.to];
    if (first === undefined || last === undefined) continue;
    const prev = sightings[r.from - 1];
    const next = sightings[r.to + 1];
    if (prev === undefined && next !== undefined) {
      const short = last.frame <= 2 && want.event?.kind !== 'appear';
      if (short) defects.push({ kind: 'dropout', frames: sightings.slice(r.from, r.to + 1).map((s) => s.frame) });
      else detected ??= { kind: 'appear', bracket: { before: last.frame, after: next.frame } };
    } else if (next === undefined && prev !== undefined) {
      const short = last.frame >= frames - 3 && first.frame >= frames - 3 && want.event?.kind !== 'leave';
      if (short) defects.push({ kind: 'dropout', frames: sightings.slice(r.from, r.to + 1).map((s) => s.frame) });
      else detected ??= { kind: 'leave', bracket: { before: prev.frame, after: first.frame } };
    } else if (prev !== undefined && next !== undefined) {
      defects.push({ kind: 'dropout', frames: sightings.slice(r.from, r.to + 1).map((s) => s.frame) });
    }
  }
  // Colour: the colour the object starts with; a later colour that stays is a recolour, one between two stretches of
  // the first colour a flash.
  // Another prompt object's colour is a swapped detection, not a change of this one.
  const coloured = seen.filter((s) => s.colour !== null && (s.colour === want.colour || !others.includes(s.colour)));
  const colourRuns = runs(coloured.map((s) => s.colour));
  const startColour = colourRuns[0]?.value ?? null;
  if (colourRuns.length >= 2 && detected === null) {
    const second = colourRuns[1];
    const firstRun = colourRuns[0];
    const after = second === undefined ? undefined : coloured[second.from];
    const before = firstRun === undefined ? undefined : coloured[firstRun.to];
    const backToStart = colourRuns.slice(2).some((r) => r.value === startColour);
    if (second !== undefined && after !== undefined && before !== undefined && second.value !== null) {
      detected = { kind: backToStart ? 'flash' : 'recolour', bracket: { before: before.frame, after: after.frame }, colour: second.value };
    }
  }
  // Path: a bend is a turn; a step is a stall (freeze) or a jump (skip) of the clip. Seen frames in a row at the same
  // place while the object moves are a freeze caught in the act; they leave the path fit (else they bend it).
  const inView = seen.filter((s) => !s.border);
  const allPath = inView.length >= 2 ? inView : seen;
  const overall = fit(allPath);
  const perFrame = Math.hypot(overall.vx, overall.vy);
  const moving = allPath.length >= 2 && perFrame * refPerFrame > STILL_BELOW_PX_PER_FRAME * unit * 0.8;
  const frozen = new Set<number>();
  if (moving) {
    // Runs of seen frames at one place; a run longer than a stall can last is the object stopping, not a freeze.
    let run: number[] = [];
    const close = (): void => {
      const first = run[0];
      const last = run[run.length - 1];
      if (first !== undefined && last !== undefined && last - first <= MAX_STALL_FRAMES) for (const f of run) frozen.add(f);
      run = [];
    };
    for (let i = 1; i < allPath.length; i++) {
      const a = allPath[i - 1];
      const b = allPath[i];
      if (a === undefined || b === undefined) continue;
      const expected = perFrame * (b.frame - a.frame);
      const still = b.frame - a.frame <= 3 && expected > 0.25 * unit && Math.hypot(b.x - a.x, b.y - a.y) < 0.2 * expected;
      if (still) {
        if (run.length === 0) run.push(a.frame);
        run.push(b.frame);
      } else close();
    }
    close();
  }
  if (frozen.size > 0) defects.push({ kind: 'freeze', frames: [...frozen].sort((x, y) => x - y) });
  // The frames of a stall but its first show an old moment: leave them out of the path.
  const held = [...frozen].sort((x, y) => x - y).slice(1);
  const path = allPath.filter((s) => !held.includes(s.frame));
  const change = pathChange(path, unit);
  let firstLine = fit(path);
  if (change !== null && change.kind === 'bend') {
    firstLine = change.before;
    if (detected === null) {
      detected = { kind: 'turn', bracket: change.bracket, vx: (change.after.vx * refPerFrame) / unit, vy: (change.after.vy * refPerFrame) / unit };
    }
  } else if (change !== null && change.kind === 'step' && moving && Math.abs(change.step) > 0.7 * unit && frozen.size === 0) {
    defects.push({ kind: change.step < 0 ? 'freeze' : 'skip', frames: [], bracket: change.bracket });
  }
  const firstSeen = path.filter((s) => detected === null || s.frame <= detected.bracket.before);
  const early = firstSeen.length >= 2 ? firstLine : fit(path);
  const vx = (early.vx * refPerFrame) / unit;
  const vy = (early.vy * refPerFrame) / unit;
  const m = motionAgreement(want, vx, vy, seen.length);
  const ci = OBJECT_COLOUR_NAMES.indexOf(want.colour);
  // Colour of the object before any change, from the measured colour and the classifier.
  const startSightings = seen.filter((s) => s.colourProbs !== null && (detected === null || detected.kind === 'appear' || s.frame <= detected.bracket.before));
  const colourP = mean(startSightings.map((s) => s.colourProbs?.[ci] ?? 0));
  const colour = sharpen(startSightings.length === 0 ? 0 : colourP);
  const shape = sharpen(mean(seen.map((s) => s.shapeP)));
  // The asked event against what was seen.
  const ask = want.event;
  let event: number;
  let eventTime: number | null = null;
  if (ask === undefined) event = detected === null ? 0.9 : 0.1;
  else if (detected === null) event = seen.length === 0 ? 0.2 : 0.1;
  else {
    event = detected.kind === ask.kind ? targetAgreement(ask, detected) : 0.1;
    const w = EVENT_TIMES[ask.when];
    eventTime = event * shareInside(detected.bracket, frames, w - EVENT_TIME_TOLERANCE, w + EVENT_TIME_TOLERANCE);
    eventTime = 0.05 + 0.9 * eventTime;
  }
  return {
    timeline: { sightings, colour, shape, motion: m.motion, speed: m.speed, event, eventTime, detected, vx, vy },
    defects,
    moving,
  };
}

function targetAgreement(ask: EventSpec, got: DetectedEvent): number {
  switch (ask.kind) {
    case 'recolour':
    case 'flash':
      return got.colour === ask.colour ? 0.9 : 0.1;
    case 'turn': {
      const m = motionAgreement({ motion: ask.motion, speed: ask.speed }, got.vx ?? 0, got.vy ?? 0, 2);
      return Math.max(0.05, m.motion * (m.speed ?? 1));
    }
    case 'appear':
    case 'leave':
      return 0.9;
  }
}

/**
 * World v2 evidence for one video of `frameCount` frames from its seen frames (0-based indices within the video).
 * `signals` measures global quality on a set of frames (the perception's videoSignals).
 */
export function timelineEvidence(
  prompt: PromptSpec,
  seenFrames: readonly PerceivedFrame[],
  frameCount: number,
  unit: number,
  signals: (frames: readonly PerceivedFrame[]) => QualitySignals,
): TimelineEvidence {
  const sorted = [...seenFrames].sort((a, b) => a.frameIndex - b.frameIndex);
  const threshold = burstThreshold(sorted.map((f) => f.noise));
  const corrupted = sorted.filter((f) => f.noise > threshold).map((f) => f.frameIndex);
  const clean = sorted.filter((f) => !corrupted.includes(f.frameIndex));
  // Velocities are per reference frame (1/24 of the clip), as the world's motion words are.
  const refPerFrame = (frameCount - 1) / (REFERENCE_FRAMES - 1);
  const perObject: Sighting[][] = prompt.objects.map(() => []);
  for (const f of clean) {
    const matched = assign(prompt, f);
    prompt.objects.forEach((_, k) => {
      const d = matched[k] ?? null;
      const list = perObject[k];
      if (list === undefined) return;
      if (d === null) list.push({ frame: f.frameIndex, present: false, x: 0, y: 0, colour: null, colourProbs: null, shapeP: 0, border: false });
      else {
        const want = prompt.objects[k];
        const colourProbs = Float32Array.from(
          OBJECT_COLOUR_NAMES,
          (name, i) => 0.5 * (d.colourProbs[i] ?? 0) + 0.5 * (d.rgb === undefined ? (d.colourProbs[i] ?? 0) : measuredColourProb(OBJECT_COLOURS, d.rgb, name)),
        );
        let bi = 0;
        colourProbs.forEach((p, i) => {
          if (p > (colourProbs[bi] ?? 0)) bi = i;
        });
        const named = d.rgb === undefined ? (OBJECT_COLOUR_NAMES[bi] ?? null) : nearestColour(OBJECT_COLOURS, d.rgb);
        const shapeP = want === undefined ? 0 : (d.shapeProbs[SHAPES.indexOf(want.shape)] ?? 0);
        // A colour counts for changes only when the reading is clear and the detection is this object's shape.
        const clear = prompt.objects.length === 1 || shapeP > 0.3;
        list.push({ frame: f.frameIndex, present: true, x: d.x, y: d.y, colour: clear ? named : null, colourProbs, shapeP, border: d.touchesBorder === true });
      }
    });
  }
  const analyses = prompt.objects.map((want, k) =>
    analyseObject(
      want,
      perObject[k] ?? [],
      frameCount,
      unit,
      refPerFrame,
      prompt.objects.filter((_, j) => j !== k).map((o) => o.colour),
    ),
  );
  const defects: DetectedDefect[] = [];
  // A dropout shows as every object missing at once; keep one finding per frame set.
  for (const a of analyses) {
    for (const d of a.defects) {
      // A dropout or a stall hits the whole frame: with two objects, every one that could show it must agree (one
      // object alone is more likely a swapped or merged detection).
      const shows = (b: ObjectAnalysis): boolean => b.defects.some((e) => e.kind === d.kind && e.frames.some((f) => d.frames.includes(f)));
      if (d.kind === 'dropout' && prompt.objects.length > 1 && !analyses.every(shows)) continue;
      if (d.kind === 'freeze' && d.frames.length > 0 && !analyses.filter((b) => b.moving).every(shows)) continue;
      if (!defects.some((e) => e.kind === d.kind && JSON.stringify(e.frames) === JSON.stringify(d.frames))) defects.push(d);
    }
  }
  if (corrupted.length > 0) defects.push({ kind: 'burst', frames: corrupted });
  // Local flicker: clean frames whose brightness departs from the video's level while global flicker is absent.
  const global = signals(clean.filter((f) => f.objects.length > 0));
  // The background's level, not the frame's mean: objects coming and going change the mean, not the background.
  const lightOf = (f: PerceivedFrame): number => (f.background === undefined ? f.brightness : (f.background[0] + f.background[1] + f.background[2]) / 3);
  const level = median(clean.map(lightOf));
  const flickering = clean.filter((f) => level > 0.02 && Math.abs(lightOf(f) / level - 1) > 0.12).map((f) => f.frameIndex);
  if (global.flicker < 0.35 && flickering.length > 0 && flickering.length <= Math.max(1, clean.length / 3))
    defects.push({ kind: 'flicker', frames: flickering });
  const bi = BACKGROUND_COLOUR_NAMES.indexOf(prompt.background);
  const background = sharpen(
    mean(
      clean.map(
        (f) =>
          0.5 * (f.backgroundProbs[bi] ?? 0) +
          0.5 * (f.background === undefined ? (f.backgroundProbs[bi] ?? 0) : measuredColourProb(BACKGROUND_COLOURS, f.background, prompt.background)),
      ),
    ),
  );
  const most = Math.max(0, ...clean.map((f) => f.objects.length));
  const count = most === prompt.objects.length ? 0.9 : 0.1;
  const checks: number[] = [];
  for (const { timeline: o } of analyses) {
    checks.push(o.colour, o.shape, o.motion);
    if (o.speed !== null) checks.push(o.speed);
    checks.push(o.event);
    if (o.eventTime !== null) checks.push(o.eventTime);
  }
  checks.push(background, count);
  const TA = mean(checks);
  const sev = (x: number): number => Math.min(1, Math.max(0, x));
  let localMQ = 0;
  let localVQ = 0;
  for (const d of defects) {
    if (LOCAL_DEFECT_DIMENSION[d.kind] === 'MQ') localMQ += LOCAL_DEFECT_WEIGHT;
    else localVQ += LOCAL_DEFECT_WEIGHT;
  }
  const MQ = Math.max(0, 1 - (sev(global.jitter) + sev(global.flicker)) / 2 - localMQ);
  const VQ = Math.max(0, 1 - (sev(global.blur) + sev(global.noise)) / 2 - localVQ);
  const overall = GOLD_OVERALL_WEIGHTS.TA * TA + GOLD_OVERALL_WEIGHTS.MQ * MQ + GOLD_OVERALL_WEIGHTS.VQ * VQ;
  const decisiveness = mean(checks.map((c) => Math.abs(c - 0.5) * 2));
  return {
    objects: analyses.map((a) => a.timeline),
    background,
    count,
    defects,
    corrupted,
    TA,
    MQ,
    VQ,
    overall,
    certainty: Math.min(decisiveness, global.confidence),
    framesUsed: sorted.map((f) => f.frameIndex),
    frameCount,
  };
}
