/**
 * What the dashboard shows, as the coordinator produces it: step records (`metrics.jsonl` lines), events
 * (`events.jsonl` lines) and sampled groups. Declared structurally here so the dashboard depends on the protocol only;
 * the coordinator's `StepMetrics` and `SampledGroup` are assignable to these (a type test keeps it so).
 */
import type { VerdictMessage } from '../protocol/index.js';

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
}

/** The latest sampled group of a step: its videos with rewards and the verdicts (with reasoning turns when traced). */
export interface GroupRecord {
  readonly step: number;
  readonly prompt: string;
  readonly videos: readonly GroupVideoRecord[];
  readonly verdicts: readonly VerdictMessage[];
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
