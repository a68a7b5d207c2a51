/**
 * GenAI-Bench, video generation (TIGER-Lab, "GenAI Arena", arXiv 2406.04485): Hugging Face dataset
 * `TIGER-Lab/GenAI-Bench`, subset `video_generation`, split `test_v1` (1 069 votes; `test` is a larger later split).
 * Fields: `prompt`, `left_model`, `left_video`, `right_model`, `right_video`, `vote_type` — one of `leftvote`,
 * `rightvote`, `tievote` (both good), `bothbad_vote` (both bad). Left is video 1, right is video 2; both tie votes are
 * ties. The dataset ships as parquet, and the videos as URLs (Hugging Face `…/blob/<rev>/<file>.mp4` or other http
 * addresses): export the rows to CSV / JSON / JSONL and download the videos first (docs/eval-judge.md). A `left_video`
 * / `right_video` that is a URL is looked for as `<urlDir>/<last path segment of the URL>` under the data folder; any
 * other value is a path relative to the data folder.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import type { Preference } from '../../protocol/index.js';
import type { AnnotationFile } from './annotation-file.js';
import { parseRows } from './rows.js';
import type { BenchmarkPair } from './types.js';

/** Annotation files looked for in the data folder when none is named. */
export const GENAI_BENCH_FILES = ['video_generation.jsonl', 'video_generation.json', 'video_generation.csv'] as const;

/** Folder (under the data folder) where videos given as URLs are looked for, by file name. */
export const GENAI_BENCH_URL_DIR = 'videos';

/** Human vote → gold overall preference. */
export const GENAI_BENCH_VOTES: Readonly<Record<string, Preference>> = Object.freeze({ leftvote: 1, rightvote: 2, tievote: 0, bothbad_vote: 0 });

const VOTE_MESSAGE = `expected one of ${Object.keys(GENAI_BENCH_VOTES)
  .map((v) => JSON.stringify(v))
  .join(', ')}`;

const required = (max: number): z.ZodString =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'missing column' : 'expected a string') })
    .trim()
    .min(1, { message: 'expected a non-empty string' })
    .max(max);

export const genAiBenchRowSchema = z.object({
  prompt: required(4000),
  left_video: required(4096),
  right_video: required(4096),
  vote_type: z
    .unknown()
    .optional()
    .transform((v, ctx): Preference => {
      const p = typeof v === 'string' ? GENAI_BENCH_VOTES[v.trim()] : undefined;
      if (p === undefined) ctx.issues.push({ code: 'custom', message: v === undefined ? 'missing column' : VOTE_MESSAGE, input: v });
      return p ?? 0;
    }),
});

export interface GenAiBenchOptions {
  /** Folder under the data folder holding videos given as URLs. Default {@link GENAI_BENCH_URL_DIR}. */
  readonly urlDir?: string;
}

/** Where a `left_video` / `right_video` value is expected under the data folder. */
export function genAiBenchVideoPath(value: string, urlDir = GENAI_BENCH_URL_DIR): string {
  if (!/^https?:\/\//i.test(value)) return value;
  const name = posix.basename(value.split(/[?#]/)[0] ?? value);
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed %-escape: keep the name as written.
  }
  return posix.join(urlDir, decoded);
}

/** The pairs of a GenAI-Bench video-generation annotation file; INVALID_ARGUMENT naming line and column for a bad row. */
export function genAiBenchPairs(file: AnnotationFile, options: GenAiBenchOptions = {}): BenchmarkPair[] {
  return parseRows(file, genAiBenchRowSchema, (row, line) => ({
    id: `genai-bench:${line}`,
    prompt: row.prompt,
    videoA: genAiBenchVideoPath(row.left_video, options.urlDir),
    videoB: genAiBenchVideoPath(row.right_video, options.urlDir),
    gold: { OA: row.vote_type },
  }));
}
