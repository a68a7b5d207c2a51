/**
 * Candidate frame slots of the learned judge: each video of a pair is cut into SEGMENTS_PER_VIDEO equal segments of
 * its frames, and a slot is one segment of one video (slot = video · SEGMENTS_PER_VIDEO + segment). Choosing a slot
 * asks `select_frames` for FRAMES_PER_SLOT adjacent frames in the middle of the longest run of not yet seen frames of
 * that segment (adjacent, so jitter and flicker become measurable); a segment already fully seen is looked at again in
 * its centre. The policy's frame choice is thus a factorised choice over slots, mapped deterministically to indices
 * in the judgment's shared 1-based index space.
 */

export const SEGMENTS_PER_VIDEO = 4;
/** Videos of a pairwise judgment. */
export const VIDEOS_PER_PAIR = 2;
export const SLOT_COUNT = VIDEOS_PER_PAIR * SEGMENTS_PER_VIDEO;
/** Frames a slot asks for. */
export const FRAMES_PER_SLOT = 2;

/** 0-based frame range `[start, end)` of `segment` of a video with `count` frames. */
export function segmentRange(count: number, segment: number): readonly [number, number] {
  return [Math.floor((segment * count) / SEGMENTS_PER_VIDEO), Math.floor(((segment + 1) * count) / SEGMENTS_PER_VIDEO)];
}

/** Offsets of each video in the shared index space (video k holds offset+1 … offset+count). */
export function videoOffsets(counts: readonly number[]): number[] {
  const out: number[] = [];
  let total = 0;
  for (const c of counts) {
    out.push(total);
    total += c;
  }
  return out;
}

/**
 * The 1-based frames slot `slot` asks for, given the frames already seen or already chosen in this call (`taken`,
 * 1-based). Empty only for a segment without frames (videos shorter than SEGMENTS_PER_VIDEO frames).
 */
export function slotFrames(slot: number, counts: readonly number[], taken: ReadonlySet<number>): number[] {
  const video = Math.floor(slot / SEGMENTS_PER_VIDEO);
  const segment = slot % SEGMENTS_PER_VIDEO;
  const count = counts[video] ?? 0;
  const offset = videoOffsets(counts)[video] ?? 0;
  const [start, end] = segmentRange(count, segment);
  if (end <= start) return [];
  const runs: { start: number; len: number }[] = [];
  for (let f = start; f < end; f++) {
    if (taken.has(f + offset + 1)) continue;
    const last = runs.at(-1);
    if (last !== undefined && last.start + last.len === f) last.len += 1;
    else runs.push({ start: f, len: 1 });
  }
  const centre = (start + end - 1) / 2;
  let pick: { start: number; len: number };
  if (runs.length === 0) pick = { start, len: end - start };
  else {
    pick = runs.reduce((best, r) => {
      if (r.len !== best.len) return r.len > best.len ? r : best;
      const d = (x: { start: number; len: number }): number => Math.abs(x.start + (x.len - 1) / 2 - centre);
      return d(r) < d(best) ? r : best;
    });
  }
  const m = Math.min(FRAMES_PER_SLOT, pick.len);
  const first = pick.start + Math.floor((pick.len - m) / 2);
  return Array.from({ length: m }, (_, i) => first + i + offset + 1);
}

/** The slot a 1-based frame of the shared index space falls in, or null when it is outside the videos. */
export function slotOfFrame(frame: number, counts: readonly number[]): number | null {
  const offsets = videoOffsets(counts);
  for (let v = 0; v < Math.min(counts.length, VIDEOS_PER_PAIR); v++) {
    const local = frame - 1 - (offsets[v] ?? 0);
    const count = counts[v] ?? 0;
    if (local < 0 || local >= count) continue;
    for (let s = 0; s < SEGMENTS_PER_VIDEO; s++) {
      const [a, b] = segmentRange(count, s);
      if (local >= a && local < b) return v * SEGMENTS_PER_VIDEO + s;
    }
  }
  return null;
}

/** Projects a list of 1-based frames onto slots (a slot is on when any frame falls in it): how teacher selections are imitated. */
export function framesToSlots(frames: readonly number[], counts: readonly number[]): boolean[] {
  const on = new Array<boolean>(SLOT_COUNT).fill(false);
  for (const f of frames) {
    const s = slotOfFrame(f, counts);
    if (s !== null) on[s] = true;
  }
  return on;
}
