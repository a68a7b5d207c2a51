/** What a reward server calls: one judgment of prompt + videos → a verdict, with optional streamed turns. */
import type { JudgeOptions, Turn, VerdictMessage } from '../protocol/index.js';
import type { FrameSource } from './frame-source.js';

export interface JudgmentRequest {
  readonly id: string;
  readonly prompt: string;
  readonly mode: 'pairwise' | 'pointwise';
  readonly videos: readonly FrameSource[];
  readonly options: JudgeOptions;
}

export interface JudgmentHooks {
  /** Called for each turn as it happens (when the client asked to stream). */
  readonly onTurn?: (turn: Turn) => void;
  /** Aborted when the client goes away or the server stops: the judgment should end early with an error. */
  readonly signal?: AbortSignal;
}

/** A verdict without its envelope (`type`, `id`): the server adds those. */
export type Judgment = Omit<VerdictMessage, 'type' | 'id'>;

export interface JudgeService {
  /** Backend name for `hello`/`status` (e.g. `embedded`, `vlm`). */
  readonly backendName: string;
  /** The judge version that new judgments start on. */
  rmVersion(): string;
  /** Judges; rejects with a VrGrpoError (FORMAT_ERROR, VIDEO_DECODE_FAILED, JUDGE_FAILED, …) on failure, never a default score. */
  judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment>;
  close(): Promise<void>;
}
