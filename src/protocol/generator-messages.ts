/**
 * The generator-worker WebSocket protocol (version 2): how a coordinator drives a remote generator (a TS worker,
 * `vr-grpo serve-generator`, or a Python trainer of a large model). Tagged JSON text messages plus binary messages that
 * carry each generated video's raw RGB24 frames right after its `video` header. Trajectories never cross the wire: the
 * worker keeps them under the `rolloutId` it returns. Version 2 adds videos by reference (`video_ref`: MP4s under a
 * shared artifact root instead of raw frames), `save`/`restore` of the worker's state, the policy digest, and replays
 * (an update that includes rollouts another worker sampled). Everything arriving on a socket is `unknown` until
 * `parseGeneratorClientMessage` / `parseGeneratorWorkerMessage` accepts it. docs/generator-protocol.md documents it.
 */
import { z } from 'zod';
import { parseTaggedMessage, type ParseOutcome } from './parse.js';

export const GENERATOR_PROTOCOL_VERSION = 2;

const requestId = z.string().min(1).max(128);
const rolloutIdSchema = z.string().min(1).max(128);

/** Largest number of videos (prompts × groupSize) one rollout may ask for. */
export const MAX_VIDEOS_PER_ROLLOUT = 4096;

/** Overrides of the worker's configured sampler (every field optional; ranges as in the `generator.sampler` config). */
export const samplerOverridesSchema = z.strictObject({
  /** 'sde' records log-probabilities (trainable rollouts); 'ode' is deterministic given the initial noise. */
  mode: z.enum(['sde', 'ode']).optional(),
  /** Denoising steps T. */
  steps: z.number().int().min(1).max(1000).optional(),
  /** Flow-GRPO noise level a. */
  noiseLevel: z.number().gt(0).max(5).optional(),
  /** Timestep shift; 1 = none. */
  shift: z.number().gt(0).max(100).optional(),
  /** Steps with index in [start, end) are SDE steps (end null = all). */
  sdeWindow: z.strictObject({ start: z.number().int().min(0), end: z.number().int().min(1).nullable() }).optional(),
  /** Same initial noise for every member of a group. */
  sameNoiseInGroup: z.boolean().optional(),
});
export type SamplerOverrides = z.infer<typeof samplerOverridesSchema>;

/** A judge-ready copy of a video: `frameCount` frames sampled uniformly over it, at `width`×`height`. */
export const judgeCopySpecSchema = z.strictObject({
  frameCount: z.number().int().min(1).max(256),
  /** Even (H.264 in yuv420p). */
  width: z.number().int().min(8).max(4096).multipleOf(2),
  height: z.number().int().min(8).max(4096).multipleOf(2),
});
export type JudgeCopySpec = z.infer<typeof judgeCopySpecSchema>;

/**
 * How the videos of a rollout travel: `inline` (a `video` header and the raw frames, v1) or `reference` (the worker
 * writes MP4s under its artifact root and sends `video_ref` messages with their URIs; optionally a judge copy too).
 */
export const deliverySchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('inline') }),
  z.strictObject({ mode: z.literal('reference'), judgeCopy: judgeCopySpecSchema.nullable().optional() }),
]);
export type Delivery = z.infer<typeof deliverySchema>;

/** A name for a saved worker state: letters, digits, `.`, `_`, `-` (not first), at most 128 characters. */
export const stateTagSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a tag is 1–128 of A–Z a–z 0–9 . _ - (not starting with . _ -)');
/** An opaque reference to a saved worker state, as its `saved` answer gave it. */
export const stateRefSchema = z.string().min(1).max(1024);
/** Lower-case hex SHA-256 of the policy's trainable parameters. */
export const policyDigestSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a policy digest is 64 lower-case hex digits');

// ---- client (coordinator) → worker ----

export const generatorClientHelloSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.number().int(),
  client: z.string().max(200).optional(),
  /** Largest message the client accepts, in bytes: the worker fails a rollout with a larger video instead of sending it. */
  maxPayloadBytes: z.number().int().positive().optional(),
});

export type GeneratorClientHello = z.infer<typeof generatorClientHelloSchema>;

