/**
 * What the dashboard shows, as the coordinator produces it: step records (`metrics.jsonl` lines), events
 * (`events.jsonl` lines) and sampled groups. Declared structurally here so the dashboard depends on the protocol only;
 * the coordinator's `StepMetrics` and `SampledGroup` are assignable to these (a type test keeps it so).
 */
import type { PairwiseDimension, Preference, VerdictMessage } from '../protocol/index.js';
import type { FrameStripRecord } from './frame-strip.js';

/** One line of `metrics.jsonl`: `step` plus whatever the coordinator measured (reward, goldAccuracy, kl, drift…). */
export interface StepRecord {
  readonly step: number;
  readonly [key: string]: unknown;
}

/** One line of `events.jsonl`: `{time, event: 'start' | 'checkpoint' | 'rm_version_change' | 'drift' | …, …}`. */
export type EventRecord = Readonly<Record<string, unknown>>;

/** One video of a sampled group; `mp4` is relative to the run directory (`videos/step-000025/v3.mp4`). */
export interface GroupVideoRecord {
  readonly id: string;
  readonly mp4: string;
  /** Combined reward; NaN = masked. */
  readonly reward: number;
  readonly perDimension: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>>;
  readonly advantage: number | null;
  readonly goldAccuracy: number | null;
  /** Frames in the clip (the length of its timeline). */
  readonly frameCount?: number;
  /** Gold scores of the video (embedded world), else null. */
  readonly gold?: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>> | null;
  /** Thumbnails of every frame any verdict of the group viewed of this video; null when none were written. */
  readonly thumbnails?: FrameStripRecord | null;
}

/** A comparison against gold: gold preference per dimension, the judge's credit where gold decided (1, ½, 0). */
export interface ComparisonGoldRecord {
  readonly preference: Readonly<Record<PairwiseDimension, Preference>>;
  readonly credit: Readonly<Partial<Record<PairwiseDimension, 0 | 0.5 | 1>>>;
}

/** One pairwise comparison of the group: video indices (`first` was shown as video 1) and its verdict. */
export interface ComparisonRecord {
  readonly first: number;
  readonly second: number;
  /** Index of the comparison's verdict in the group's `verdicts`. */
  readonly verdict: number;
  /** null: no gold for one of the videos (prompt outside the world's grammar). */
  readonly gold: ComparisonGoldRecord | null;
}

/** Agreement of the judge with gold over the group's comparisons, per dimension. */
export interface JudgeGoldRecord {
  readonly comparisons: number;
  readonly byDimension: Readonly<
    Record<PairwiseDimension, { readonly credit: number; readonly decided: number; readonly goldTies: number; readonly accuracy: number | null }>
  >;
}

/** The latest sampled group of a step: its videos with rewards and the verdicts (with reasoning turns when traced). */
export interface GroupRecord {
  readonly step: number;
  readonly prompt: string;
  readonly videos: readonly GroupVideoRecord[];
  readonly verdicts: readonly VerdictMessage[];
  /** Pairwise mode: the group's successful comparisons (empty in pointwise mode). */
  readonly comparisons?: readonly ComparisonRecord[];
  /** Pairwise mode with gold: the judge's agreement with gold over `comparisons`; else null. */
  readonly judgeGold?: JudgeGoldRecord | null;
}

/** An event as the dashboard keeps it: the record plus `atStep`, the last step published before it (0 before any). */
export type FeedEvent = EventRecord & { readonly atStep: number };

/** A message of the live feed, numbered in publication order (`seq` is the SSE event id). */
export type FeedMessage =
  | { readonly seq: number; readonly type: 'step'; readonly data: StepRecord }
  | { readonly seq: number; readonly type: 'event'; readonly data: FeedEvent }
  | { readonly seq: number; readonly type: 'group'; readonly data: GroupRecord };

/** `GET /api/history`: everything retained so far, each list in publication order; `seq` = the last message's number. */
export interface HistoryBody {
  readonly title: string;
  readonly seq: number;
  readonly steps: readonly StepRecord[];
  readonly events: readonly FeedEvent[];
  readonly groups: readonly GroupRecord[];
}
