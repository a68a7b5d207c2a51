/**
 * The learned judge's observation: a fixed-size feature vector built from what the judge has gathered so far — per
 * video the evidence estimates and their certainty (from the frames it has seen, via the embedded perception), the
 * measured quality signals, how much of each segment it has seen; the differences between the videos; the turn index,
 * tool calls left, whether the last call failed, and the answer it currently recommends. Values are scaled to about
 * [-3, 3]. FEATURE_NAMES documents the layout (it is recorded in every checkpoint's manifest).
 */
import type { PairwiseAnswer } from '../../../protocol/index.js';
import type { QualitySignals, VideoEvidence } from '../embedded/evidence.js';
import { SEGMENTS_PER_VIDEO, segmentRange } from './slots.js';

/** Everything the features are computed from. */
export interface ObservationParts {
  /** Evidence of video 1 and video 2 from the frames seen. */
  readonly evidence: readonly [VideoEvidence, VideoEvidence];
  readonly signals: readonly [QualitySignals, QualitySignals];
  /** 0-based frames seen per video. */
  readonly seen: readonly [readonly number[], readonly number[]];
  readonly counts: readonly [number, number];
  /** Assistant turns written before this one (0 on the first turn). */
  readonly turn: number;
  readonly toolCallsLeft: number;
  /** The previous tool call returned an error or no frames. */
  readonly lastCallFailed: boolean;
  /** The answer recommended on the previous tool turn, or null. */
  readonly recommend: PairwiseAnswer | null;
  /** The caption parsed in the world's grammar (else text alignment is uninformative). */
  readonly promptKnown: boolean;
  readonly objects: number;
}

const VIDEO_FEATURES = [
  'TA',
  'MQ',
  'VQ',
  'overall',
  'certainty',
  'background',
  'count',
  'obj1.colour',
  'obj1.shape',
  'obj1.motion',
  'obj1.speed',
  'obj1.hasSpeed',
  'obj1.samples',
  'obj2.present',
  'obj2.colour',
  'obj2.shape',
  'obj2.motion',
  'obj2.speed',
  'obj2.samples',
  'jitter',
  'flicker',
  'blur',
  'noise',
  'signalConfidence',
  'seenFraction',
  ...Array.from({ length: SEGMENTS_PER_VIDEO }, (_, s) => `segment${s + 1}.seen`),
] as const;

const RECOMMEND_FEATURES = (['TA', 'MQ', 'VQ', 'OA'] as const).flatMap((d) => [0, 1, 2].map((v) => `recommend.${d}=${v}`));

/** Names of the feature vector's entries, in order. */
export const FEATURE_NAMES: readonly string[] = Object.freeze([
  ...VIDEO_FEATURES.map((f) => `v1.${f}`),
  ...VIDEO_FEATURES.map((f) => `v2.${f}`),
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

export const FEATURE_SIZE = FEATURE_NAMES.length;

const clip = (x: number, lo: number, hi: number): number => (Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : 0);

function videoFeatures(e: VideoEvidence, q: QualitySignals, seen: readonly number[], count: number): number[] {
  const o1 = e.objects[0];
  const o2 = e.objects[1];
  const seenSet = new Set(seen);
  const coverage = Array.from({ length: SEGMENTS_PER_VIDEO }, (_, s) => {
    const [a, b] = segmentRange(count, s);
    let n = 0;
    for (let f = a; f < b; f++) if (seenSet.has(f)) n += 1;
    return b > a ? n / (b - a) : 0;
  });
  return [
    e.TA,
    e.MQ,
    e.VQ,
    e.overall,
    e.certainty,
    e.background,
    e.count,
    o1?.colour ?? 0,
    o1?.shape ?? 0,
    o1?.motion ?? 0,
    o1?.speed ?? 0.5,
    o1?.speed == null ? 0 : 1,
    clip((o1?.samples ?? 0) / 8, 0, 1),
    o2 === undefined ? 0 : 1,
    o2?.colour ?? 0,
    o2?.shape ?? 0,
    o2?.motion ?? 0,
    o2?.speed ?? 0.5,
    clip((o2?.samples ?? 0) / 8, 0, 1),
    clip(q.jitter, 0, 1.5),
    clip(q.flicker, 0, 1.5),
    clip(q.blur, 0, 1.5),
    clip(q.noise, 0, 1.5),
    clip(q.confidence, 0, 1),
    count > 0 ? seenSet.size / count : 0,
    ...coverage,
  ];
}

/** The feature vector of one observation (length FEATURE_SIZE). */
export function observationFeatures(p: ObservationParts): Float32Array {
  const [a, b] = p.evidence;
  const d = { TA: a.TA - b.TA, MQ: a.MQ - b.MQ, VQ: a.VQ - b.VQ, OA: a.overall - b.overall };
  const turn = Math.min(3, Math.max(0, p.turn));
  const rec = p.recommend;
  const values = [
    ...videoFeatures(a, p.signals[0], p.seen[0], p.counts[0]),
    ...videoFeatures(b, p.signals[1], p.seen[1], p.counts[1]),
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
    p.objects >= 2 ? 1 : 0,
    p.promptKnown ? 1 : 0,
  ];
  const out = new Float32Array(FEATURE_SIZE);
  values.forEach((v, i) => {
    out[i] = clip(v, -3, 3);
  });
  return out;
}
