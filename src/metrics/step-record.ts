/**
 * The per-step record the coordinator writes to metrics.jsonl (and hands to `onStep`), parsed at the metrics edge.
 * Every field but `step` is optional (the step-0 record carries only the held-out evaluation); known fields must have
 * their documented type, and keys that become label values (dimensions, hallucination kinds, error codes) must come
 * from their bounded sets.
 */
import { z } from 'zod';
import { VrGrpoError } from '../errors/index.js';
import { HALLUCINATION_KINDS, PAIRWISE_DIMENSIONS } from '../protocol/index.js';

/** Reward dimensions as the coordinator reports them (`combined` = the weighted combination that trains the policy). */
export const REWARD_DIMENSIONS = ['combined', 'TA', 'MQ', 'VQ', 'overall'] as const;
export type RewardDimension = (typeof REWARD_DIMENSIONS)[number];

const count = z.number().int().nonnegative();
const value = z.number().nullable().optional();
const byDimension = z.partialRecord(z.enum(REWARD_DIMENSIONS), z.number());
/** Error codes are upper-snake-case identifiers from the catalogue (or `UNKNOWN`). */
const errorCode = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an error code');

export const stepRecordSchema = z.looseObject({
  step: count,
  prompts: count.optional(),
  videos: count.optional(),
  reward: byDimension.optional(),
  rewardStd: byDimension.optional(),
  goldAccuracy: value,
  goldQuality: value,
  heldOutGoldAccuracy: value,
  advantageAbsMean: value,
  zeroStdRatio: value,
  maskedVideos: count.optional(),
  droppedGroups: count.optional(),
  judgments: count.optional(),
  failedJudgments: count.optional(),
  failuresByCode: z.record(errorCode, count).optional(),
  framesViewedPerJudgment: value,
  toolCallsPerJudgment: value,
  /** Pairwise with gold: the judge's OA agreement with gold over the step's comparisons (gold ties skipped, a judge tie ½). */
  judgeGoldAgreement: value,
  /** The same per answered dimension (TA, MQ, VQ, OA); a dimension nothing decided is absent. */
  judgeGoldAgreementByDimension: z.partialRecord(z.enum(PAIRWISE_DIMENSIONS), z.number().min(0).max(1)).optional(),
  /** OA comparisons counted in `judgeGoldAgreement`, and OA comparisons skipped because gold tied. */
  judgeGoldDecided: count.optional(),
  judgeGoldTies: count.optional(),
  hallucinations: z.partialRecord(z.enum(HALLUCINATION_KINDS), z.number().nonnegative()).optional(),
  rmVersions: z.array(z.string().min(1).max(200)).optional(),
  kl: value,
  approxKl: value,
  policyLoss: value,
  clipFracHigh: value,
  clipFracLow: value,
  ratioMean: value,
  ratioStd: value,
  gradNorm: value,
  timing: z.object({ generateMs: z.number().nonnegative(), judgeMs: z.number().nonnegative(), updateMs: z.number().nonnegative() }).partial().optional(),
});
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** Parses a step record; INVALID_ARGUMENT names the first bad field. */
export function parseStepRecord(input: unknown): StepRecord {
  const parsed = stepRecordSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'step record' : issue.path.join('.');
  throw new VrGrpoError('INVALID_ARGUMENT', `${where}: ${issue?.message ?? 'invalid'}`, { details: { field: where } });
}
