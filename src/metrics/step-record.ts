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
const versions = z.array(z.string().min(1).max(200));

/** A held-out (or train-split) gold evaluation of the policy (`GoldSummary`). */
const goldSummary = z.strictObject({
  split: z.enum(['train', 'heldout']),
  prompts: count,
  accuracy: z.number(),
  allCorrect: z.number(),
  perAttribute: z.record(z.string(), z.number()),
  quality: z.number(),
  withEvents: z.strictObject({ prompts: count, accuracy: z.number() }).optional(),
});

/** An anchor pass against another: per dimension the mean shift and Kendall τ. */
const anchorComparison = { meanShift: byDimension, kendallTau: byDimension };

/** One re-judging of the anchor set (`AnchorDriftReport` as written: without its trips). */
const anchorPass = z.strictObject({
  step: count,
  reason: z.enum(['scheduled', 'rm_version_change', 'start']),
  rmVersions: versions,
  judgments: count,
  failedJudgments: count,
  means: byDimension,
  ...anchorComparison,
  sincePrevious: z.strictObject({ step: count, rmVersions: versions, ...anchorComparison }).optional(),
  /** PSI and Page-Hinkley of this pass's scores against the first pass's (the reward model moving on fixed videos). */
  psi: byDimension.optional(),
  pageHinkley: byDimension.optional(),
});

/** The drift detectors' values at the step (docs/monitoring.md). */
const driftRecord = z.strictObject({
  psi: byDimension,
  page_hinkley: byDimension,
  proxy_gold_divergence: z.number().optional(),
  anchor_mean_shift: byDimension.optional(),
  anchor_kendall_tau: byDimension.optional(),
  anchor_psi: byDimension.optional(),
  anchor_page_hinkley: byDimension.optional(),
});

/** One judge's reading of an audited step: mean score and agreement with the training rewards (null: undefined). */
const auditReading = z.strictObject({ score: z.number().nullable(), agreement: z.number().nullable(), rmVersions: versions.optional() });

/** The audit of the step (src/coordinator/audit-monitor.ts; absent on steps not audited). */
const auditRecord = z.strictObject({
  step: count,
  groups: count,
  proxy: z.number().nullable(),
  auditors: z.record(z.string(), auditReading),
  fullView: auditReading.optional(),
  auditorScore: z.number().nullable(),
  gap: z.number().nullable(),
  divergence: z.number().nullable(),
  /** The full-view gap (pointwise, full view on) and its detector's t-statistic (null until the window is full). */
  fullViewGap: z.number().nullable().optional(),
  fullViewGapT: z.number().nullable().optional(),
  overoptimisation: z
    .strictObject({
      sqrtKl: z.number().nullable(),
      alpha: z.number().nullable(),
      beta: z.number().nullable(),
      peakSqrtKl: z.number().nullable(),
      distanceToPeak: z.number().nullable(),
    })
    .optional(),
});
/** Error codes are upper-snake-case identifiers from the catalogue (or `UNKNOWN`). */
const errorCode = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an error code');

/**
 * Every field a step record may carry. Readers accept unknown extra keys (`stepRecordSchema`, so a newer writer does
 * not break an older dashboard); the writer's output is held to this exact list by a test (`strictStepRecordSchema`),
 * so a field written without being declared here fails the suite.
 */
const stepRecordShape = {
  /** ISO time the line was written (added by the run folder). */
  time: z.string().optional(),
  step: count,
  prompts: count.optional(),
  videos: count.optional(),
  reward: byDimension.optional(),
  rewardStd: byDimension.optional(),
  goldAccuracy: value,
  goldQuality: value,
  advantageAbsMean: value,
  /** While a calibrated RM swap's map is active: the mean |advantage| the step would have had with its rewards unmapped. */
  advantageAbsMeanUncalibrated: value,
  /**
   * After the guard's conservative or switch-to-auditors action: the rule the step trained on (worst-case, held-out),
   * the audit judges, the videos the training judge scored, those the audit judges together ranked lower, and those an
   * audit judge failed on.
   */
  auditTraining: z
    .strictObject({ rule: z.enum(['worst-case', 'held-out']), judges: z.array(z.string()), videos: count, lowered: count, missing: count })
    .optional(),
  /** Judge uncertainty over the groups with pairs judged in both orders (absent: none). */
  judgeUncertainty: z
    .strictObject({
      measuredGroups: count,
      shrunkGroups: count,
      droppedGroups: count,
      orderFlipShare: z.number().nullable(),
      selfDisagreement: z.number().nullable(),
    })
    .optional(),
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
  rmVersions: versions.optional(),
  /** Per group of the step, its verdicts' RM versions joined with `+`. */
  groupRmVersions: z.array(z.string().max(1000)).optional(),
  kl: value,
  approxKl: value,
  policyLoss: value,
  clipFracHigh: value,
  clipFracLow: value,
  ratioMean: value,
  ratioStd: value,
  /** Largest |ratio − 1| of the first inner epoch (0 up to float noise when the rollouts were on-policy). */
  onPolicyMaxRatioDeviation: value,
  gradNorm: value,
  learningRate: value,
  timing: z.object({ generateMs: z.number().nonnegative(), judgeMs: z.number().nonnegative(), updateMs: z.number().nonnegative() }).partial().optional(),
  /** Held-out gold evaluation (every `evalEvery` steps, the last step, and step 0 before training). */
  heldOutGoldAccuracy: value,
  heldOut: goldSummary.optional(),
  /** The run monitor's drift detectors (absent when drift monitoring is off). */
  drift: driftRecord.optional(),
  /** An anchor pass at this step (scheduled, or on an RM version change). */
  anchors: anchorPass.optional(),
  /** The audit of this step (held-out judges, full view). */
  audit: auditRecord.optional(),
  /** What the guard did at this step (a confirmed hacking signal; src/coordinator/guard.ts). */
  guard: z
    .strictObject({
      step: count,
      detector: z.string(),
      value: z.number().nullable(),
      mode: z.enum(['warn', 'act']),
      evidence: z.string(),
      action: z.enum(['warn', 'lower-lr', 'raise-beta', 'conservative', 'switch-to-auditors', 'stop']),
      rolledBackTo: count.nullable().optional(),
      training: z.strictObject({ learningRate: z.number(), beta: z.number() }).optional(),
      notes: z.array(z.string()).optional(),
    })
    .optional(),
};

export const stepRecordSchema = z.looseObject(stepRecordShape);
/** The exact list: what the coordinator and run monitor write must parse with this (test/metrics/step-record.test.ts). */
export const strictStepRecordSchema = z.strictObject(stepRecordShape);
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** Parses a step record; INVALID_ARGUMENT names the first bad field. */
export function parseStepRecord(input: unknown): StepRecord {
  const parsed = stepRecordSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'step record' : issue.path.join('.');
  throw new VrGrpoError('INVALID_ARGUMENT', `${where}: ${issue?.message ?? 'invalid'}`, { details: { field: where } });
}
