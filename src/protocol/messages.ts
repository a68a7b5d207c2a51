/**
 * The reward-server WebSocket protocol (version 1): tagged JSON text messages, plus binary messages that carry inline
 * raw video announced by a `video` header. Everything arriving on a socket is `unknown` until `parseClientMessage`
 * or `parseServerMessage` accepts it. docs/protocol.md documents it; `protocolJsonSchema()` exports it.
 */
import { z } from 'zod';
import {
  checkpointStatusRequestSchema,
  checkpointStatusResultSchema,
  checkpointSwappedSchema,
  loadCheckpointSchema,
  rollbackSchema,
  versionChangedSchema,
} from './admin-messages.js';
import { hallucinationSchema, turnSchema, verdictAnswerSchema, verdictScoresSchema } from './judge-types.js';

/**
 * Version 2: a pairwise verdict may carry a partial answer (OA only, or without CF). Version 3: a judge request may
 * name its comparison group and each video an id, so a server reuses what it perceived of a video across the group's
 * comparisons. See docs/protocol.md.
 */
export const PROTOCOL_VERSION = 3;

const id = z.string().min(1).max(128);

/**
 * A video to judge: a `file://` URI under the server's artifact root, or an inline video sent earlier on this
 * connection. `id` (with the request's `group`) names the video across the group's requests: the server may reuse what
 * it perceived of it in an earlier comparison of the same group (the same id must mean the same video).
 */
export const videoRefSchema = z.union([
  z.strictObject({ uri: z.string().min(1).max(4096), id: id.optional() }),
  z.strictObject({ inline: z.string().min(1).max(128), id: id.optional() }),
]);
export type VideoRef = z.infer<typeof videoRefSchema>;

export const judgeOptionsSchema = z.strictObject({
  /** Frames shown before any tool call (pairwise: half from each video). Default 8. */
  initialFrames: z.number().int().min(2).max(32).optional(),
  /** Maximum select_frames calls. Default 3. */
  maxToolCalls: z.number().int().min(0).max(8).optional(),
  /** Visual memory window p: only the latest p tool results keep their images. Default 1. */
  memoryWindow: z.number().int().min(0).max(8).optional(),
  /** Frames per select_frames call (VR-Thinker: at most 8). Default 8. */
  maxFramesPerCall: z.number().int().min(1).max(8).optional(),
  /** Stream `turn` events while judging. Default false. */
  stream: z.boolean().optional(),
  /** Return the turns in the verdict. Default false. */
  trace: z.boolean().optional(),
  /** Pairwise: judge both orders and reconcile (order flips are reported). Default false. */
  bothOrders: z.boolean().optional(),
  /**
   * The initial view is the `index`-th of `of` interleaved views: frames index, index + of, index + 2·of, … of each video
   * (thinned evenly to `initialFrames` when there are more). Views 0..of−1 together show every frame: a full-view
   * audit of a clip longer than 32 frames. Default: one view, frames sampled evenly.
   */
  initialView: z
    .strictObject({ index: z.number().int().min(0).max(15), of: z.number().int().min(1).max(16) })
    .refine((v) => v.index < v.of, { message: 'index must be below of' })
    .optional(),
});
export type JudgeOptions = z.infer<typeof judgeOptionsSchema>;

export const helloSchema = z.strictObject({ type: z.literal('hello'), protocol: z.number().int(), client: z.string().max(200).optional() });

export const judgeSchema = z
  .strictObject({
    type: z.literal('judge'),
    id,
    prompt: z.string().min(1).max(4000),
    mode: z.enum(['pairwise', 'pointwise']),
    videos: z.array(videoRefSchema).min(1).max(16),
    options: judgeOptionsSchema.optional(),
    /** The comparison group (e.g. one GRPO group) the request belongs to; scopes the videos' ids. */
    group: id.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.mode === 'pairwise' && m.videos.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['videos'], message: `pairwise needs exactly 2 videos, got ${m.videos.length}` });
    }
  });
