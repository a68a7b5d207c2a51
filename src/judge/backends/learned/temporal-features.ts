/**
 * The learned judge's observation in world v2 (`temporal` layout): built from the embedded judge's timeline evidence
 * (timeline.ts) of the frames seen, so the policy sees what the v1 features cannot: per prompt object whether the asked
 * event (or none) and its moment check out and whether a change was seen; local defects found (dropout, burst, freeze,
 * skip, flicker); per eighth of the clip how much of it was seen, how far its unseen frames are from a seen one, and
 * whether a finding (a change's bracket, a defect) lies there; and, from the caption, which eighths an asked event's
 * window covers. The pair and turn part is the v1 layout's. Values clipped to [-3, 3]; TEMPORAL_FEATURE_NAMES documents
 * the layout (recorded in every checkpoint's manifest).
 */
import type { PairwiseAnswer } from '../../../protocol/index.js';
import { EVENT_TIMES, EVENT_TIME_TOLERANCE, FLASH_SPAN, LOCAL_DEFECT_KINDS, type PromptSpec } from '../../../world/index.js';
import type { QualitySignals } from '../embedded/evidence.js';
import type { TimelineEvidence } from '../embedded/timeline.js';
import { TEMPORAL_SEGMENTS, timeSegmentOf, timeSegmentRange } from './temporal-slots.js';

export interface TemporalObservationParts {
  readonly timeline: readonly [TimelineEvidence, TimelineEvidence];
  /** Global quality signals over the seen frames, per video. */
  readonly signals: readonly [QualitySignals, QualitySignals];
  /** 0-based frames seen per video. */
  readonly seen: readonly [readonly number[], readonly number[]];
  readonly counts: readonly [number, number];
  /** The caption parsed in the world's grammar, or null. */
  readonly spec: PromptSpec | null;
  readonly turn: number;
  readonly toolCallsLeft: number;
  readonly lastCallFailed: boolean;
  readonly recommend: PairwiseAnswer | null;
}

const OBJECT_FEATURES = ['present', 'colour', 'shape', 'motion', 'speed', 'hasSpeed', 'event', 'eventTime', 'asksEvent', 'changeSeen', 'sightings'] as const;
const EIGHTHS = Array.from({ length: TEMPORAL_SEGMENTS }, (_, s) => s + 1);

const VIDEO_FEATURES = [
  'TA',
  'MQ',
  'VQ',
  'overall',
  'certainty',
  'background',
  'count',
  ...OBJECT_FEATURES.map((f) => `obj1.${f}`),
  ...OBJECT_FEATURES.map((f) => `obj2.${f}`),
  ...LOCAL_DEFECT_KINDS.map((k) => `defect.${k}`),
  'corrupted',
  'jitter',
  'flicker',
  'blur',
  'noise',
  'signalConfidence',
  'seenFraction',
  ...EIGHTHS.map((s) => `eighth${s}.seen`),
  ...EIGHTHS.map((s) => `eighth${s}.gap`),
  ...EIGHTHS.map((s) => `eighth${s}.finding`),
];

const RECOMMEND_FEATURES = (['TA', 'MQ', 'VQ', 'OA'] as const).flatMap((d) => [0, 1, 2].map((v) => `recommend.${d}=${v}`));

/** Names of the `temporal` feature vector's entries, in order. */
export const TEMPORAL_FEATURE_NAMES: readonly string[] = Object.freeze([
  ...VIDEO_FEATURES.map((f) => `v1.${f}`),
  ...VIDEO_FEATURES.map((f) => `v2.${f}`),
  ...EIGHTHS.map((s) => `window.eighth${s}`),
  'asks.recolour',
  'asks.flash',
  'asks.turn',
  'asks.appearLeave',
  'diff.TA',
  'diff.MQ',
  'diff.VQ',
  'diff.overall',
  'sign.TA',
  'sign.MQ',
  'sign.VQ',
  'sign.overall',
  'absdiff.overall',
  'turn=0',
  'turn=1',
  'turn=2',
  'turn>=3',
  'toolCallsLeft',
  'lastCallFailed',
  'hasRecommend',
  ...RECOMMEND_FEATURES,
  'twoObjects',
  'promptKnown',
]);

const clip = (x: number, lo: number, hi: number): number => (Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : 0);

