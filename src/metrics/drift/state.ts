/**
 * The drift monitor's checkpointed state read back: a checkpoint is JSON (NaN was written as null), so everything is
 * `unknown` until this schema parses it. States saved before issue 21 (no `anchorPh`) still load; anything else that
 * does not fit is refused with CHECKPOINT_INVALID naming the field.
 */
import { z } from 'zod';
import { VrGrpoError } from '../../errors/index.js';
import type { AnchorPass } from './anchor-pass.js';
import type { DriftMonitorState } from './drift-monitor.js';

/** A number that JSON may have written as null (NaN, ±Infinity): null reads back as NaN. */
const maybeNumber = z
  .number()
  .nullable()
  .transform((x) => x ?? NaN);
const finite = z.number();
const samples = z.array(z.array(finite));
const phState = z.object({ n: z.number().int().nonnegative(), mean: finite, up: finite, upMin: finite, down: finite, downMax: finite });

const anchorPass = z.object({
  step: z.number().int(),
  rmVersions: z.array(z.string()),
  videoIds: z.array(z.string()),
  scores: z.record(z.string(), z.array(maybeNumber)),
  means: z.record(z.string(), maybeNumber),
  judgments: z.number().int().nonnegative(),
  failedJudgments: z.number().int().nonnegative(),
}) satisfies z.ZodType<AnchorPass, unknown>;

const stateSchema = z.object({
  windows: z.record(z.string(), z.object({ steps: samples, initial: samples, seen: z.number().int().nonnegative() })),
  phWarmup: z.record(z.string(), z.array(finite)),
  phScale: z.record(z.string(), z.object({ mean: finite, std: finite })),
  ph: z.record(z.string(), phState),
  divergence: z.object({ points: z.array(z.tuple([finite, finite, finite])), armed: z.boolean() }),
  disarmed: z.array(z.string()),
  firstAnchors: anchorPass.nullable(),
  lastAnchors: anchorPass.nullable(),
  anchorPh: z.record(z.string(), phState).optional(),
}) satisfies z.ZodType<DriftMonitorState, unknown>;

/** A checkpoint's drift state (null/undefined: none), or CHECKPOINT_INVALID naming the first field that does not fit. */
export function parseDriftMonitorState(value: unknown): DriftMonitorState | undefined {
  if (value === null || value === undefined) return undefined;
  const parsed = stateSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue === undefined ? '' : ['drift', ...issue.path.map(String)].join('.');
  throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint monitor state: ${field}: ${issue?.message ?? 'invalid'}`, { details: { field } });
}