export const rolloutRequestSchema = z
  .strictObject({
    type: z.literal('rollout'),
    id: requestId,
    prompts: z.array(z.string().min(1).max(4000)).min(1).max(1024),
    /** Videos per prompt (G). */
    groupSize: z.number().int().min(1).max(256),
    /** All randomness of the rollout derives from this seed. */
    seed: z.number().int(),
    sampler: samplerOverridesSchema.optional(),
    /** Sample the reference model (adapters off). Default false. */
    reference: z.boolean().optional(),
    /** How the videos travel (default inline). */
    delivery: deliverySchema.optional(),
  })
  .superRefine((m, ctx) => {
    const videos = m.prompts.length * m.groupSize;
    if (videos > MAX_VIDEOS_PER_ROLLOUT) {
      ctx.addIssue({ code: 'custom', path: ['groupSize'], message: `prompts × groupSize = ${videos} exceeds ${MAX_VIDEOS_PER_ROLLOUT} videos per rollout` });
    }
  });
export type RolloutRequest = z.infer<typeof rolloutRequestSchema>;

export const rolloutAdvantagesSchema = z.strictObject({
  rolloutId: rolloutIdSchema,
  /** One per video of the rollout, in its order; null = masked out of the update. */
  advantages: z.array(z.number().nullable()).min(1).max(MAX_VIDEOS_PER_ROLLOUT),
  /**
   * Place of these rows in the update (ascending; entries without one follow in the order given, rollouts first):
   * workers that must apply identical updates get identical row orders whatever they hold by handle.
   */
  order: z.number().int().min(0).max(1_000_000).optional(),
});

/**
 * A rollout another worker sampled (multi-worker sharding): the worker re-samples its trajectories from the same
 * request on its own (identical) policy, writing no video, and includes them in the update.
 */
export const replaySchema = z
  .strictObject({
    prompts: z.array(z.string().min(1).max(4000)).min(1).max(1024),
    groupSize: z.number().int().min(1).max(256),
    seed: z.number().int(),
    sampler: samplerOverridesSchema.optional(),
    /** One per video of the replayed rollout, in its order; null = masked out. */
    advantages: z.array(z.number().nullable()).min(1).max(MAX_VIDEOS_PER_ROLLOUT),
    /**
     * Place of these rows in the update (ascending; entries without one follow in the order given, rollouts first):
     * workers that must apply identical updates get identical row orders whatever they hold by handle.
     */
    order: z.number().int().min(0).max(1_000_000).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.advantages.length !== m.prompts.length * m.groupSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['advantages'],
        message: `expected ${m.prompts.length * m.groupSize} advantages (prompts × groupSize), got ${m.advantages.length}`,
      });
    }
  });
export type ReplayRequest = z.infer<typeof replaySchema>;

export const updateRequestSchema = z
  .strictObject({
    type: z.literal('update'),
    id: requestId,
    rollouts: z.array(rolloutAdvantagesSchema).max(1024),
    replays: z.array(replaySchema).max(1024).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.rollouts.length === 0 && (m.replays ?? []).length === 0)
      ctx.addIssue({ code: 'custom', path: ['rollouts'], message: 'an update needs rollouts or replays' });
  });
export type UpdateRequest = z.infer<typeof updateRequestSchema>;

export const discardRequestSchema = z.strictObject({
  type: z.literal('discard'),
  id: requestId,
  rolloutIds: z.array(rolloutIdSchema).max(1024),
});
export type DiscardRequest = z.infer<typeof discardRequestSchema>;

/** Save the worker's training state (adapters, optimizer, update count) under `tag`. */
export const saveRequestSchema = z.strictObject({ type: z.literal('save'), id: requestId, tag: stateTagSchema });
export type SaveRequest = z.infer<typeof saveRequestSchema>;
/** Restore a state a `saved` answer referred to; every outstanding rollout of the worker is released. */
export const restoreRequestSchema = z.strictObject({ type: z.literal('restore'), id: requestId, ref: stateRefSchema });
export type RestoreRequest = z.infer<typeof restoreRequestSchema>;

export const generatorStatusRequestSchema = z.strictObject({ type: z.literal('status'), id: requestId.optional() });
export const generatorPingSchema = z.strictObject({ type: z.literal('ping'), id: requestId.optional(), t: z.number().optional() });

export const generatorClientMessageSchema = z.discriminatedUnion('type', [
  generatorClientHelloSchema,
  rolloutRequestSchema,
  updateRequestSchema,
  discardRequestSchema,
  saveRequestSchema,
  restoreRequestSchema,
  generatorStatusRequestSchema,
  generatorPingSchema,
]);
export type GeneratorClientMessage = z.infer<typeof generatorClientMessageSchema>;
export const GENERATOR_CLIENT_MESSAGE_TYPES = ['hello', 'rollout', 'update', 'discard', 'save', 'restore', 'status', 'ping'] as const;

