/** Judgment vocabulary shared by every process: dimensions, answers, verdict parts (VR-Thinker conventions). */
import { z } from 'zod';

/** Per-dimension pairwise answers: 1 = first video better, 2 = second better, 0 = tie. */
export const PAIRWISE_DIMENSIONS = ['TA', 'MQ', 'VQ', 'OA'] as const;
export type PairwiseDimension = (typeof PAIRWISE_DIMENSIONS)[number];
export type Preference = 0 | 1 | 2;
/** Confidence: 1 high … 3 low. */
export type Confidence = 1 | 2 | 3;

export const preferenceSchema = z.union([z.literal(0), z.literal(1), z.literal(2)]);
export const confidenceSchema = z.union([z.literal(1), z.literal(2), z.literal(3)]);

export const pairwiseAnswerSchema = z.object({
  TA: preferenceSchema,
  MQ: preferenceSchema,
  VQ: preferenceSchema,
  OA: preferenceSchema,
  CF: confidenceSchema,
});
/** A complete pairwise answer: every dimension and a confidence (what the project's own judges always give). */
export type PairwiseAnswer = z.infer<typeof pairwiseAnswerSchema>;

/**
 * What a verdict carries: the overall preference always, and TA / MQ / VQ / CF only when the judge said them. The
 * released VR-Thinker often ends in a bare `\boxed{n}` (overall only) or an answer without CF; the missing values are
 * absent, never copied from OA. A complete {@link PairwiseAnswer} is one of these.
 */
export const verdictAnswerSchema = z.object({
  TA: preferenceSchema.optional(),
  MQ: preferenceSchema.optional(),
  VQ: preferenceSchema.optional(),
  OA: preferenceSchema,
  CF: confidenceSchema.optional(),
});
export type VerdictAnswer = z.infer<typeof verdictAnswerSchema>;

/** The per-dimension answers of a verdict that the judge gave, in PAIRWISE_DIMENSIONS order. */
export function givenDimensions(a: VerdictAnswer): PairwiseDimension[] {
  return PAIRWISE_DIMENSIONS.filter((d) => a[d] !== undefined);
}

/** Pointwise scores of one video, each in [0, 1] (1 best): text alignment, motion quality, visual quality, overall. */
export const pointwiseScoresSchema = z.object({
  TA: z.number().min(0).max(1),
  MQ: z.number().min(0).max(1),
  VQ: z.number().min(0).max(1),
  overall: z.number().min(0).max(1),
});
export type PointwiseScores = z.infer<typeof pointwiseScoresSchema>;

/**
 * Scores of one video in a verdict: pointwise scores, or in pairwise mode scores derived from the answer (better 1,
 * tie 0.5, worse 0) — there TA / MQ / VQ are absent when the judge did not give them.
 */
export const verdictScoresSchema = pointwiseScoresSchema.partial({ TA: true, MQ: true, VQ: true });
export type VerdictScores = z.infer<typeof verdictScoresSchema>;

export const HALLUCINATION_KINDS = [
  /** The text cites a frame number that was never shown to the judge. */
  'unseen_frame_reference',
  /** A select_frames call asked for invalid frames (out of range, too many, malformed). */
  'invalid_selection',
  /** The overall answer contradicts unanimous per-dimension answers. */
  'inconsistent_answer',
  /** Judged in both orders, the preference did not swap with the videos. */
  'order_flip',
  /** A sampled re-judgment with all frames disagrees with the verdict. */
  'audit_disagreement',
] as const;
export type HallucinationKind = (typeof HALLUCINATION_KINDS)[number];

export const hallucinationSchema = z.object({ kind: z.enum(HALLUCINATION_KINDS), detail: z.string() });
export type Hallucination = z.infer<typeof hallucinationSchema>;

/** One turn of the judge's conversation. `framesShown`: the 1-based frame indices whose images the backend saw in this turn's input. */
export const turnSchema = z.object({
  index: z.number().int().nonnegative(),
  role: z.enum(['assistant', 'tool']),
  text: z.string(),
  framesShown: z.array(z.number().int()),
});
export type Turn = z.infer<typeof turnSchema>;
