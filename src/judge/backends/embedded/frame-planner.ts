/**
 * Where the embedded judge looks next in world v2 (thinking with images): from what the seen frames say, it asks for
 * the frames that settle an open question, most decisive first, within one call's frame budget:
 *   1. the edges of an asked event's time window, when a change was seen in a bracket that straddles an edge
 *      (bracketing: is the change on time?);
 *   2. the asked window of a brief event not seen yet (a flash leaves no cue outside its moment), densely;
 *   3. the asked window of a turn not seen yet (edges and middle, where a bend would show);
 *   4. a sweep of the widest unseen stretches of both videos, for what leaves no cue (dropouts, bursts, flicker); it
 *      can favour the video now in the lead (a defect found there could overturn the answer), but an uneven sweep
 *      finds more defects in one video than the other, so the default shares it evenly.
 * The `random` planner, the benchmark's control, picks unseen frames at random with the same budget.
 */
import type { Rng } from '../../../common/rng.js';
import { EVENT_TIMES, EVENT_TIME_TOLERANCE, FLASH_SPAN, type PromptSpec } from '../../../world/index.js';
import type { TimelineEvidence } from './timeline.js';

export interface PlannedVideo {
  /** Global index of the video's first frame minus one (video k's frame i is global offset + i + 1). */
  readonly offset: number;
  readonly count: number;
  /** 0-based frames of this video seen so far. */
  readonly seen: ReadonlySet<number>;
  readonly evidence: TimelineEvidence;
}

interface Candidate {
  readonly video: number;
  readonly frame: number;
  readonly priority: number;
}

/** Frames of the window [lo, hi] (clip fractions) of a video of `count` frames, every `stride`-th. */
function windowFrames(count: number, lo: number, hi: number, stride: number): number[] {
  const span = count - 1;
  const a = Math.max(0, Math.ceil(lo * span));
  const b = Math.min(span, Math.floor(hi * span));
  const out: number[] = [];
  for (let f = a; f <= b; f += stride) out.push(f);
  return out;
}

/**
 * Sweep order for a video: repeatedly the middle of the widest unseen stretch, nudged by one frame towards the parity
 * seen less (flicker alternates frame by frame, so its measure needs both even and odd frames).
 */
function sweepOrder(count: number, seen: ReadonlySet<number>, n: number): number[] {
  const taken = new Set(seen);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const odd = [...taken].filter((f) => f % 2 === 1).length;
    const wantOdd = odd * 2 < taken.size;
    const sorted = [-1, ...[...taken].sort((a, b) => a - b), count];
    let best: { lo: number; hi: number } | null = null;
    for (let j = 0; j + 1 < sorted.length; j++) {
      const lo = sorted[j] ?? 0;
      const hi = sorted[j + 1] ?? 0;
      if (hi - lo > 1 && (best === null || hi - lo > best.hi - best.lo)) best = { lo, hi };
    }
    if (best === null) break;
    let mid = Math.floor((best.lo + best.hi) / 2);
    if ((mid % 2 === 1) !== wantOdd && mid + 1 < best.hi) mid += 1;
    taken.add(mid);
    out.push(mid);
  }
  return out;
}

