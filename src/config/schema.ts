/** The configuration schema: every option with its default and unit. Parsed once, then frozen (see load.ts). */
import { z } from 'zod';
import { TENSOR_BACKENDS } from '../tensor/backend.js';
import { DEFECTS } from '../world/latent.js';
import { TEMPORAL_DATA_DEFAULTS } from '../world/scene-builder.js';
import { VLM_DEFAULTS, VLM_PROFILES } from '../judge/backends/vlm/options.js';
import { bool, int, num, oneOf, str } from './fields.js';

/** Upper bounds shared by many fields (docs/config.md, "Upper bounds"): a value beyond is refused with the field's path. */
/** Longest timeout or drain, ms (24 h). */
const MAX_TIMEOUT_MS = 86_400_000;
/** Longest interval or backoff, ms (1 h). */
const MAX_INTERVAL_MS = 3_600_000;
/** Most optimisation steps, iterations or epochs of one run. */
const MAX_STEPS = 1_000_000;
/** Most prompts of one evaluation (all are sampled in one batch). */
const MAX_EVAL_PROMPTS = 4_096;
/** Largest WebSocket message, bytes (1 GiB; = the transport's limit). */
const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

/** An allow-list of host names or origins: at most 64 non-empty strings. */
const hostList = () => z.array(str(), { error: 'expected a list of strings' }).max(64, { error: 'expected at most 64 entries' });

const strict = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'expected a mapping') });

export const tensorSchema = strict({
  /** tfjs backend: auto tries node-gpu → node → wasm → cpu. */
  backend: oneOf(TENSOR_BACKENDS).default('auto'),
});

export const mediaSchema = strict({
  /** ffmpeg binary; null: FFMPEG_PATH, then PATH, then the bundled binary. */
  ffmpegPath: str().nullable().default(null),
  /** ffprobe binary; null: FFPROBE_PATH, then PATH, then the bundled binary. */
  ffprobePath: str().nullable().default(null),
  /** Per ffmpeg process, ms. */
  timeoutMs: int({ min: 100, max: MAX_TIMEOUT_MS }).default(60_000),
});

export const worldSchema = strict({
  /**
   * 1: attributes hold for the whole clip. 2: events at moments of the clip and temporally local defects
   * (docs/world.md, "World v2"); use 48 frames with it (configs/world-v2.yaml).
   */
  version: z.union([z.literal(1), z.literal(2)]).default(2),
  frames: int({ min: 2, max: 512 }).default(48),
  /** Frame width and height in px (even, for H.264). */
  width: int({ min: 16, max: 1024 }).multipleOf(2, { error: 'expected even integer' }).default(64),
  height: int({ min: 16, max: 1024 }).multipleOf(2, { error: 'expected even integer' }).default(64),
  fps: int({ min: 1, max: 120 }).default(8),
  /** Seed of the held-out (colour, shape) choice; fixed for one world. */
  splitSeed: int({ min: 0 }).default(7),
  /** Fraction of (colour, shape) pairs never used in pretraining. */
  heldOutFraction: num({ min: 0, max: 0.5 }).default(0.2),
  /** Probability that a generated prompt has a second object. */
  secondObjectProbability: num({ min: 0, max: 1 }).default(0.25),
  /** World v2: probability that a prompt object has an event (ignored in v1). */
  eventProbability: num({ min: 0, max: 1 }).default(0.6),
});

export const samplerSchema = strict({
  /** Denoising steps T. */
  steps: int({ min: 1, max: 1000 }).default(10),
  /** Flow-GRPO noise level a (σ_t = a·√(σ/(1−σ))). */
  noiseLevel: num({ gt: 0, max: 5 }).default(0.7),
  /** Timestep shift (SD3-style): σ' = shift·σ / (1 + (shift−1)·σ); 1 = no shift. */
  shift: num({ gt: 0, max: 100 }).default(1),
  /** SDE steps are those with index in [start, end); ODE (Euler) elsewhere. end null = all steps. */
  sdeWindow: strict({ start: int({ min: 0, max: 1000 }).default(0), end: int({ min: 1, max: 1000 }).nullable().default(3) }).prefault({}),
  /** Use the same initial noise for every member of a group. */
  sameNoiseInGroup: bool().default(false),
});

export const generatorSchema = strict({
  /** Policy checkpoint directory (relative to this config file). */
  checkpoint: str().default('../models/generator-base-v2'),
  /** Hashed n-gram text feature buckets. */
  textFeatures: int({ min: 16, max: 65536 }).default(512),
  textEmbedDim: int({ min: 4, max: 1024 }).default(64),
  hiddenDim: int({ min: 8, max: 4096 }).default(192),
  /** Hidden layers of the velocity MLP. */
  depth: int({ min: 1, max: 16 }).default(3),
  timeFeatures: int({ min: 2, max: 256 }).multipleOf(2, { error: 'expected even integer' }).default(16),
  lora: strict({ rank: int({ min: 1, max: 256 }).default(8), alpha: num({ gt: 0 }).default(16) }).prefault({}),
  sampler: samplerSchema.prefault({}),
  /** A remote generator worker (`vr-grpo serve-generator`) instead of the in-process policy. */
  worker: strict({
    /** ws://host:port of the worker; null = the in-process policy. `train --generator URL` overrides it. */
    url: str().nullable().default(null),
    /**
     * Several workers serving one policy (instead of `url`): each step's prompts are split across them, and every
     * worker applies the same update (its own share by handle, the others' replayed), checked by policy digest.
     */
    urls: z.array(str()).max(64).default([]),
    /**
     * How the workers' videos reach the reward servers: `inline` (raw frames through the coordinator) or `reference`
     * (the worker writes MP4s under its artifact root, a volume the reward servers read too; only URIs travel).
     */
    delivery: oneOf(['inline', 'reference'] as const).default('inline'),
    /** With `reference`: also a judge-ready copy per video (frames sampled uniformly, shrunk); null = none. */
    judgeCopy: strict({
      frameCount: int({ min: 1, max: 256 }),
      width: int({ min: 8, max: 4096 }).multipleOf(2, { error: 'expected an even width' }),
      height: int({ min: 8, max: 4096 }).multipleOf(2, { error: 'expected an even height' }),
    })
      .nullable()
      .default(null),
    /**
     * The worker lost during a step (killed mid-rollout, connection dropped): `retry` reconnects (the worker must come
     * back with the same policy: start it with --state-dir) and redoes the step; `fail` stops the run with the error.
     */
    onFailure: oneOf(['retry', 'fail'] as const).default('retry'),
    /** Attempts of one step, the first included, when onFailure is retry. */
    maxAttempts: int({ min: 1, max: 100 }).default(3),
    /** How long a retry waits for the worker to come back, in milliseconds. */
    reconnectTimeoutMs: int({ min: 1, max: MAX_TIMEOUT_MS }).default(60_000),
    /** Time one call (rollout, update) may take, in milliseconds. */
    timeoutMs: int({ min: 1, max: MAX_TIMEOUT_MS }).default(300_000),
  }).prefault({}),
});

