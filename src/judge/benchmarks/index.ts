/**
 * Video-preference benchmarks for judging the judge: readers for VideoGen-RewardBench and GenAI-Bench (video
 * generation), the accuracy maths (with and without ties), the evaluation loop and the printed report.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VrGrpoError, assertNever } from '../../errors/index.js';
import { readAnnotationFile, type AnnotationFile, type AnnotationFormat } from './annotation-file.js';
import { GENAI_BENCH_FILES, genAiBenchPairs } from './genai-bench.js';
import type { BenchmarkId, BenchmarkPair } from './types.js';
import { VIDEOGEN_REWARDBENCH_FILES, videoGenRewardBenchPairs } from './videogen-rewardbench.js';

export * from './types.js';
export * from './accuracy.js';
export {
  readAnnotationFile,
  detectFormat,
  splitCsv,
  ANNOTATION_FORMATS,
  MAX_ANNOTATION_BYTES,
  type AnnotationFile,
  type AnnotationFormat,
  type AnnotationRow,
} from './annotation-file.js';
export { videoGenRewardBenchPairs, videoGenRewardBenchRowSchema, VIDEOGEN_REWARDBENCH_FILES } from './videogen-rewardbench.js';
export {
  genAiBenchPairs,
  genAiBenchRowSchema,
  genAiBenchVideoPath,
  GENAI_BENCH_FILES,
  GENAI_BENCH_URL_DIR,
  GENAI_BENCH_VOTES,
  type GenAiBenchOptions,
} from './genai-bench.js';
export { resolveVideo, realDataDir, type ResolvedVideo } from './video-paths.js';
export {
  evaluateBenchmark,
  resolvePairs,
  servicePairJudge,
  pairwiseAnswer,
  MAX_EVAL_CONCURRENCY,
  type Evaluation,
  type EvaluateOptions,
  type PairJudge,
  type PairResult,
  type ResolvedPair,
} from './evaluate.js';
export { formatReport, formatRatio, type ReportHeading } from './report.js';

/** Printed names of the benchmarks. */
export const BENCHMARK_TITLES: Readonly<Record<BenchmarkId, string>> = {
  'videogen-rewardbench': 'VideoGen-RewardBench',
  'genai-bench': 'GenAI-Bench (video generation)',
};

export interface LoadBenchmarkOptions {
  readonly bench: BenchmarkId;
  /** The data folder (annotation file and videos). */
  readonly dataDir: string;
  /** The annotation file, relative to the data folder (or absolute). Default: the benchmark's usual names, first found. */
  readonly file?: string;
  /** Force a format instead of detecting it from the extension / first character. */
  readonly format?: AnnotationFormat;
  /** GenAI-Bench: folder under the data folder where videos given as URLs are looked for. */
  readonly urlDir?: string;
}

export interface LoadedBenchmark {
  readonly file: AnnotationFile;
  readonly pairs: readonly BenchmarkPair[];
}

function defaultFiles(bench: BenchmarkId): readonly string[] {
  switch (bench) {
    case 'videogen-rewardbench':
      return VIDEOGEN_REWARDBENCH_FILES;
    case 'genai-bench':
      return GENAI_BENCH_FILES;
    default:
      return assertNever(bench, 'benchmark');
  }
}

/** Reads and parses a benchmark's annotation file. INVALID_ARGUMENT when there is none or a row does not parse. */
export function loadBenchmark(options: LoadBenchmarkOptions): LoadedBenchmark {
  const names = options.file === undefined ? defaultFiles(options.bench) : [options.file];
  const candidates = names.map((n) => resolve(options.dataDir, n));
  const path = candidates.find((c) => existsSync(c));
  if (path === undefined) {
    const tried = names.map((n) => join(options.dataDir, n)).join(', ');
    throw new VrGrpoError('INVALID_ARGUMENT', `${options.bench}: no annotation file found (looked for ${tried}); name one with --file`, { details: { tried } });
  }
  const file = readAnnotationFile(path, options.format);
  switch (options.bench) {
    case 'videogen-rewardbench':
      return { file, pairs: videoGenRewardBenchPairs(file) };
    case 'genai-bench':
      return { file, pairs: genAiBenchPairs(file, options.urlDir === undefined ? {} : { urlDir: options.urlDir }) };
    default:
      return assertNever(options.bench, 'benchmark');
  }
}
