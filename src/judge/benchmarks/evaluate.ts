/**
 * Runs a benchmark through a judge: resolves every video under the data folder first (an escape ends the run before
 * anything is judged), then judges the pairs with at most `concurrency` in flight, recording each verdict or failure,
 * and computes the accuracy report. Where the verdicts come from (an in-process judge, a reward server) is the
 * caller's {@link PairJudge}.
 */
import { VrGrpoError, isVrGrpoError } from '../../errors/index.js';
import type { Media } from '../../media/index.js';
import type { JudgeOptions, VerdictAnswer } from '../../protocol/index.js';
import { FileFrameSource } from '../frame-source.js';
import type { JudgeService } from '../judge-service.js';
import { UNEXPECTED_FAILURE, computeAccuracy, type AccuracyReport, type PairOutcome, type ScoredPair } from './accuracy.js';
import type { BenchmarkPair } from './types.js';
import { resolveVideo, type ResolvedVideo } from './video-paths.js';

/** Most pairs judged at once. */
export const MAX_EVAL_CONCURRENCY = 64;

/** Judges one pair: the two videos' real paths (video 1 first), in pairwise mode. Rejects with a VrGrpoError on failure. */
export type PairJudge = (pair: BenchmarkPair, files: readonly [string, string], signal: AbortSignal) => Promise<VerdictAnswer>;

/** The answer of a pairwise verdict; NO_ANSWER when it carries none (never a default). */
export function pairwiseAnswer(answer: VerdictAnswer | null, id: string): VerdictAnswer {
  if (answer === null) throw new VrGrpoError('NO_ANSWER', `${id}: the pairwise verdict carries no answer`, { details: { reason: 'no answer' } });
  return answer;
}

/**
 * A {@link PairJudge} over an in-process judge service: each video file is decoded through the media adapter the way
 * `vr-grpo judge` decodes files (once per pair, at its own size, on first use).
 */
export function servicePairJudge(service: JudgeService, media: Media, options: JudgeOptions = {}): PairJudge {
  return async (pair, files, signal) => {
    const videos = files.map((f) => new FileFrameSource(media, f));
    const j = await service.judge({ id: pair.id, prompt: pair.prompt, mode: 'pairwise', videos, options }, { signal });
    return pairwiseAnswer(j.answer, pair.id);
  };
}

export interface ResolvedPair {
  readonly pair: BenchmarkPair;
  readonly videos: readonly [ResolvedVideo, ResolvedVideo];
}

export interface PairResult {
  readonly id: string;
  readonly gold: BenchmarkPair['gold'];
  readonly outcome: PairOutcome;
  /** The failure's message (failed pairs only). */
  readonly message?: string;
}

export interface EvaluateOptions {
  readonly judge: PairJudge;
  /** Pairs judged at once, 1..{@link MAX_EVAL_CONCURRENCY}. */
  readonly concurrency: number;
  /** Called after each pair (in completion order). */
  readonly onPair?: (result: PairResult, done: number) => void;
  /** Stops starting new pairs and aborts the ones in flight; `evaluateBenchmark` then rejects with the reason. */
  readonly signal?: AbortSignal;
}

export interface Evaluation {
  /** Per pair, in file order. */
  readonly results: readonly PairResult[];
  readonly report: AccuracyReport;
}

/** Every pair's videos under `root` (a real path). FORBIDDEN_PATH, naming the pair, for the first that leaves it. */
export function resolvePairs(root: string, pairs: readonly BenchmarkPair[]): ResolvedPair[] {
  return pairs.map((pair) => ({
    pair,
    videos: [resolveVideo(root, pair.videoA, `${pair.id} video 1`), resolveVideo(root, pair.videoB, `${pair.id} video 2`)] as const,
  }));
}

function failure(error: unknown): { outcome: PairOutcome; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  return { outcome: { kind: 'failed', code: isVrGrpoError(error) ? error.code : UNEXPECTED_FAILURE }, message };
}

async function judgeOne(r: ResolvedPair, judge: PairJudge, signal: AbortSignal): Promise<PairResult> {
  const base = { id: r.pair.id, gold: r.pair.gold };
  const missing = r.videos.find((v) => v.kind === 'missing');
  if (missing !== undefined) {
    const message = `${r.pair.id}: video ${missing.path} does not exist`;
    return { ...base, outcome: { kind: 'failed', code: 'VIDEO_DECODE_FAILED' }, message };
  }
  try {
    const answer = await judge(r.pair, [r.videos[0].path, r.videos[1].path], signal);
    return { ...base, outcome: { kind: 'verdict', answer } };
  } catch (error) {
    return { ...base, ...failure(error) };
  }
}

/** Judges `pairs` with bounded concurrency and scores the verdicts. Judge failures are recorded, never thrown. */
export async function evaluateBenchmark(pairs: readonly ResolvedPair[], options: EvaluateOptions): Promise<Evaluation> {
  const { concurrency } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_EVAL_CONCURRENCY) {
    throw new VrGrpoError('INVALID_ARGUMENT', `concurrency: expected an integer in 1..${MAX_EVAL_CONCURRENCY}, got ${String(concurrency)}`);
  }
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted === true) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const results: (PairResult | undefined)[] = new Array<PairResult | undefined>(pairs.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      const i = next++;
      const r = pairs[i];
      if (r === undefined) return;
      const result = await judgeOne(r, options.judge, controller.signal);
      results[i] = result;
      done += 1;
      options.onPair?.(result, done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pairs.length) }, () => worker()));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (controller.signal.aborted) {
    const reason: unknown = controller.signal.reason;
    throw reason instanceof Error ? reason : new VrGrpoError('ABORTED', 'benchmark evaluation aborted', { details: { reason: 'aborted' } });
  }
  const complete = results.filter((r): r is PairResult => r !== undefined);
  const scored: ScoredPair[] = complete.map((r) => ({ gold: r.gold, outcome: r.outcome }));
  return { results: complete, report: computeAccuracy(scored) };
}