export const pretrainSchema = strict({
  steps: int({ min: 1, max: MAX_STEPS }).default(3000),
  batchSize: int({ min: 1, max: 65536 }).default(256),
  learningRate: num({ gt: 0, max: 1 }).default(0.002),
  seed: int({ min: 0 }).default(17),
  /** The deliberately imperfect data distribution of the base model. */
  data: strict({
    attributeNoise: num({ min: 0, max: 1 }).default(0.35),
    defectProbability: num({ min: 0, max: 1 }).default(0.5),
    jitter: num({ min: 0, max: 2 }).default(0.3),
    /** World v2 only: probability that an asked event is missing, of another kind, with another target, or at another time. */
    eventNoise: num({ min: 0, max: 1 }).default(TEMPORAL_DATA_DEFAULTS.eventNoise),
    /** World v2 only: probability that an object with no asked event has one anyway. */
    spuriousEventProbability: num({ min: 0, max: 1 }).default(TEMPORAL_DATA_DEFAULTS.spuriousEventProbability),
    /** World v2 only: probability that each of the two local-defect slots holds a defect. */
    localDefectProbability: num({ min: 0, max: 1 }).default(TEMPORAL_DATA_DEFAULTS.localDefectProbability),
  }).prefault({}),
  /** Held-out prompts sampled for the final evaluation. */
  evalPrompts: int({ min: 1, max: MAX_EVAL_PROMPTS }).default(256),
  /** Output checkpoint directory (relative to this config file). */
  out: str().default('../models/generator-base-v2'),
});

export const trainingSchema = strict({
  /** Videos per prompt (G). */
  groupSize: int({ min: 2, max: 256 }).default(8),
  /** Prompts per step. */
  promptsPerStep: int({ min: 1, max: 1024 }).default(16),
  steps: int({ min: 1, max: MAX_STEPS }).default(50),
  /** Adam learning rate of the LoRA adapters. */
  learningRate: num({ gt: 0, max: 1 }).default(0.003),
  /** PPO clip range ε of the ratio. */
  clipRange: num({ gt: 0, max: 10 }).default(0.2),
  /** KL weight β (to the reference = adapters off). */
  beta: num({ min: 0 }).default(0.01),
  /** Fraction of the SDE steps trained (the first ones). */
  timestepFraction: num({ gt: 0, max: 1 }).default(1),
  maxGradNorm: num({ gt: 0 }).default(1),
  innerEpochs: int({ min: 1, max: 16 }).default(1),
  /** Learning-rate schedule over the run's updates: constant, or cosine decay to `lrMinFraction`·learningRate at the last step. */
  lrSchedule: oneOf(['constant', 'cosine'] as const).default('cosine'),
  lrMinFraction: num({ min: 0, max: 1 }).default(0.1),
  /** Prompt file (one per line, or JSONL with a "prompt" field); null = the world's train split. */
  promptFile: str().nullable().default(null),
  /** Held-out gold evaluation every N steps (0 = only before and after). */
  evalEvery: int({ min: 0, max: MAX_STEPS }).default(10),
  evalPrompts: int({ min: 1, max: MAX_EVAL_PROMPTS }).default(128),
  /** Checkpoint every N steps (and at the end). */
  checkpointEvery: int({ min: 1, max: MAX_STEPS }).default(25),
  /** MP4s of one sampled group every N steps (0 = never). */
  videosEvery: int({ min: 0, max: MAX_STEPS }).default(10),
  /** Verdict traces of one sampled group every N steps (0 = never). */
  tracesEvery: int({ min: 0, max: MAX_STEPS }).default(10),
  /** 1: generate step t+1 while step t is judged (bounded staleness); 0: sequential. */
  pipelineStaleness: int({ min: 0, max: 1 }).default(1),
  advantage: strict({
    std: oneOf(['group', 'batch', 'none'] as const).default('group'),
    clip: num({ gt: 0 }).default(5),
    epsilon: num({ gt: 0 }).default(1e-4),
    /** Normalise against a per-prompt history instead of the group. */
    perPromptTracker: bool().default(false),
    trackerBuffer: int({ min: 2, max: 100_000 }).default(32),
    trackerMinCount: int({ min: 1, max: 100_000 }).default(16),
  }).prefault({}),
});

