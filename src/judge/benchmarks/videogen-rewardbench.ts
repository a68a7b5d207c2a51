/**
 * VideoGen-RewardBench (KwaiVGI / KlingTeam, "Improving Video Generation with Human Feedback", arXiv 2501.13918):
 * `videogen-rewardbench.csv` with one row per (prompt, video A, video B) and a human label per dimension — `A` (video A
 * better), `B`, or `same` (tie) — in the columns `Overall`, `VQ`, `MQ`, `TA`. Video paths (`path_A`, `path_B`, e.g.
 * `videos/kling1.5/kling1.5_00103.mp4`) are relative to the dataset folder (where `videos.zip` was unpacked). Other
 * columns (`A_model`, `B_model`, `fps_A`, `num_frames_A`, `fps_B`, `num_frames_B`, a pandas index) are ignored.
 */
import { z } from 'zod';
import type { Preference } from '../../protocol/index.js';
import type { AnnotationFile } from './annotation-file.js';
import { parseRows } from './rows.js';
import type { BenchmarkPair } from './types.js';

/** Annotation files looked for in the data folder when none is named. */
export const VIDEOGEN_REWARDBENCH_FILES = ['videogen-rewardbench.csv', 'videogen-rewardbench.jsonl', 'videogen-rewardbench.json'] as const;

const LABELS: Readonly<Record<string, Preference>> = { a: 1, b: 2, same: 0 };

const LABEL_MESSAGE = 'expected one of "A", "B", "same"';

/** `A` → 1, `B` → 2, `same` → 0 (any case, surrounding spaces ignored); undefined for an empty cell or no column. */
function readLabel(v: unknown, ctx: z.core.$RefinementCtx<unknown>, required: boolean): Preference | undefined {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) ctx.issues.push({ code: 'custom', message: v === undefined ? 'missing column' : LABEL_MESSAGE, input: v });
    return undefined;
  }
  const p = typeof v === 'string' ? LABELS[v.trim().toLowerCase()] : undefined;
  if (p === undefined) ctx.issues.push({ code: 'custom', message: LABEL_MESSAGE, input: v });
  return p;
}

/** The overall label: required on every row. */
const label = z
  .unknown()
  .optional()
  .transform((v, ctx): Preference => readLabel(v, ctx, true) ?? 0);
/** A per-dimension label; an empty cell (or a missing column) means the pair has no label for that dimension. */
const optionalLabel = z
  .unknown()
  .optional()
  .transform((v, ctx) => readLabel(v, ctx, false));

const text = (max: number): z.ZodString =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'missing column' : 'expected a string') })
    .trim()
    .min(1, { message: 'expected a non-empty string' })
    .max(max);

export const videoGenRewardBenchRowSchema = z.object({
  prompt: text(4000),
  path_A: text(4096),
  path_B: text(4096),
  Overall: label,
  VQ: optionalLabel,
  MQ: optionalLabel,
  TA: optionalLabel,
});

/** The pairs of a VideoGen-RewardBench annotation file; INVALID_ARGUMENT naming line and column for a bad row. */
export function videoGenRewardBenchPairs(file: AnnotationFile): BenchmarkPair[] {
  return parseRows(file, videoGenRewardBenchRowSchema, (row, line) => ({
    id: `videogen-rewardbench:${line}`,
    prompt: row.prompt,
    videoA: row.path_A,
    videoB: row.path_B,
    gold: {
      OA: row.Overall,
      ...(row.VQ === undefined ? {} : { VQ: row.VQ }),
      ...(row.MQ === undefined ? {} : { MQ: row.MQ }),
      ...(row.TA === undefined ? {} : { TA: row.TA }),
    },
  }));
}