/** Eighths that [a, b] (0-based frames) touches. */
function eighthsOf(a: number, b: number, count: number): number[] {
  const lo = timeSegmentOf(Math.max(0, Math.min(a, b)), count);
  const hi = timeSegmentOf(Math.min(count - 1, Math.max(a, b)), count);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function videoFeatures(e: TimelineEvidence, q: QualitySignals, seen: readonly number[], count: number, spec: PromptSpec | null): number[] {
  const seenSet = new Set(seen);
  const object = (j: number): number[] => {
    const o = e.objects[j];
    if (o === undefined) return OBJECT_FEATURES.map((f) => (f === 'speed' || f === 'eventTime' ? 0.5 : 0));
    const present = o.sightings.filter((s) => s.present).length;
    return [
      1,
      o.colour,
      o.shape,
      o.motion,
      o.speed ?? 0.5,
      o.speed === null ? 0 : 1,
      o.event,
      o.eventTime ?? 0.5,
      spec?.objects[j]?.event === undefined ? 0 : 1,
      o.detected === null ? 0 : 1,
      clip(present / 8, 0, 3),
    ];
  };
  const defects = LOCAL_DEFECT_KINDS.map((k) => clip(e.defects.filter((d) => d.kind === k).length, 0, 2));
  const findings = new Set<number>();
  for (const o of e.objects) if (o.detected !== null) for (const s of eighthsOf(o.detected.bracket.before, o.detected.bracket.after, count)) findings.add(s);
  for (const d of e.defects) {
    for (const f of d.frames) findings.add(timeSegmentOf(f, count));
    if (d.bracket !== undefined) for (const s of eighthsOf(d.bracket.before, d.bracket.after, count)) findings.add(s);
  }
  const eighthLen = Math.max(1, count / TEMPORAL_SEGMENTS);
  const seenIn: number[] = [];
  const gaps: number[] = [];
  for (let s = 0; s < TEMPORAL_SEGMENTS; s++) {
    const [a, b] = timeSegmentRange(count, s);
    let n = 0;
    let gap = 0;
    for (let f = a; f < b; f++) {
      if (seenSet.has(f)) {
        n += 1;
        continue;
      }
      gap = Math.max(
        gap,
        seen.reduce((m, x) => Math.min(m, Math.abs(f - x)), count),
      );
    }
    seenIn.push(b > a ? n / (b - a) : 1);
    gaps.push(clip(gap / eighthLen, 0, 3));
  }
  return [
    e.TA,
    e.MQ,
    e.VQ,
    e.overall,
    e.certainty,
    e.background,
    e.count,
    ...object(0),
    ...object(1),
    ...defects,
    clip(e.corrupted.length / 4, 0, 3),
    clip(q.jitter, 0, 1.5),
    clip(q.flicker, 0, 1.5),
    clip(q.blur, 0, 1.5),
    clip(q.noise, 0, 1.5),
    clip(q.confidence, 0, 1),
    count > 0 ? seenSet.size / count : 0,
    ...seenIn,
    ...gaps,
    ...Array.from({ length: TEMPORAL_SEGMENTS }, (_, s) => (findings.has(s) ? 1 : 0)),
  ];
}

/** Per eighth of the clip, the share of it inside some asked event's window (a flash's window reaches FLASH_SPAN further). */
function askedWindows(spec: PromptSpec | null): number[] {
  const out = new Array<number>(TEMPORAL_SEGMENTS).fill(0);
  for (const o of spec?.objects ?? []) {
    const ev = o.event;
    if (ev === undefined) continue;
    const lo = EVENT_TIMES[ev.when] - EVENT_TIME_TOLERANCE;
    const hi = EVENT_TIMES[ev.when] + EVENT_TIME_TOLERANCE + (ev.kind === 'flash' ? FLASH_SPAN : 0);
    for (let s = 0; s < TEMPORAL_SEGMENTS; s++) {
      const a = s / TEMPORAL_SEGMENTS;
      const b = (s + 1) / TEMPORAL_SEGMENTS;
      const overlap = Math.max(0, Math.min(b, hi) - Math.max(a, lo)) * TEMPORAL_SEGMENTS;
      out[s] = Math.max(out[s] ?? 0, overlap);
    }
  }
  return out;
}

/** The `temporal` feature vector of one observation (length TEMPORAL_FEATURE_NAMES.length). */
export function temporalObservationFeatures(p: TemporalObservationParts): Float32Array {
  const [a, b] = p.timeline;
  const d = { TA: a.TA - b.TA, MQ: a.MQ - b.MQ, VQ: a.VQ - b.VQ, OA: a.overall - b.overall };
  const turn = Math.min(3, Math.max(0, p.turn));
  const rec = p.recommend;
  const asks = (kinds: readonly string[]): number => ((p.spec?.objects ?? []).some((o) => o.event !== undefined && kinds.includes(o.event.kind)) ? 1 : 0);
  const values = [
    ...videoFeatures(a, p.signals[0], p.seen[0], p.counts[0], p.spec),
    ...videoFeatures(b, p.signals[1], p.seen[1], p.counts[1], p.spec),
    ...askedWindows(p.spec),
    asks(['recolour']),
    asks(['flash']),
    asks(['turn']),
    asks(['appear', 'leave']),
    clip(d.TA * 5, -3, 3),
    clip(d.MQ * 5, -3, 3),
    clip(d.VQ * 5, -3, 3),
    clip(d.OA * 10, -3, 3),
    Math.tanh(d.TA / 0.04),
    Math.tanh(d.MQ / 0.1),
    Math.tanh(d.VQ / 0.1),
    Math.tanh(d.OA / 0.03),
    clip(Math.abs(d.OA) * 10, 0, 3),
    turn === 0 ? 1 : 0,
    turn === 1 ? 1 : 0,
    turn === 2 ? 1 : 0,
    turn === 3 ? 1 : 0,
    clip(p.toolCallsLeft / 3, 0, 1),
    p.lastCallFailed ? 1 : 0,
    rec === null ? 0 : 1,
    ...(['TA', 'MQ', 'VQ', 'OA'] as const).flatMap((dim) => [0, 1, 2].map((v) => (rec !== null && rec[dim] === v ? 1 : 0))),
    (p.spec?.objects.length ?? 1) >= 2 ? 1 : 0,
    p.spec === null ? 0 : 1,
  ];
  const out = new Float32Array(TEMPORAL_FEATURE_NAMES.length);
  values.forEach((v, i) => {
    out[i] = clip(v, -3, 3);
  });
  return out;
}