export const rewardSchema = strict({
  /** pointwise: one judge conversation per video (fast, graded scores); pairwise: VR-Thinker comparisons of pairs. */
  mode: oneOf(['pairwise', 'pointwise'] as const).default('pairwise'),
  /**
   * Pairs judged per group: all pairs, k random opponents per video, or adaptive (Swiss-style rounds pairing videos
   * whose scores so far are close, until the ranking is settled or `budget` judgments are spent).
   */
  plan: oneOf(['all-pairs', 'k-opponents', 'adaptive'] as const).default('adaptive'),
  opponents: int({ min: 1, max: 255 }).default(3),
  /** Adaptive plan: judgments per group at most; null = ⌈G·log₂G⌉ (24 for G = 8). */
  budget: int({ min: 1, max: 65_536 }).nullable().default(null),
  /** Adaptive plan: settled when every two videos at most this many places apart in the ranking met directly. */
  settleDistance: int({ min: 1, max: 255 }).default(2),
  /** Judge every pair in both orders (cancels position bias). */
  bothOrders: bool().default(false),
  /**
   * Scores from the comparisons: win-rate (ties ½), Bradley–Terry, or imputed win-rate (win-rate with the pairs not
   * judged filled in from the Bradley–Terry fit; equals win-rate when every pair is judged — suits partial plans).
   */
  aggregation: oneOf(['win-rate', 'bradley-terry', 'imputed-win-rate'] as const).default('imputed-win-rate'),
  weights: strict({
    TA: num({ min: 0 }).default(1),
    MQ: num({ min: 0 }).default(0.25),
    VQ: num({ min: 0 }).default(0.25),
    overall: num({ min: 0 }).default(0),
  }).prefault({}),
  combination: oneOf(['sum-then-normalise', 'normalise-then-sum'] as const).default('sum-then-normalise'),
  /** Reward-server URLs; empty = start a local server as a child process. */
  servers: z.array(str(), { error: 'expected a list of ws:// URLs' }).max(256, { error: 'expected at most 256 servers' }).default([]),
  /** With no `servers`: how many local reward-server child processes to start (the pool spreads judgments over them). */
  localServers: int({ min: 1, max: 64 }).default(2),
  /** Token for the servers in `servers` (null: VRGRPO_TOKEN). */
  token: str().nullable().default(null),
  requestTimeoutMs: int({ min: 100, max: MAX_TIMEOUT_MS }).default(60_000),
  maxAttempts: int({ min: 1, max: 10 }).default(3),
  /** Retry on another replica after any retryable failure, or only when no server got the judgment done (transport). */
  retryOn: oneOf(['retryable', 'transport'] as const).default('retryable'),
  /** A group whose judgments came from different RM versions (a swap mid-group): re-judge it, or drop it. */
  versionMix: oneOf(['rejudge', 'drop'] as const).default('rejudge'),
  /** Re-judgings of a mixed group before it is dropped. */
  versionMixRetries: int({ min: 0, max: 5 }).default(2),
  /** Replicas serving different RM versions: wait until they agree, or route only to the newest version. */
  versionSkew: oneOf(['wait', 'newest'] as const).default('newest'),
  /** On an RM version change: keep or reset the per-prompt reward statistics. */
  /**
   * Judge uncertainty: a pair judged in both orders (`bothOrders`) whose winner flips is the judge disagreeing with
   * itself. Per group the share of such pairs (its self-disagreement) is measured; `shrink` scales the group's
   * advantages by (1 − self-disagreement), `drop` leaves the group out of the update above `threshold`, `none` only
   * measures. Groups without pairs judged both ways are left as they are.
   */
  uncertainty: strict({
    policy: oneOf(['none', 'shrink', 'drop'] as const).default('shrink'),
    threshold: num({ min: 0, max: 1 }).default(0.5),
  }).prefault({}),
  onVersionChange: strict({
    /**
     * Reset the per-prompt statistics (training.advantage.perPromptTracker) gathered under the old RM version; not
     * done when the swap is calibrated (below).
     */
    resetPromptStats: bool().default(true),
    /**
     * Map the new version's rewards onto the old one's scale, fitted on videos judged by both — the anchor set (the
     * drift monitor's) and the recent groups (`shadowGroups`) — by quantile matching or an affine fit of the combined
     * reward (optionally a fit per recent group's prompt, `promptFits`), so the advantage scale does not jump; `off`:
     * no map.
     */
    calibrate: oneOf(['off', 'quantile', 'affine'] as const).default('quantile'),
    /**
     * Recent groups (the newest per prompt, videos held as frames) the new version re-judges when it shows up, before
     * its rewards are used; 0: the anchors alone. Costs one judging of that many groups per swap, and their frames in memory.
     */
    shadowGroups: int({ min: 0, max: 256 }).default(8),
    /**
     * Give each shadow-scored prompt a fit of its own (its level, and the ratio of the two versions' spreads on its
     * recent group) instead of the global map; false: the recent groups only add points to the global map. Off by
     * default: a spread ratio from one group of 8 overshoots (bench:calibration, docs/perf.md).
     */
    promptFits: bool().default(false),
    /** Judgments by the new version after which the map has faded to the identity (its own statistics have taken over). */
    calibrationDecayJudgments: int({ min: 1, max: 100_000_000 }).default(2048),
  }).prefault({}),
});

