/** What every benchmark reader produces: pairs of videos with a prompt and the human preference per dimension. */
import type { PairwiseDimension, Preference } from '../../protocol/index.js';

export const BENCHMARK_IDS = ['videogen-rewardbench', 'genai-bench'] as const;
export type BenchmarkId = (typeof BENCHMARK_IDS)[number];

/**
 * Human preferences of one pair in the judge's vocabulary (1 = first video better, 2 = second, 0 = tie). `OA` is always
 * there; a per-dimension label is absent when the benchmark has none for this pair (GenAI-Bench has overall votes only).
 */
export type GoldLabels = Readonly<{ OA: Preference } & Partial<Record<Exclude<PairwiseDimension, 'OA'>, Preference>>>;

export interface BenchmarkPair {
  /** Stable id within the file: `<bench>:<line>` (line of the record in the annotation file). */
  readonly id: string;
  readonly prompt: string;
  /** Video 1 (VideoGen-RewardBench `path_A`, GenAI-Bench `left_video`), relative to the data folder. */
  readonly videoA: string;
  /** Video 2 (`path_B`, `right_video`), relative to the data folder. */
  readonly videoB: string;
  readonly gold: GoldLabels;
}