// ---- worker → client ----

/**
 * Sent by the worker on open. Only `protocol`, `generator` and `trainable` are required, so a minimal worker in
 * another language stays small; unknown fields are ignored (forward compatibility).
 */
export const workerHelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  /** Name of the generator behind the worker (the client calls itself `remote:<generator>`). */
  generator: z.string().min(1).max(200),
  /** Whether `update` / `discard` are supported. */
  trainable: z.boolean(),
  /** Name of the worker program. */
  worker: z.string().max(200).optional(),
  limits: z.object({ maxPayloadBytes: z.number().int().positive() }).optional(),
  /** What the worker supports beyond version 1's inline rollouts (absent: nothing). */
  features: z
    .object({
      delivery: z.array(z.enum(['inline', 'reference'])).default(['inline']),
      /** `save` and `restore`. */
      state: z.boolean().default(false),
      /** `update.replays`. */
      replay: z.boolean().default(false),
    })
    .default({ delivery: ['inline'], state: false, replay: false }),
  /** Absolute path of the folder the worker writes videos under in reference delivery; null without one. */
  artifactRoot: z.string().min(1).max(4096).nullable().default(null),
});
export type WorkerHello = z.infer<typeof workerHelloSchema>;
export type WorkerFeatures = WorkerHello['features'];

/** Where a generated video sits in its rollout, and its format (the `video` header and `video_ref` share them). */
const videoPlace = {
  /** 0-based position in the rollout's videos (prompt-major). */
  index: z
    .number()
    .int()
    .min(0)
    .max(MAX_VIDEOS_PER_ROLLOUT - 1),
  width: z.number().int().min(1).max(8192),
  height: z.number().int().min(1).max(8192),
  frameCount: z.number().int().min(1).max(100_000),
  fps: z.number().positive().max(1000),
};

/** Announces the next (binary) message: video `index` of rollout request `id`, raw RGB24 frames, frame-major. */
export const generatedVideoHeaderSchema = z.object({
  type: z.literal('video'),
  /** The `rollout` request this video belongs to. */
  id: requestId,
  rolloutId: rolloutIdSchema,
  ...videoPlace,
  pixelFormat: z.literal('rgb24'),
});
export type GeneratedVideoHeader = z.infer<typeof generatedVideoHeaderSchema>;

/** Where a `reference` rollout's video lies (instead of `video` + binary): an MP4 under the worker's artifact root. */
export const generatedVideoRefSchema = z.object({
  type: z.literal('video_ref'),
  id: requestId,
  rolloutId: rolloutIdSchema,
  ...videoPlace,
  /** `file:` URI of the MP4. */
  uri: z.string().min(1).max(4096),
  /** Size of the file, bytes. */
  bytes: z.number().int().min(0),
  /** The judge-ready copy, when the rollout asked for one. */
  judge: z
    .object({ uri: z.string().min(1).max(4096), frameCount: z.number().int().min(1), width: z.number().int().min(1), height: z.number().int().min(1) })
    .nullable()
    .default(null),
});
export type GeneratedVideoRefMessage = z.infer<typeof generatedVideoRefSchema>;

export const generatedVideoMetaSchema = z.object({
  /** `p<promptIndex>-m<member>`. */
  id: z.string().min(1).max(128),
  prompt: z.string(),
  promptIndex: z.number().int().min(0),
  member: z.number().int().min(0),
  /** The scene latent (embedded world); null for generators without one. */
  latent: z.array(z.number()).max(1_000_000).nullable(),
});
export type GeneratedVideoMeta = z.infer<typeof generatedVideoMetaSchema>;

export const rolloutTimingSchema = z.object({ sampleMs: z.number().min(0), renderMs: z.number().min(0), encodeMs: z.number().min(0) });

export const rolloutResultSchema = z.object({
  type: z.literal('rollout_result'),
  id: requestId,
  /** The trajectory handle: pass it to `update` or `discard`. */
  rolloutId: rolloutIdSchema,
  /** Prompt-major: all members of prompt 0, then prompt 1, … (row i = the video sent with index i). */
  videos: z.array(generatedVideoMetaSchema).min(1).max(MAX_VIDEOS_PER_ROLLOUT),
  timing: rolloutTimingSchema,
});
export type RolloutResultMessage = z.infer<typeof rolloutResultSchema>;

/** A statistic of an update; `null` on the wire stands for a non-finite value (NaN, ±Infinity), which JSON cannot carry. */
const stat = z.number().nullable();