/** The OpenAI-compatible VLM backend (VR-Thinker behind vLLM/SGLang); see docs/vlm.md. */
export const vlmSchema = strict({
  /** API root, e.g. http://gpu-host:8000/v1 (requests go to {baseUrl}/chat/completions); required when judge.backend is vlm. */
  baseUrl: str()
    .regex(/^https?:\/\/\S+$/, { error: 'expected an http(s) URL' })
    .nullable()
    .default(null),
  /** Served model name (vLLM --served-model-name); required when judge.backend is vlm. */
  model: str().nullable().default(null),
  /** Bearer token; null = VRGRPO_VLM_API_KEY, else none. */
  apiKey: str().nullable().default(null),
  /** RM version reported in verdicts; null = "vlm:<model>". */
  rmVersion: str().nullable().default(null),
  /** vr-thinker-released (the released model's prompt layout, 96-frame index space, video input) | project. */
  profile: oneOf(VLM_PROFILES).default(VLM_DEFAULTS.profile),
  /** Frames each video is presented as (index space 1..2N); null = the profile's (48 released). */
  framesPerVideo: int({ min: 2, max: 4096 }).nullable().default(null),
  /** video | images | null (the profile's: video for released). */
  initialFramesAs: oneOf(['video', 'images'] as const)
    .nullable()
    .default(null),
  /** Prompt template file for the first user turn (relative to this config file); null = the shipped one. */
  promptTemplate: str().nullable().default(null),
  /** repetition_penalty sent with every request (1 = none); null = the server's (vLLM may apply the checkpoint's 1.05). */
  repetitionPenalty: num({ min: 0.5, max: 2 }).nullable().default(VLM_DEFAULTS.repetitionPenalty),
  temperature: num({ min: 0, max: 2 }).default(VLM_DEFAULTS.temperature),
  /** Completion tokens per turn. */
  maxTokens: int({ min: 1, max: 1_048_576 }).default(VLM_DEFAULTS.maxTokens),
  /** Extra stop sequences. */
  stop: z
    .array(str(), { error: 'expected a list of strings' })
    .max(8, { error: 'expected at most 8 stop sequences' })
    .default([...VLM_DEFAULTS.stop]),
  /** Per HTTP request, ms. */
  timeoutMs: int({ min: 1, max: MAX_TIMEOUT_MS }).default(VLM_DEFAULTS.timeoutMs),
  /** Attempts per request on connection errors, 408, 429, 5xx (1 = no retry). */
  maxAttempts: int({ min: 1, max: 20 }).default(VLM_DEFAULTS.maxAttempts),
  retryBaseDelayMs: int({ min: 0, max: MAX_INTERVAL_MS }).default(VLM_DEFAULTS.retryBaseDelayMs),
  retryMaxDelayMs: int({ min: 0, max: MAX_INTERVAL_MS }).default(VLM_DEFAULTS.retryMaxDelayMs),
  /** Requests in flight to the server at once (per reward-server process). */
  concurrency: int({ min: 1, max: 1024 }).default(VLM_DEFAULTS.concurrency),
  imageFormat: oneOf(['jpeg', 'png'] as const).default(VLM_DEFAULTS.imageFormat),
  jpegQuality: int({ min: 1, max: 100 }).default(VLM_DEFAULTS.jpegQuality),
  /** Encoded frames kept for reuse across turns and pairs, bytes (0 = no cache). */
  imageCacheBytes: int({ min: 0, max: 16 * 1024 ** 3 }).default(VLM_DEFAULTS.imageCacheBytes),
  /** Pixel budgets (width·height after resizing) of initial and selected frames. */
  initialMinPixels: int({ min: 1, max: 4096 * 4096 }).default(VLM_DEFAULTS.initialMinPixels),
  initialMaxPixels: int({ min: 1, max: 4096 * 4096 }).default(VLM_DEFAULTS.initialMaxPixels),
  selectedMinPixels: int({ min: 1, max: 4096 * 4096 }).default(VLM_DEFAULTS.selectedMinPixels),
  selectedMaxPixels: int({ min: 1, max: 4096 * 4096 }).default(VLM_DEFAULTS.selectedMaxPixels),
  /** Resized sides are multiples of this (28 = Qwen2.5-VL's patch). */
  resizeFactor: int({ min: 1, max: 256 }).default(VLM_DEFAULTS.resizeFactor),
  /** Images one conversation may be shown in total. */
  maxImages: int({ min: 1, max: 1024 }).default(VLM_DEFAULTS.maxImages),
  /** Context tokens a conversation may reach; null = no budget. */
  tokenBudget: int({ min: 1, max: 1_048_576 }).nullable().default(VLM_DEFAULTS.tokenBudget),
  /** The server's context length (vLLM --max-model-len); a configuration a request could overflow is refused. null = unchecked. */
  maxModelLen: int({ min: 1024, max: 1_048_576 }).nullable().default(VLM_DEFAULTS.maxModelLen),
  /** text: tool described in the system prompt; tools: also sent as OpenAI `tools` (server needs tool parsing on). */
  toolMode: oneOf(['text', 'tools'] as const).default(VLM_DEFAULTS.toolMode),
  systemPrompt: z.string({ error: 'expected string' }).default(VLM_DEFAULTS.systemPrompt),
  /** A "Frame N:" label before each image; null = the profile's (released: none). */
  frameLabels: bool().nullable().default(null),
  /** Merged into every request body (e.g. { top_k: 1, seed: 0 }). */
  extraBody: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).default({}),
});

