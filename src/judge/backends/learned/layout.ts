/**
 * The learned judge's observation and frame-slot layouts. `v1` (world v1, 24-frame clips whose evidence holds for the
 * whole clip): the features of features.ts and slots of 4 segments per video (slots.ts). `temporal` (world v2, clips
 * with events at a moment and defects that last a few frames): the timeline features of temporal-features.ts and
 * slots that are the 8 eighths of the clip's time, each asking one frame of either video (temporal-slots.ts) — the
 * eighths line up with the world's event windows (early, halfway, late are two eighths each). Both have SLOT_COUNT
 * slots, so the action heads are the same; the feature vector differs in size. A checkpoint records its layout
 * (`actions.layout`, absent = `v1`).
 */
import { FEATURE_NAMES } from './features.js';
import { FRAMES_PER_SLOT, SEGMENTS_PER_VIDEO, SLOT_COUNT, slotFrames, slotOfFrame } from './slots.js';
import { TEMPORAL_FEATURE_NAMES } from './temporal-features.js';
import { TEMPORAL_FRAMES_PER_SLOT, TEMPORAL_SEGMENTS, temporalSlotFrames, temporalSlotOfFrame } from './temporal-slots.js';

export const LAYOUT_NAMES = ['v1', 'temporal'] as const;
export type LayoutName = (typeof LAYOUT_NAMES)[number];

export interface JudgeLayout {
  readonly name: LayoutName;
  readonly featureNames: readonly string[];
  readonly featureSize: number;
  /** v1: segments of each video (a slot is one segment of one video); temporal: eighths of the clip (a slot covers both videos). */
  readonly segmentsPerVideo: number;
  /** Frames one slot asks for (temporal: one per video). */
  readonly framesPerSlot: number;
}

const LAYOUTS: Readonly<Record<LayoutName, JudgeLayout>> = Object.freeze({
  v1: Object.freeze({
    name: 'v1',
    featureNames: FEATURE_NAMES,
    featureSize: FEATURE_NAMES.length,
    segmentsPerVideo: SEGMENTS_PER_VIDEO,
    framesPerSlot: FRAMES_PER_SLOT,
  }),
  temporal: Object.freeze({
    name: 'temporal',
    featureNames: TEMPORAL_FEATURE_NAMES,
    featureSize: TEMPORAL_FEATURE_NAMES.length,
    segmentsPerVideo: TEMPORAL_SEGMENTS,
    framesPerSlot: TEMPORAL_FRAMES_PER_SLOT,
  }),
});

export function judgeLayout(name: LayoutName = 'v1'): JudgeLayout {
  return LAYOUTS[name];
}

/** The layout of a world version: v1 → `v1`, v2 → `temporal`. */
export function layoutForWorld(version: 1 | 2): LayoutName {
  return version === 2 ? 'temporal' : 'v1';
}

/** The layout whose feature vector has `size` entries, or null. */
export function layoutOfFeatureSize(size: number): JudgeLayout | null {
  return Object.values(LAYOUTS).find((l) => l.featureSize === size) ?? null;
}

/** The 1-based frames slot `slot` asks for under a layout (see slots.ts and temporal-slots.ts). */
export function slotFramesIn(layout: LayoutName, slot: number, counts: readonly number[], taken: ReadonlySet<number>): number[] {
  return layout === 'temporal' ? temporalSlotFrames(slot, counts, taken) : slotFrames(slot, counts, taken);
}

/** Projects 1-based frames onto a layout's slots (a slot is on when any frame falls in it): how teacher selections are imitated. */
export function framesToSlotsIn(layout: LayoutName, frames: readonly number[], counts: readonly number[]): boolean[] {
  const on = new Array<boolean>(SLOT_COUNT).fill(false);
  for (const f of frames) {
    const s = layout === 'temporal' ? temporalSlotOfFrame(f, counts) : slotOfFrame(f, counts);
    if (s !== null) on[s] = true;
  }
  return on;
}