/** `UpdateStats` of src/generator/flow-grpo-trainer.ts on the wire. */
export const wireUpdateStatsSchema = z.object({
  rows: z.number().int().min(0),
  videos: z.number().int().min(0),
  policyLoss: stat,
  klLoss: stat,
  approxKl: stat,
  clipFracHigh: stat,
  clipFracLow: stat,
  ratioMean: stat,
  ratioStd: stat,
  onPolicyMaxRatioDeviation: stat,
  gradNorm: stat,
});
export type WireUpdateStats = z.infer<typeof wireUpdateStatsSchema>;

/** The policy a worker serves after a call: updates since its base, and the digest of its trainable parameters. */
const policyIdentity = {
  policyUpdates: z.number().int().min(0).nullable().default(null),
  policyDigest: policyDigestSchema.nullable().default(null),
};

export const updateResultSchema = z.object({ type: z.literal('update_result'), id: requestId, stats: wireUpdateStatsSchema, ...policyIdentity });
export const savedSchema = z.object({ type: z.literal('saved'), id: requestId, tag: stateTagSchema, ref: stateRefSchema, ...policyIdentity });
export type SavedMessage = z.infer<typeof savedSchema>;
export const restoredSchema = z.object({ type: z.literal('restored'), id: requestId, ref: stateRefSchema, ...policyIdentity });
export type RestoredMessage = z.infer<typeof restoredSchema>;
export const discardedSchema = z.object({ type: z.literal('discarded'), id: requestId, rolloutIds: z.array(rolloutIdSchema) });

export const workerStatusSchema = z.object({
  type: z.literal('status'),
  id: z.string().nullable(),
  generator: z.string(),
  trainable: z.boolean(),
  state: z.enum(['running', 'draining']),
  /** Requests waiting for or holding the generator, over all connections. */
  queued: z.number().int().min(0),
  connections: z.number().int().min(0),
  /** Rollouts and updates completed since start. */
  rollouts: z.number().int().min(0),
  updates: z.number().int().min(0),
  /**
   * Updates the served policy has had since its base checkpoint, counting those restored from the worker's state
   * folder after a restart; null when the worker does not keep its policy across restarts.
   */
  policyUpdates: z.number().int().min(0).nullable().default(null),
  policyDigest: policyDigestSchema.nullable().default(null),
});
export type WorkerStatusMessage = z.infer<typeof workerStatusSchema>;

export const workerPongSchema = z.object({ type: z.literal('pong'), id: z.string().nullable(), t: z.number().nullable() });
export const workerErrorSchema = z.object({ type: z.literal('error'), id: z.string().nullable(), code: z.string(), message: z.string() });
export type WorkerErrorMessage = z.infer<typeof workerErrorSchema>;

export const generatorWorkerMessageSchema = z.discriminatedUnion('type', [
  workerHelloSchema,
  generatedVideoHeaderSchema,
  generatedVideoRefSchema,
  rolloutResultSchema,
  updateResultSchema,
  discardedSchema,
  savedSchema,
  restoredSchema,
  workerStatusSchema,
  workerPongSchema,
  workerErrorSchema,
]);
export type GeneratorWorkerMessage = z.infer<typeof generatorWorkerMessageSchema>;

// ---- edge parsing (shared with the reward-server protocol: parse.ts) ----

/** Parses one client text message on the worker side: BAD_MESSAGE (not JSON), UNKNOWN_TYPE, or INVALID_REQUEST naming the field. */
export function parseGeneratorClientMessage(text: string): ParseOutcome<GeneratorClientMessage> {
  return parseTaggedMessage(text, generatorClientMessageSchema, GENERATOR_CLIENT_MESSAGE_TYPES);
}

/** Parses one worker text message on the client side. */
export function parseGeneratorWorkerMessage(text: string): ParseOutcome<GeneratorWorkerMessage> {
  return parseTaggedMessage(text, generatorWorkerMessageSchema, null);
}

/** JSON Schema of the generator-worker protocol, for workers and clients in other languages. */
export function generatorProtocolJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `vr-grpo generator-worker protocol v${GENERATOR_PROTOCOL_VERSION}`,
    $defs: {
      ClientMessage: z.toJSONSchema(generatorClientMessageSchema, { unrepresentable: 'any', io: 'input' }),
      WorkerMessage: z.toJSONSchema(generatorWorkerMessageSchema, { unrepresentable: 'any', io: 'output' }),
    },
  };
}
