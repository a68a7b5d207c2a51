/**
 * One re-judgment of the anchor set (a fixed list of videos, always in the same order): per dimension, every video's
 * score and their mean, and the RM versions that judged them. Produced by src/coordinator/anchor-set.ts, compared across
 * passes by the drift monitor (mean shift, Kendall τ of the rankings).
 */
export interface AnchorPass {
  /** Training step at which the pass ran (0 = before the first update). */
  readonly step: number;
  /** RM versions that produced the verdicts of this pass. */
  readonly rmVersions: readonly string[];
  /** Anchor video ids, in the order of every score list. */
  readonly videoIds: readonly string[];
  /** Per dimension (`combined`, `TA`, `MQ`, `VQ`, `overall`), per video; NaN = the video's judgment failed. */
  readonly scores: Readonly<Record<string, readonly number[]>>;
  /** Per dimension, the mean over videos with a score. */
  readonly means: Readonly<Record<string, number>>;
  /** Judgments made and failed in this pass. */
  readonly judgments: number;
  readonly failedJudgments: number;
}