export type JudgeRequest = z.infer<typeof judgeSchema>;

/** Announces the next binary message: raw RGB24 frames, frame-major, exactly width·height·3·frameCount bytes. */
export const videoHeaderSchema = z.strictObject({
  type: z.literal('video'),
  ref: z.string().min(1).max(128),
  width: z.number().int().min(2).max(4096),
  height: z.number().int().min(2).max(4096),
  frameCount: z.number().int().min(1).max(10_000),
  pixelFormat: z.literal('rgb24'),
  fps: z.number().positive().max(1000).optional(),
});
export type VideoHeader = z.infer<typeof videoHeaderSchema>;

export const statusRequestSchema = z.strictObject({ type: z.literal('status'), id: id.optional() });
export const pingSchema = z.strictObject({ type: z.literal('ping'), id: id.optional(), t: z.number().optional() });

export const clientMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  judgeSchema,
  videoHeaderSchema,
  statusRequestSchema,
  pingSchema,
  // admin commands (admin-messages.ts)
  loadCheckpointSchema,
  rollbackSchema,
  checkpointStatusRequestSchema,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export const CLIENT_MESSAGE_TYPES = ['hello', 'judge', 'video', 'status', 'ping', 'load_checkpoint', 'rollback', 'checkpoint_status'] as const;

// ---- server → client ----

export const serverHelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  server: z.string(),
  rmVersion: z.string(),
  backend: z.string(),
  limits: z.object({ maxPayloadBytes: z.number().int(), maxInFlight: z.number().int() }),
});

export const timingSchema = z.object({ totalMs: z.number(), decodeMs: z.number(), backendMs: z.number() });

export const verdictSchema = z.object({
  type: z.literal('verdict'),
  id,
  rmVersion: z.string(),
  mode: z.enum(['pairwise', 'pointwise']),
  /** Pairwise answer (pairwise mode): OA always, TA/MQ/VQ/CF only when the judge gave them; null in pointwise mode. */
  answer: verdictAnswerSchema.nullable(),
  /**
   * Per video: pointwise scores, or in pairwise mode scores derived from the answer (better 1, tie 0.5, worse 0; a
   * dimension the judge did not give is absent).
   */
  scores: z.array(verdictScoresSchema),
  /** Per video, the 0-based frame indices whose images the judge saw. */
  framesViewed: z.array(z.array(z.number().int())),
  toolCalls: z.number().int(),
  turns: z.array(turnSchema).optional(),
  hallucinations: z.array(hallucinationSchema),
  /** Format errors the judge made and recovered from (unparseable turns). */
  formatErrors: z.number().int(),
  /** True when the answer was forced (budget exhausted) from the last recommended answer. */
  forced: z.boolean(),
  timing: timingSchema,
});
export type VerdictMessage = z.infer<typeof verdictSchema>;

export const turnEventSchema = z.object({ type: z.literal('turn'), id, turn: turnSchema });
export const errorMessageSchema = z.object({ type: z.literal('error'), id: z.string().nullable(), code: z.string(), message: z.string() });
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
export const statusResultSchema = z.object({
  type: z.literal('status'),
  id: z.string().nullable(),
  rmVersion: z.string(),
  backend: z.string(),
  state: z.enum(['running', 'draining']),
  inFlight: z.number().int(),
  connections: z.number().int(),
  judgments: z.number().int(),
});
export const pongSchema = z.object({ type: z.literal('pong'), id: z.string().nullable(), t: z.number().nullable() });
export const videoReceivedSchema = z.object({ type: z.literal('video_received'), ref: z.string(), bytes: z.number().int() });

export const serverMessageSchema = z.discriminatedUnion('type', [
  serverHelloSchema,
  verdictSchema,
  turnEventSchema,
  errorMessageSchema,
  statusResultSchema,
  pongSchema,
  videoReceivedSchema,
  // admin answers and the swap notification (admin-messages.ts)
  checkpointSwappedSchema,
  checkpointStatusResultSchema,
  versionChangedSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
