/**
 * A judge trace as training sees it: the policy turns (features, constraint, action, log-probability), the answer of
 * every turn in order (recommended answers, then the final one), and what the engine reported (tool calls, frames
 * viewed, format errors, forced answers, hallucinations).
 */
import type { RecordedStep } from '../judge/backends/learned/index.js';
import type { Hallucination, VerdictAnswer } from '../protocol/index.js';
import type { GoldPreferences } from './gold-pairs.js';

export interface Trace {
  readonly pairId: string;
  readonly gold: GoldPreferences;
  /** World v2: the pair's overall preference is decided by evidence local in time only (absent in world v1). */
  readonly local?: boolean;
  /** The turns the policy (or the teacher, projected onto the policy's actions) took. */
  readonly steps: readonly RecordedStep[];
  /** The answer of each turn in order: recommended answers of tool turns, then the final answer. */
  readonly answers: readonly VerdictAnswer[];
  /** The verdict's answer (null when the judgment failed). */
  readonly final: VerdictAnswer | null;
  readonly toolCalls: number;
  /** Tool calls that showed frames (not error turns). */
  readonly successfulCalls: number;
  /** Frames viewed over both videos (initial + selected). */
  readonly framesViewed: number;
  readonly formatErrors: number;
  readonly forced: boolean;
  readonly hallucinations: readonly Hallucination[];
  /** The judgment failed (no verdict). */
  readonly failed: boolean;
  /** Teacher turns the policy's actions cannot express (0 for policy traces). */
  readonly unrepresentable: number;
}

/** The trace looked at frames beyond the initial ones (at least one tool call showed frames). */
export const explored = (t: Trace): boolean => t.successfulCalls > 0;