function questions(prompt: PromptSpec, v: PlannedVideo, k: number): Candidate[] {
  const out: Candidate[] = [];
  const span = v.count - 1;
  prompt.objects.forEach((want, j) => {
    const ask = want.event;
    const got = v.evidence.objects[j]?.detected ?? null;
    if (ask === undefined) return;
    const w = EVENT_TIMES[ask.when];
    const lo = w - EVENT_TIME_TOLERANCE;
    const hi = w + EVENT_TIME_TOLERANCE;
    if (got !== null && got.kind === ask.kind) {
      // Is the change on time? Look at the window's edges when the bracket straddles one of them.
      const before = got.bracket.before / span;
      const after = got.bracket.after / span;
      const lastBeforeWindow = Math.ceil(lo * span) - 1;
      const lastInWindow = Math.floor(hi * span);
      if (before < lo && after >= lo && lastBeforeWindow > got.bracket.before && lastBeforeWindow < got.bracket.after)
        out.push({ video: k, frame: lastBeforeWindow, priority: 4 });
      if (before <= hi && after > hi && lastInWindow > got.bracket.before && lastInWindow < got.bracket.after)
        out.push({ video: k, frame: lastInWindow, priority: 4 });
      // Otherwise halve a wide bracket that sits across the window, to place the change.
      if (got.bracket.after - got.bracket.before > 4 && before < hi && after > lo) {
        out.push({ video: k, frame: Math.floor((got.bracket.before + got.bracket.after) / 2), priority: 2.5 });
      }
      return;
    }
    if (got !== null) return; // another kind of change was seen: the asked event is already wrong
    if (ask.kind === 'flash') {
      for (const f of windowFrames(v.count, lo, hi + FLASH_SPAN, 2)) out.push({ video: k, frame: f, priority: 3 });
    } else if (ask.kind === 'turn') {
      for (const f of windowFrames(v.count, lo, hi, Math.max(2, Math.round((hi - lo) * span) / 2))) out.push({ video: k, frame: f, priority: 2 });
    }
  });
  return out.filter((c) => !v.seen.has(c.frame));
}

/** Whether any video has an open question about an asked event (frames the planner would ask for first). */
export function hasOpenQuestions(prompt: PromptSpec | null, videos: readonly PlannedVideo[]): boolean {
  return prompt !== null && videos.some((v, k) => questions(prompt, v, k).length > 0);
}

/**
 * The frames to ask for next (global 1-based indices, sorted), at most `maxFrames`: open questions first, then a
 * sweep; `leader` (index of the video now judged better, or null for even) gets `leaderShare` of the sweep.
 */
export function planFrames(
  prompt: PromptSpec | null,
  videos: readonly PlannedVideo[],
  maxFrames: number,
  leader: number | null = null,
  leaderShare = 0.5,
): number[] {
  const picked = new Map<string, Candidate>();
  const key = (c: Candidate): string => `${c.video}:${c.frame}`;
  const candidates = prompt === null ? [] : videos.flatMap((v, k) => questions(prompt, v, k));
  candidates.sort((a, b) => b.priority - a.priority || a.video - b.video || a.frame - b.frame);
  for (const c of candidates) {
    if (picked.size >= maxFrames) break;
    picked.set(key(c), c);
  }
  // Sweep what is left of the budget around frames already planned: the leader's share first, then alternating.
  const sweeps = videos.map((v, k) => {
    const planned = new Set([...v.seen, ...[...picked.values()].filter((c) => c.video === k).map((c) => c.frame)]);
    return sweepOrder(v.count, planned, maxFrames);
  });
  const next = sweeps.map(() => 0);
  const take = (k: number): boolean => {
    const f = sweeps[k]?.[next[k] ?? 0];
    if (f === undefined) return false;
    next[k] = (next[k] ?? 0) + 1;
    picked.set(key({ video: k, frame: f, priority: 1 }), { video: k, frame: f, priority: 1 });
    return true;
  };
  if (leader !== null && videos.length > 1) {
    const share = Math.round((maxFrames - picked.size) * leaderShare);
    for (let i = 0; i < share && picked.size < maxFrames; i++) if (!take(leader)) break;
  }
  for (let round = 0; picked.size < maxFrames && round < maxFrames; round++) {
    let any = false;
    for (let k = 0; k < videos.length && picked.size < maxFrames; k++) any = take(k) || any;
    if (!any) break;
  }
  return [...picked.values()].map((c) => (videos[c.video]?.offset ?? 0) + c.frame + 1).sort((a, b) => a - b);
}

/** The control: `maxFrames` unseen frames drawn at random over both videos. */
export function planRandomFrames(videos: readonly Pick<PlannedVideo, 'offset' | 'count' | 'seen'>[], maxFrames: number, rng: Rng): number[] {
  const unseen = videos.flatMap((v) =>
    Array.from({ length: v.count }, (_, i) => i)
      .filter((i) => !v.seen.has(i))
      .map((i) => v.offset + i + 1),
  );
  return rng
    .shuffle(unseen)
    .slice(0, maxFrames)
    .sort((a, b) => a - b);
}