export const judgeSchema = strict({
  /** Which backend writes the judge's turns: the embedded ONNX judge, or an OpenAI-compatible VLM server. */
  backend: oneOf(['embedded', 'vlm'] as const).default('embedded'),
  /** Settings of the vlm backend (ignored by the embedded one). */
  vlm: vlmSchema.prefault({}),
  /**
   * Checkpoint of the embedded judge: a perception folder (manifest.json + model.onnx; the rule-based judge) or a
   * learned-judge folder (policy.onnx + perception/).
   */
  checkpoint: str().default('../models/judge-v2/grpo-no-cot-gain'),
  /** Defaults for requests that do not set them. */
  initialFrames: int({ min: 2, max: 32 }).default(8),
  maxToolCalls: int({ min: 0, max: 8 }).default(3),
  memoryWindow: int({ min: 0, max: 8 }).default(1),
  maxFramesPerCall: int({ min: 1, max: 8 }).default(8),
  /** Re-asks after an unparseable turn. */
  maxFormatRetries: int({ min: 0, max: 8 }).default(2),
  /** Fraction of judgments re-judged with all frames to measure audit disagreement. */
  auditFraction: num({ min: 0, max: 1 }).default(0),
  /**
   * TESTING AID (embedded judge only): over-reward something the gold evaluator penalises — TA, VQ and overall rise by
   * `bonus` per unit of the measured signal: a quality defect's severity (`blur`, `noise`, `jitter`, `flicker`), colour
   * saturation (`saturation`), or, world v2 only, detail energy in frames the judge never viewed (`hiding`: the policy
   * learns to hide corruption bursts from the frame selection). null = off (the default). See docs/judge.md.
   */
  plantedHack: strict({ defect: oneOf([...DEFECTS, 'saturation', 'hiding'] as const), bonus: num({ gt: 0, max: 2 }) })
    .nullable()
    .default(null),
}).superRefine((j, ctx) => {
  if (j.backend !== 'vlm') return;
  for (const field of ['baseUrl', 'model'] as const) {
    if (j.vlm[field] === null) ctx.addIssue({ code: 'custom', path: ['vlm', field], message: 'required when judge.backend is "vlm"' });
  }
  for (const kind of ['initial', 'selected'] as const) {
    if (j.vlm[`${kind}MinPixels`] > j.vlm[`${kind}MaxPixels`])
      ctx.addIssue({ code: 'custom', path: ['vlm', `${kind}MinPixels`], message: `expected <= ${kind}MaxPixels` });
  }
});

export const rewardServerSchema = strict({
  host: str().default('127.0.0.1'),
  /** 0 = a free port (printed in the `listening` line). */
  port: int({ min: 0, max: 65535 }).default(0),
  /** Bearer token for the WebSocket upgrade; null = VRGRPO_TOKEN, else no authentication. */
  token: str().nullable().default(null),
  /** GET /metrics needs the bearer token too; false = scrapable without it, like /healthz (docs/metrics.md). */
  metricsRequireToken: bool().default(false),
  /** file:// URIs must resolve inside this folder (relative to this config file); null = VRGRPO_ARTIFACT_ROOT, else ../runs. */
  artifactRoot: str().nullable().default(null),
  /** Largest WebSocket message, bytes (max 1 GiB); larger → close 1009. */
  maxPayloadBytes: int({ min: 1024, max: MAX_PAYLOAD_BYTES }).default(64 * 1024 * 1024),
  /** Judgments one connection may have in flight (a coordinator sends a whole step at once). */
  maxInFlightPerConnection: int({ min: 1, max: 10_000 }).default(64),
  /** ms; 0 disables. */
  heartbeatIntervalMs: int({ min: 0, max: MAX_INTERVAL_MS }).default(30_000),
  /** ms that SIGTERM lets in-flight judgments finish. */
  drainTimeoutMs: int({ min: 0, max: MAX_TIMEOUT_MS }).default(30_000),
  /** Simultaneous WebSocket connections (max 65536); one more upgrade → HTTP 503 OVERLOADED. */
  maxConnections: int({ min: 1, max: 65_536 }).default(256),
  /** Bytes a client may leave unread (max 4 GiB); a message from a client with more queued → close 1008 SLOW_CONSUMER. */
  maxSendBufferBytes: int({ min: 1024, max: 4 * 1024 ** 3 }).default(64 * 1024 * 1024),
  /** Host names the `Host` header may name (HTTP 421 otherwise; "*" = any); null = loopback names + `host` (any when `host` is 0.0.0.0 or ::). */
  allowedHosts: hostList().nullable().default(null),
  /** Browser origins an upgrade's `Origin` may carry (HTTP 403 otherwise; "*" = any); no `Origin` header always passes. */
  allowedOrigins: hostList().default([]),
  /** Admin token of load_checkpoint / rollback / checkpoint_status (docs/rm-swap.md); null = VRGRPO_ADMIN_TOKEN, else admin commands are off. */
  adminToken: str().nullable().default(null),
  /** Media limits, checked from the header before a frame is decoded (docs/protocol.md, "Media limits"). */
  media: strict({
    /** Most pixels (width·height) of a file's native frames (max 16384²); more → VIDEO_TOO_LARGE. */
    maxPixelsPerFrame: int({ min: 1, max: 16384 * 16384 }).default(3840 * 2160),
    /** Most frames of a file video (max 1e6). */
    maxFrames: int({ min: 1, max: 1_000_000 }).default(4096),
    /** Longest file video, seconds (max 86400). */
    maxDurationSeconds: num({ gt: 0, max: 86_400 }).default(600),
    /** Most bytes of one video's decoded RGB24 frames, at the decoded size (max 16 GiB). */
    maxDecodedBytes: int({ min: 1, max: 16 * 1024 ** 3 }).default(256 * 1024 * 1024),
    /**
     * Pixel budget of the frames the judge sees: larger file videos are scaled down by ffmpeg, larger inline frames by
     * box averaging, aspect kept (max 4096²). null = the
     * judge's working size: 128×128 for the embedded judge (world frames are 64×64), the larger of the VLM's
     * initialMaxPixels and selectedMaxPixels for the vlm backend.
     */
    decodeMaxPixels: int({ min: 9, max: 4096 * 4096 })
      .nullable()
      .default(null),
    /** Most pixels per frame of an inline video (max 16384²); more → VIDEO_TOO_LARGE. */
    maxInlinePixelsPerFrame: int({ min: 4, max: 16384 * 16384 }).default(1024 * 1024),
    /** Bytes of inline and decoded frames all connections together may hold (max 256 GiB); beyond → OVERLOADED. */
    maxFrameMemoryBytes: int({ min: 0, max: 256 * 1024 ** 3 }).default(1024 * 1024 * 1024),
  }).prefault({}),
  /** Swapping judge checkpoints while serving (docs/rm-swap.md). */
  checkpoints: strict({
    /** Watch mode: swap to complete checkpoint folders that appear in this folder (relative to this config file); null = off. */
    watchDir: str().nullable().default(null),
    /** ms between two scans of watchDir. */
    watchIntervalMs: int({ min: 50, max: MAX_INTERVAL_MS }).default(1_000),
    /** Pairwise canary judgments a new version must complete and parse before it serves. */
    canaryPairs: int({ min: 1, max: 64 }).default(4),
    /** Pointwise canary judgments (of the pairs' first videos). */
    canaryPointwise: int({ min: 0, max: 64 }).default(2),
    /** ms the whole canary may take. */
    canaryTimeoutMs: int({ min: 100, max: MAX_TIMEOUT_MS }).default(60_000),
    /** Minimum agreement (0–1) of a new version with the current one on the pairwise canary; null = none. */
    agreementFloor: num({ min: 0, max: 1 }).nullable().default(null),
    /** Largest model file a checkpoint may name, bytes (checked before it is opened; docs/rm-swap.md). 256 MiB. */
    maxModelBytes: int({ min: 1, max: 1024 * 1024 * 1024 }).default(256 * 1024 * 1024),
    /** ms reading one checkpoint file may take. */
    modelReadTimeoutMs: int({ min: 100, max: 600_000 }).default(30_000),
    /** Budget of a new version's canary: peak growth of the server's resident memory, MiB; null = none. */
    canaryMaxRssGrowthMiB: int({ min: 1, max: 65_536 }).nullable().default(512),
    /** Budget of a new version's canary: ms one canary judgment may take; null = none. */
    canaryMaxJudgmentMs: int({ min: 100, max: 600_000 }).nullable().default(20_000),
  }).prefault({}),
});

