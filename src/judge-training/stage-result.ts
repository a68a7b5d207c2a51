/** What a training stage returns: the trained network (the caller disposes it), its options, what it measured. */
import type { PolicyNet } from './policy-net.js';
import type { JudgeMetrics } from './metrics.js';

export interface StageResult {
  readonly net: PolicyNet;
  readonly training: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, unknown>>;
  /** The policy measured greedily on the validation pairs after the stage. */
  readonly validation: JudgeMetrics;
}
