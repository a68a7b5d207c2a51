/**
 * The run's named seed streams. Every random choice the coordinator makes draws from the config's root seed through
 * its own stream, so adding a consumer never shifts another one's numbers (and a resumed run replays the same ones).
 * The numbers are part of the seeded results: changing one changes every seeded run.
 */
import { deriveSeed } from '../common/rng.js';

export const SEED_STREAMS = Object.freeze({
  /** The training prompt sampler. */
  prompts: 3,
  /** Held-out gold evaluation of the policy (the same prompts and noise at every evaluation). */
  heldOutEvaluation: 5,
  /** A step's rollout: the stream plus the step number. */
  rollout: 1000,
  /** A group's comparison plan: the stream plus the step number, then the group index. */
  judging: 2000,
  /** The anchor set's prompts and its one rollout. */
  anchorPrompts: 6000,
  anchorRollout: 6001,
  /** Audits: which groups of a step are re-judged (the stream plus the step), and each group's judging (then the group). */
  audit: 7000,
  /** A calibrated swap's shadow scoring of recent groups: the stream plus the step, then the group index. */
  shadow: 8000,
});
export type SeedStream = keyof typeof SEED_STREAMS;

/** The seed of `stream` (offset by `offset`, e.g. the step), mixed with further `parts` (e.g. a group index). */
export function streamSeed(rootSeed: number, stream: SeedStream, offset = 0, ...parts: readonly number[]): number {
  return deriveSeed(rootSeed, SEED_STREAMS[stream] + offset, ...parts);
}