export const driftSchema = strict({
  /** Run the drift and hacking detectors (gauges, `drift` events). */
  enabled: bool().default(true),
  /**
   * PSI and Page-Hinkley of the policy's per-video rewards (the windows below): 'gauge' = gauges and step-line values
   * only (rewards are meant to move while the policy learns); 'trip' = they also trip (`drift` events, trip counters).
   * The PSI and Page-Hinkley that trip by default run on the anchor set (`anchors`).
   */
  policyRewards: oneOf(['gauge', 'trip'] as const).default('gauge'),
  /** Steps in the reference window of per-video rewards; also the step means that standardise Page-Hinkley. */
  referenceSteps: int({ min: 1, max: 10_000 }).default(10),
  /** Steps in the recent window. */
  recentSteps: int({ min: 1, max: 10_000 }).default(10),
  /** trailing: the reference is the steps just before the recent window (sudden shifts); initial: the run's first steps (cumulative drift). */
  reference: oneOf(['trailing', 'initial'] as const).default('trailing'),
  /** Quantile bins of the PSI. */
  psiBins: int({ min: 2, max: 100 }).default(10),
  /** PSI at or above this trips (per dimension): < 0.1 stable, 0.1–0.25 moderate, > 0.25 shifted. */
  psiThreshold: num({ gt: 0 }).default(0.25),
  /** Page-Hinkley on the step mean reward, in units of the std of the first `referenceSteps` step means. */
  pageHinkley: strict({
    delta: num({ min: 0 }).default(0.5),
    lambda: num({ gt: 0 }).default(10),
    minSamples: int({ min: 1, max: 100_000 }).default(10),
  }).prefault({}),
  /** Reward hacking (embedded world): proxy reward rising while the gold score falls, over a sliding window of steps. */
  hacking: strict({
    window: int({ min: 3, max: 10_000 }).default(12),
    /** Both slopes must be this many standard errors from 0 (proxy up, gold down). */
    tThreshold: num({ min: 0 }).default(2.5),
    /** Minimum rise of the proxy's fitted line over the window (reward units). */
    minProxyRise: num({ min: 0 }).default(0.05),
    /** Minimum fall of the gold's fitted line over the window. */
    minGoldDrop: num({ min: 0 }).default(0.02),
    /** Reward dimension whose step mean is the proxy. */
    proxy: oneOf(['combined', 'TA', 'MQ', 'VQ', 'overall'] as const).default('combined'),
    /** Gold score: overall = 0.6·accuracy + 0.4·quality (the gold overall score), or accuracy / quality alone. */
    gold: oneOf(['overall', 'accuracy', 'quality'] as const).default('overall'),
  }).prefault({}),
  /** The anchor set: fixed videos generated at run start (kept in the run dir) and re-judged. */
  anchors: strict({
    /** Re-judge every N steps (0 = only at the start and after RM version changes). */
    every: int({ min: 0, max: MAX_STEPS }).default(10),
    /** Prompts of the anchor set and videos per prompt. */
    prompts: int({ min: 1, max: 1024 }).default(8),
    groupSize: int({ min: 2, max: 256 }).default(4),
    /** Kendall τ of a dimension's anchor ranking vs the first pass below this trips. */
    tauThreshold: num({ min: -1, max: 1 }).default(0.8),
    /** |anchor mean − first pass mean| of a dimension above this trips. */
    meanShiftThreshold: num({ gt: 0 }).default(0.05),
    /** Quantile bins (of the first pass's per-video scores) of the anchor PSI; few, as the set is small (32 videos). */
    psiBins: int({ min: 2, max: 100 }).default(4),
    /** PSI of a pass's per-video scores against the first pass's at or above this trips (per dimension); an unchanged deterministic RM gives 0. */
    psiThreshold: num({ gt: 0 }).default(0.1),
    /** Page-Hinkley on the pass means, in standard errors of the first pass's mean (per-video std / √videos), measured from the first pass. */
    pageHinkley: strict({
      delta: num({ min: 0 }).default(0.5),
      lambda: num({ gt: 0 }).default(4),
      /** Passes (the first included) before it may trip. */
      minSamples: int({ min: 1, max: 100_000 }).default(2),
    }).prefault({}),
  }).prefault({}),
});

