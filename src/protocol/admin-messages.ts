/**
 * Admin messages of the reward-server protocol: swapping the judge checkpoint while the server runs
 * (`load_checkpoint`, `rollback`, `checkpoint_status`) and their answers, plus the `version_changed` notification that
 * every connected client receives when the serving version switches. Every admin request carries the admin token in
 * its `adminToken` field (the upgrade's bearer token is a different, weaker credential). docs/protocol.md documents them.
 */
import { z } from 'zod';

const id = z.string().min(1).max(128);
/** The admin token, compared by the server in constant time; left out or wrong → ADMIN_FORBIDDEN (not a schema error). */
const adminToken = z.string().max(1024).optional();

// ---- client → server ----

/**
 * Load a new judge version in the background, validate it, and switch to it. Exactly one of:
 * `checkpoint` (embedded backend: a checkpoint folder on the server's filesystem) or `model` and/or `baseUrl`
 * (VLM backend: the model name and the OpenAI-compatible endpoint to judge with).
 */
export const loadCheckpointSchema = z
  .strictObject({
    type: z.literal('load_checkpoint'),
    id,
    adminToken,
    /** Absolute path, on the server, of a checkpoint folder (manifest.json + model.onnx). */
    checkpoint: z.string().min(1).max(4096).optional(),
    /** VLM backend: model name served by the endpoint. */
    model: z.string().min(1).max(512).optional(),
    /** VLM backend: base URL of the OpenAI-compatible endpoint. */
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    /** VLM backend: the version label verdicts will carry (default: the backend's rule, `vlm:<model>`). */
    rmVersion: z.string().min(1).max(128).optional(),
    /**
     * Minimum fraction (0–1) of the pairwise canary judgments on which the new version must agree with the current
     * one; overrides the server's default. `null` turns the floor off for this load.
     */
    agreementFloor: z.number().min(0).max(1).nullable().optional(),
  })
  .superRefine((m, ctx) => {
    const vlm = m.model !== undefined || m.baseUrl !== undefined;
    if (m.checkpoint === undefined && !vlm)
      ctx.addIssue({ code: 'custom', path: ['checkpoint'], message: 'give a checkpoint path, or a model and/or baseUrl' });
    if (m.checkpoint !== undefined && vlm)
      ctx.addIssue({ code: 'custom', path: ['checkpoint'], message: 'give either a checkpoint path or a model/baseUrl, not both' });
    if (m.rmVersion !== undefined && !vlm)
      ctx.addIssue({ code: 'custom', path: ['rmVersion'], message: 'rmVersion goes with a model/baseUrl (a checkpoint names its version in its manifest)' });
  });
export type LoadCheckpointRequest = z.infer<typeof loadCheckpointSchema>;

/** Switch back to the version that served before the current one (kept loaded for this). */
export const rollbackSchema = z.strictObject({ type: z.literal('rollback'), id, adminToken });
export type RollbackRequest = z.infer<typeof rollbackSchema>;

/** The checkpoint manager's state: current and previous versions, a load in progress, swaps and rejections. */
export const checkpointStatusRequestSchema = z.strictObject({ type: z.literal('checkpoint_status'), id, adminToken });
export type CheckpointStatusRequest = z.infer<typeof checkpointStatusRequestSchema>;

export const ADMIN_MESSAGE_TYPES = ['load_checkpoint', 'rollback', 'checkpoint_status'] as const;
export type AdminRequest = LoadCheckpointRequest | RollbackRequest | CheckpointStatusRequest;

// ---- server → client ----

/** Where a swap came from: an admin command, the watched checkpoint folder, or the server's start. */
export const SWAP_ORIGINS = ['admin', 'watch', 'initial'] as const;
export type SwapOrigin = (typeof SWAP_ORIGINS)[number];

/** How the canary judgments of a load went. */
export const canaryReportSchema = z.object({
  /** Canary judgments run on the new version (all completed and parsed, else the load was rejected). */
  judgments: z.number().int().min(0),
  /** Wall-clock time of the canary (it doubles as the warm-up), ms. */
  ms: z.number().min(0),
  /** Fraction of pairwise canary pairs on which the new version prefers the gold-better video. */
  goldAccuracy: z.number().min(0).max(1).nullable(),
  /** Fraction of pairwise canary pairs with the same overall answer as the version serving before; null when not measured. */
  agreement: z.number().min(0).max(1).nullable(),
  /** The floor the agreement was held to; null = none. */
  agreementFloor: z.number().min(0).max(1).nullable(),
});
export type CanaryReport = z.infer<typeof canaryReportSchema>;

/** The answer to `load_checkpoint` and `rollback`: the switch happened. */
export const checkpointSwappedSchema = z.object({
  type: z.literal('checkpoint_swapped'),
  id: z.string(),
  action: z.enum(['load', 'rollback']),
  /** The version new judgments now start on. */
  rmVersion: z.string(),
  /** The version that served before the switch. */
  previousVersion: z.string(),
  /** Canary results (load only; null for rollback). */
  canary: canaryReportSchema.nullable(),
  /** From the request to the switch, ms. */
  ms: z.number().min(0),
});
export type CheckpointSwappedMessage = z.infer<typeof checkpointSwappedSchema>;

/** One loaded version. */
export const loadedVersionSchema = z.object({
  rmVersion: z.string(),
  backend: z.string(),
  /** The checkpoint path, or `model@baseUrl` for a VLM. */
  source: z.string(),
  origin: z.enum(SWAP_ORIGINS),
  /** ISO 8601. */
  loadedAt: z.string(),
  /** Judgments running on this version now. */
  inFlight: z.number().int().min(0),
});
export type LoadedVersion = z.infer<typeof loadedVersionSchema>;

export const checkpointRejectionSchema = z.object({
  code: z.string(),
  message: z.string(),
  source: z.string(),
  origin: z.enum(SWAP_ORIGINS),
  /** ISO 8601. */
  at: z.string(),
});
export type CheckpointRejection = z.infer<typeof checkpointRejectionSchema>;

/** The answer to `checkpoint_status`. */
export const checkpointStatusResultSchema = z.object({
  type: z.literal('checkpoint_status'),
  id: z.string(),
  /** `loading` while a new version is being loaded and validated (the current one keeps serving). */
  state: z.enum(['serving', 'loading']),
  current: loadedVersionSchema,
  /** The version `rollback` returns to; null when there is none. */
  previous: loadedVersionSchema.nullable(),
  /** Versions switched away from that still finish judgments they started; closed when those end. */
  retiring: z.array(loadedVersionSchema),
  loading: z.object({ source: z.string(), origin: z.enum(SWAP_ORIGINS), startedAt: z.string() }).nullable(),
  /** Successful loads (the initial one not counted), rollbacks, and loads rejected since start. */
  swaps: z.number().int().min(0),
  rollbacks: z.number().int().min(0),
  rejections: z.number().int().min(0),
  lastRejection: checkpointRejectionSchema.nullable(),
  /** Watch mode: the folder watched and the candidates seen but not complete yet; null when off. */
  watch: z.object({ dir: z.string(), pending: z.array(z.string()) }).nullable(),
});
export type CheckpointStatusMessage = z.infer<typeof checkpointStatusResultSchema>;

/** Sent to every connection when the version new judgments start on changes (after a load, a rollback, a watch swap). */
export const versionChangedSchema = z.object({
  type: z.literal('version_changed'),
  rmVersion: z.string(),
  previousVersion: z.string(),
  reason: z.enum(['load', 'rollback', 'watch']),
  /** ISO 8601. */
  at: z.string(),
});
export type VersionChangedMessage = z.infer<typeof versionChangedSchema>;
