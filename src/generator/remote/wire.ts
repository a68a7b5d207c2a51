/**
 * Conversions between the generator contract and the generator-worker protocol: update statistics (non-finite values
 * travel as `null`), error codes (an unknown code from a worker becomes GENERATOR_FAILED), the rollout request, and the
 * bound on the advantages of an update.
 */
import { ALL_ERROR_CODES, isVrGrpoError, VrGrpoError, type ErrorCode } from '../../errors/index.js';
import { rolloutRequestSchema, type RolloutRequest, type WireUpdateStats, type WorkerErrorMessage } from '../../protocol/generator-messages.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateRequest, ReplayedRollout, RolloutAdvantages } from '../generator.js';

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
const orNaN = (x: number | null): number => x ?? Number.NaN;

/** UpdateStats → wire form (NaN and ±Infinity become null). */
export function statsToWire(stats: UpdateStats): WireUpdateStats {
  return {
    rows: stats.rows,
    videos: stats.videos,
    policyLoss: finiteOrNull(stats.policyLoss),
    klLoss: finiteOrNull(stats.klLoss),
    approxKl: finiteOrNull(stats.approxKl),
    clipFracHigh: finiteOrNull(stats.clipFracHigh),
    clipFracLow: finiteOrNull(stats.clipFracLow),
    ratioMean: finiteOrNull(stats.ratioMean),
    ratioStd: finiteOrNull(stats.ratioStd),
    onPolicyMaxRatioDeviation: finiteOrNull(stats.onPolicyMaxRatioDeviation),
    gradNorm: finiteOrNull(stats.gradNorm),
  };
}

/** Wire form → UpdateStats (null becomes NaN). */
export function statsFromWire(stats: WireUpdateStats): UpdateStats {
  return {
    rows: stats.rows,
    videos: stats.videos,
    policyLoss: orNaN(stats.policyLoss),
    klLoss: orNaN(stats.klLoss),
    approxKl: orNaN(stats.approxKl),
    clipFracHigh: orNaN(stats.clipFracHigh),
    clipFracLow: orNaN(stats.clipFracLow),
    ratioMean: orNaN(stats.ratioMean),
    ratioStd: orNaN(stats.ratioStd),
    onPolicyMaxRatioDeviation: orNaN(stats.onPolicyMaxRatioDeviation),
    gradNorm: orNaN(stats.gradNorm),
  };
}

/** The code a failure of the generator is reported with: its own VrGrpoError code, else GENERATOR_FAILED. */
export function failureOf(error: unknown, what: string): VrGrpoError {
  if (isVrGrpoError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VrGrpoError('GENERATOR_FAILED', `${what} failed: ${message}`, { cause: error });
}

function toErrorCode(code: string): ErrorCode {
  return (ALL_ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'GENERATOR_FAILED';
}

/** The VrGrpoError for a worker `error` message (an unknown code becomes GENERATOR_FAILED, the original kept in details). */
export function errorFromWorker(message: WorkerErrorMessage): VrGrpoError {
  return new VrGrpoError(toErrorCode(message.code), message.message, { details: { id: message.id, workerCode: message.code } });
}

/**
 * The `rollout` message for a generate request, validated like the worker will validate it; INVALID_ARGUMENT names the
 * field. `mp4Dir` is refused: a remote worker writes no files for the client.
 */
export function rolloutMessage(id: string, request: GenerateRequest): RolloutRequest {
  if (request.mp4Dir !== undefined) {
    throw new VrGrpoError('INVALID_ARGUMENT', 'mp4Dir is not supported by remote generators (the worker sends raw frames; encode them locally)', {
      details: { field: 'mp4Dir' },
    });
  }
  const candidate = {
    type: 'rollout',
    id,
    prompts: request.prompts,
    groupSize: request.groupSize,
    seed: request.seed,
    ...(request.sampler === undefined ? {} : { sampler: request.sampler }),
    ...(request.reference === undefined ? {} : { reference: request.reference }),
    ...(request.delivery === undefined ? {} : { delivery: request.delivery }),
  };
  const parsed = rolloutRequestSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? '(request)' : issue.path.map(String).join('.') || '(request)';
    throw new VrGrpoError('INVALID_ARGUMENT', `invalid generate request: ${field}: ${issue?.message ?? 'invalid'}`, { details: { field } });
  }
  return parsed.data;
}

/** An update's advantages after {@link boundAdvantages}: clipped copies, and how many values were clipped. */
export interface BoundedAdvantages {
  readonly rollouts: readonly RolloutAdvantages[];
  readonly clipped: number;
}

/**
 * The advantages of an update as the generator may see them: each one null (masked out) or finite, clipped to ±`clip`.
 * A non-finite one (NaN, ±Infinity: possible from callers that bypass JSON) is refused with INVALID_REQUEST naming its
 * place, before any work; a finite one beyond the bound is clipped (counted in `clipped`), never passed on.
 */
export function boundAdvantages(rollouts: readonly RolloutAdvantages[], clip: number): BoundedAdvantages {
  const counter = { clipped: 0 };
  const out = rollouts.map((r, i) => ({ ...r, advantages: boundList(r.advantages, clip, `rollouts.${i}`, counter) }));
  return { rollouts: out, clipped: counter.clipped };
}

/** An update's replays after {@link boundReplays}. */
export interface BoundedReplays {
  readonly replays: readonly ReplayedRollout[];
  readonly clipped: number;
}

/** The replays of an update with their advantages bounded as in {@link boundAdvantages} (places named `replays.i`). */
export function boundReplays(replays: readonly ReplayedRollout[], clip: number): BoundedReplays {
  const counter = { clipped: 0 };
  const out = replays.map((r, i) => ({ ...r, advantages: boundList(r.advantages, clip, `replays.${i}`, counter) }));
  return { replays: out, clipped: counter.clipped };
}

function boundList(advantages: readonly (number | null)[], clip: number, place: string, counter: { clipped: number }): (number | null)[] {
  return advantages.map((a, j) => {
    if (a === null) return null;
    if (!Number.isFinite(a)) {
      throw new VrGrpoError('INVALID_REQUEST', `${place}.advantages.${j}: expected a finite number or null, got ${String(a)}`, {
        details: { field: `${place}.advantages.${j}` },
      });
    }
    if (Math.abs(a) <= clip) return a;
    counter.clipped += 1;
    return Math.sign(a) * clip;
  });
}
