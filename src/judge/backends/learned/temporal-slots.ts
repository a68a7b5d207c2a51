/**
 * Frame slots of the `temporal` layout (world v2): slot s is the s-th eighth of the clip's time, in both videos of the
 * pair. Choosing it asks `select_frames` for one frame of each video in that eighth: the unseen frame farthest from
 * every frame of that video seen so far (a sweep: it splits the widest unseen stretch), ties towards the eighth's
 * centre. The eighths line up with the world's event windows (`early` = eighths 2–3, `halfway` 4–5, `late` 6–7 of 8),
 * so a policy can look where an asked event should be, and both videos are looked at alike (an uneven look finds more
 * defects in one video and biases the comparison).
 */
import { videoOffsets } from './slots.js';

/** Eighths of the clip. */
export const TEMPORAL_SEGMENTS = 8;
/** One frame per video. */
export const TEMPORAL_FRAMES_PER_SLOT = 2;

/** 0-based frame range `[start, end)` of eighth `segment` of a video with `count` frames. */
export function timeSegmentRange(count: number, segment: number): readonly [number, number] {
  return [Math.floor((segment * count) / TEMPORAL_SEGMENTS), Math.floor(((segment + 1) * count) / TEMPORAL_SEGMENTS)];
}

/** The eighth a 0-based frame of a video of `count` frames falls in. */
export function timeSegmentOf(frame: number, count: number): number {
  for (let s = 0; s < TEMPORAL_SEGMENTS; s++) {
    const [a, b] = timeSegmentRange(count, s);
    if (frame >= a && frame < b) return s;
  }
  return TEMPORAL_SEGMENTS - 1;
}

/** The 0-based frame of one video's eighth to look at next, or null when the eighth is seen (or empty). */
function sweepFrame(count: number, segment: number, seen: ReadonlySet<number>): number | null {
  const [a, b] = timeSegmentRange(count, segment);
  const seenList = [...seen];
  const centre = (a + b - 1) / 2;
  let best: number | null = null;
  let bestDist = -1;
  for (let f = a; f < b; f++) {
    if (seen.has(f)) continue;
    const dist = seenList.reduce((m, s) => Math.min(m, Math.abs(f - s)), count);
    if (dist > bestDist || (dist === bestDist && best !== null && Math.abs(f - centre) < Math.abs(best - centre))) {
      best = f;
      bestDist = dist;
    }
  }
  return best;
}

/**
 * The 1-based frames (shared index space) slot `slot` asks for, given the frames seen or already chosen in this call
 * (`taken`, 1-based). When the eighth is seen in both videos, its centre in video 1 is looked at again.
 */
export function temporalSlotFrames(slot: number, counts: readonly number[], taken: ReadonlySet<number>): number[] {
  const offsets = videoOffsets(counts);
  const out: number[] = [];
  counts.slice(0, 2).forEach((count, v) => {
    const offset = offsets[v] ?? 0;
    const seen = new Set([...taken].filter((g) => g > offset && g <= offset + count).map((g) => g - offset - 1));
    const f = sweepFrame(count, slot, seen);
    if (f !== null) out.push(f + offset + 1);
  });
  if (out.length === 0) {
    const [a, b] = timeSegmentRange(counts[0] ?? 0, slot);
    if (b > a) out.push(Math.floor((a + b - 1) / 2) + 1);
  }
  return out;
}

/** The slot (eighth) a 1-based frame of the shared index space falls in, or null outside the videos. */
export function temporalSlotOfFrame(frame: number, counts: readonly number[]): number | null {
  const offsets = videoOffsets(counts);
  for (let v = 0; v < Math.min(counts.length, 2); v++) {
    const local = frame - 1 - (offsets[v] ?? 0);
    const count = counts[v] ?? 0;
    if (local >= 0 && local < count) return timeSegmentOf(local, count);
  }
  return null;
}