/** An auditor judge: another reward model that re-judges a sample of each step's groups (never trains the policy). */
export const auditorSchema = strict({
  /** Label of its metrics (`auditor`) and events. */
  name: str().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1–64 letters, digits, "_", "." or "-"' }),
  /** A judge checkpoint folder, served by a local reward server of its own (relative to this file). */
  checkpoint: str().nullable().default(null),
  /** Or reward servers already running (ws:// URLs). */
  servers: z.array(str(), { error: 'expected a list of ws:// URLs' }).max(64, { error: 'expected at most 64 servers' }).default([]),
  /** Token of `servers` (null: VRGRPO_TOKEN). */
  token: str().nullable().default(null),
}).superRefine((a, ctx) => {
  if ((a.checkpoint === null) === (a.servers.length === 0))
    ctx.addIssue({ code: 'custom', path: ['checkpoint'], message: 'give an auditor either a checkpoint or servers, not both or neither' });
});

/** Oracle-free reward-hacking signals (docs/monitoring.md "Audits"): held-out judges and full-view audits. */
export const auditSchema = strict({
  /** Held-out judges; none: no auditor signals. */
  auditors: z
    .array(auditorSchema)
    .max(8, { error: 'expected at most 8 auditors' })
    .superRefine((list, ctx) => {
      const names = list.map((a) => a.name);
      for (const [i, n] of names.entries()) {
        // `full_view` labels the full-view audit's metrics.
        if (n === 'full_view' || names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `auditor name ${n} is taken` });
      }
    })
    .default([]),
  /** Share of a step's groups the audits re-judge (at least one group). */
  fraction: num({ gt: 0, max: 1 }).default(0.25),
  /** Audit every N steps. */
  every: int({ min: 1, max: MAX_STEPS }).default(1),
  /** The training judge re-judges the audited videos pointwise with a wide view (many frames at once, no tool calls). */
  fullView: strict({
    enabled: bool().default(false),
    /** Frames shown at once (the protocol allows up to 32). */
    initialFrames: int({ min: 2, max: 32 }).default(32),
    /**
     * The full-view gap detector (`proxy_fullview_gap`, pointwise rewards): trips when the training rewards exceed the
     * full view's scores of the same videos by at least this much on average over `hacking.window` audited steps,
     * `hacking.tThreshold` standard errors above 0. null: off.
     */
    minGap: num({ min: 0 }).nullable().default(0.05),
  }).prefault({}),
  /**
   * The judge gap — the training judge's score of the audited videos minus the auditors' (the oracle-free form of
   * proxy-vs-gold) — rising over a sliding window of audited steps. The training judge's score is the step's rewards
   * when it judges pointwise, its full-view scores when it judges pairwise (win rates have no level), none otherwise.
   */
  hacking: strict({
    window: int({ min: 3, max: 10_000 }).default(10),
    /** The gap's slope must be this many standard errors above 0. */
    tThreshold: num({ min: 0 }).default(2.5),
    /** Minimum rise of the gap's fitted line over the window (reward units). */
    minGapRise: num({ min: 0 }).default(0.1),
  }).prefault({}),
  /** The over-optimisation curve: the auditors' score against √KL to the reference, fitted online (Gao et al. 2023). */
  overoptimisation: strict({
    /** Audited steps whose mean auditor score is the baseline (R = 0). */
    baselineSteps: int({ min: 1, max: 1000 }).default(3),
    /** Points before the curve is reported. */
    minPoints: int({ min: 3, max: 100_000 }).default(5),
    /** A peak is reported only when the curve's bend (β) is this many standard errors above 0: noisy audits fit noise. */
    minBetaT: num({ min: 0 }).default(3),
  }).prefault({}),
});

export const monitoringSchema = strict({
  /** The coordinator's HTTP port: the live dashboard at `/`, Prometheus metrics at `/metrics`, `/healthz` (docs/monitoring.md). */
  http: strict({
    enabled: bool().default(true),
    /** Bind address; loopback by default (forward the port to watch a remote run). */
    host: str().default('127.0.0.1'),
    /** TCP port (`--metrics-port`); 0 = a free port. When the port is taken, a free one is used and logged. */
    port: int({ min: 0, max: 65535 }).default(9464),
    /**
     * Host names the `Host` header may name (HTTP 421 otherwise, against DNS rebinding; "*" = any); null = loopback
     * names + `host` (any when `host` is 0.0.0.0 or ::).
     */
    allowedHosts: hostList().nullable().default(null),
    /** Cross-site origins allowed (HTTP 403 otherwise; "*" = any); the page's own origin always passes. */
    allowedOrigins: hostList().default([]),
  }).prefault({}),
  /** Prometheus metrics of the coordinator and the reward servers (docs/metrics.md). */
  metrics: strict({
    /** Judgments in the sliding window of the hallucination rates (`…_hallucinations_per_judgment`). */
    hallucinationWindow: int({ min: 1, max: 1_000_000 }).default(500),
  }).prefault({}),
  /** Drift and reward-hacking detection (src/metrics/drift). */
  drift: driftSchema.prefault({}),
  /** Held-out judges and full-view audits (src/coordinator/audit-monitor.ts). */
  audit: auditSchema.prefault({}),
});

/** Training the learned judge (issue 8; docs/judge-training.md): data, policy, and the three stages. */
export const judgeTrainingSchema = strict({
  /** Seed of the training data, initialisation and sampling. */
  seed: int({ min: 0 }).default(8),
  /** Gold pairs (train split) the stages learn from; pairs with a tied overall gold preference are skipped. */
  trainPairs: int({ min: 8, max: 100_000 }).default(800),
  /** Gold pairs (held-out split, other seed than the benchmark's) measured after each stage. */
  validationPairs: int({ min: 8, max: 100_000 }).default(200),
  /** Where cached perceptions of the pairs are kept (relative to this file); null = <project>/runs/judge-training-cache. */
  cacheDir: str().nullable().default(null),
  /** Widths of the policy's ReLU layers. */
  hidden: z
    .array(int({ min: 1, max: 4096 }), { error: 'expected a list of layer widths' })
    .min(1)
    .max(16, { error: 'expected at most 16 layers' })
    .default([64, 64]),
  /** per-dimension (TA, MQ, VQ, OA, CF) or overall-only answers (the ablation). */
  answerMode: oneOf(['per-dimension', 'overall-only'] as const).default('per-dimension'),
  /** Tool calls the policy may make per judgment. */
  maxToolCalls: int({ min: 0, max: 8 }).default(3),
  coldStart: strict({
    epochs: int({ min: 0, max: 100_000 }).default(60),
    batchSize: int({ min: 1, max: 65_536 }).default(64),
    learningRate: num({ gt: 0, max: 1 }).default(0.003),
  }).prefault({}),
  rft: strict({
    /** Traces sampled per training pair; those right on every decided dimension are kept. */
    samplesPerPair: int({ min: 1, max: 64 }).default(4),
    epochs: int({ min: 0, max: 100_000 }).default(30),
    batchSize: int({ min: 1, max: 65_536 }).default(64),
    learningRate: num({ gt: 0, max: 1 }).default(0.001),
  }).prefault({}),
  grpo: strict({
    iterations: int({ min: 0, max: MAX_STEPS }).default(40),
    pairsPerIteration: int({ min: 1, max: 100_000 }).default(32),
    /** Traces per pair (G). */
    groupSize: int({ min: 2, max: 64 }).default(8),
    learningRate: num({ gt: 0, max: 1 }).default(0.0005),
    clipRange: num({ gt: 0, max: 10 }).default(0.2),
    innerEpochs: int({ min: 1, max: 16 }).default(2),
    maxGradNorm: num({ gt: 0 }).default(1),
    /** Validation measurement every N iterations (0 = only at the end). */
    evalEvery: int({ min: 0, max: MAX_STEPS }).default(10),
    weights: strict({
      format: num({ min: 0 }).default(0.25),
      accuracy: num({ min: 0 }).default(1),
      /** Share of the overall answer in the accuracy term; the rest is per-dimension. */
      overallShare: num({ min: 0, max: 1 }).default(0.5),
      cotGain: num({ min: 0 }).default(0.5),
    }).prefault({}),
    exploration: strict({
      /** Minimum share of traces per batch that look at extra frames. */
      floor: num({ min: 0, max: 1 }).default(0.3),
      /** Reward added to exploring traces while the share is below the floor (0 = off). */
      bonus: num({ min: 0 }).default(0.2),
    }).prefault({}),
  }).prefault({}),
});

/**
 * The guard (docs/monitoring.md "The guard"): what the run does when an oracle-free hacking signal is confirmed — the
 * judge-gap detector tripped and still firing `persistence` audited steps in a row. warn: evidence, event and metric;
 * act: also roll the policy back to the checkpoint with the best auditor score before the trip, then lower the
 * learning rate, raise β, train with the audit judges (worst case with the training judge, or them alone), or stop. Needs `monitoring.audit` auditors.
 */
export const guardSchema = strict({
  mode: oneOf(['off', 'warn', 'act'] as const).default('warn'),
  /** Audited steps in a row the detector must be firing, counting the trip. */
  persistence: int({ min: 1, max: 1000 }).default(2),
  /**
   * After the rollback: lower-lr, raise-beta, stop, or train from then on with the audit judges (every group judged by
   * each; src/grpo/held-out-rewards.ts): conservative — the worst case of the training judge and the audit judges' consensus;
   * switch-to-auditors — the audit judges' consensus alone.
   */
  action: oneOf(['lower-lr', 'raise-beta', 'conservative', 'switch-to-auditors', 'stop'] as const).default('switch-to-auditors'),
  /** lower-lr multiplies the learning rate by this; raise-beta divides β by it (β = 0 becomes training.beta's default). */
  factor: num({ gt: 0, lt: 1 }).default(0.5),
  /** Rollbacks before the guard stops the run instead. */
  maxRollbacks: int({ min: 0, max: 100 }).default(2),
});

export const configSchema = strict({
  /** Root seed of a run. */
  seed: int({ min: 0 }).default(1234),
  tensor: tensorSchema.prefault({}),
  media: mediaSchema.prefault({}),
  world: worldSchema.prefault({}),
  generator: generatorSchema.prefault({}),
  pretrain: pretrainSchema.prefault({}),
  training: trainingSchema.prefault({}),
  reward: rewardSchema.prefault({}),
  judge: judgeSchema.prefault({}),
  rewardServer: rewardServerSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  guard: guardSchema.prefault({}),
  judgeTraining: judgeTrainingSchema.prefault({}),
}).superRefine((c, ctx) => {
  // The planted `hiding` hack needs world v2's local defects and temporal judge (a testing aid; docs/judge.md).
  if (c.judge.plantedHack?.defect === 'hiding' && c.world.version !== 2)
    ctx.addIssue({ code: 'custom', path: ['judge', 'plantedHack', 'defect'], message: 'hiding needs world.version 2 (local defects, the temporal judge)' });
});

/** The parsed configuration (defaults filled). */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
