/**
 * Options of the OpenAI-compatible VLM backend: documented defaults (also used by the config schema), validation, and
 * compilation into a complete, frozen {@link ResolvedVlmOptions}.
 */
import { z } from 'zod';
import { VrGrpoError } from '../../../errors/index.js';

/** Qwen2.5-VL's pixel unit: one visual token covers a 28×28 patch (2×2 merged 14-px patches). */
export const QWEN_PATCH = 28;

/** How the backend speaks to the model: the released VR-Thinker's layout, or the project's own (older) one. */
export const VLM_PROFILES = ['vr-thinker-released', 'project'] as const;
export type VlmProfile = (typeof VLM_PROFILES)[number];

/** What each profile sets for the options left null. */
export const PROFILE_DEFAULTS: Readonly<
  Record<VlmProfile, { readonly framesPerVideo: number | null; readonly initialFramesAs: 'video' | 'images'; readonly frameLabels: boolean }>
> = Object.freeze({
  /** As released: 48 frames per video (1–96 for a pair), the initial frames as one video, bare selected images. */
  'vr-thinker-released': Object.freeze({ framesPerVideo: 48, initialFramesAs: 'video', frameLabels: false }),
  /** The project's earlier layout: real frame numbers, labelled images. */
  project: Object.freeze({ framesPerVideo: null, initialFramesAs: 'images', frameLabels: true }),
});

/** Defaults of every optional VLM option (VR-Thinker's released evaluation settings where it has one). */
export const VLM_DEFAULTS = Object.freeze({
  profile: 'vr-thinker-released',
  /** Sent as `repetition_penalty` so a server that applies the checkpoint's generation config (1.05) does not. */
  repetitionPenalty: 1,
  /** Env var read when `apiKey` is null. */
  apiKeyEnv: 'VRGRPO_VLM_API_KEY',
  /** Greedy decoding, as VR-Thinker is evaluated. */
  temperature: 0,
  /** Completion tokens per turn. */
  maxTokens: 2048,
  /** Extra stop sequences (the server's chat template already stops at the end of a turn). */
  stop: [] as readonly string[],
  /** Per HTTP request, ms (connect + generate + read the body). */
  timeoutMs: 120_000,
  /** Attempts per request (1 = no retry) on connection errors, 408, 429 and 5xx. */
  maxAttempts: 4,
  /** First backoff, ms; doubles per attempt, with jitter. */
  retryBaseDelayMs: 500,
  /** Longest wait before a retry, ms; a longer Retry-After ends the retries. */
  retryMaxDelayMs: 20_000,
  /** Requests in flight to the server at once, per backend. */
  concurrency: 8,
  imageFormat: 'jpeg',
  /** JPEG quality 1..100. */
  jpegQuality: 90,
  /** Encoded frames kept for reuse across turns and pairs (bytes of data URLs). */
  imageCacheBytes: 64 * 1024 * 1024,
  /** Initial frames: pixel range after resizing (released code: up to 512·28²). */
  initialMinPixels: 4 * QWEN_PATCH * QWEN_PATCH,
  initialMaxPixels: 512 * QWEN_PATCH * QWEN_PATCH,
  /** Frames returned by select_frames (released code: 4·28² … 400·28²). */
  selectedMinPixels: 4 * QWEN_PATCH * QWEN_PATCH,
  selectedMaxPixels: 400 * QWEN_PATCH * QWEN_PATCH,
  /** Resized sides are multiples of this (28 for Qwen2.5-VL, so the server does not resize again; 1 = any size). */
  resizeFactor: QWEN_PATCH,
  /** Images one conversation may be shown in total (released code: 64). */
  maxImages: 64,
  /** Context tokens a conversation may reach (released code: 12·1024 − 200); null = no budget. */
  tokenBudget: 12 * 1024 - 200,
  /** The serving engine's context length (vLLM --max-model-len); configurations that cannot fit it are refused. null = unchecked. */
  maxModelLen: 20480,
  /** 'text': the tool is described in the system prompt and called as <tool_call> text; 'tools': also sent as OpenAI `tools`. */
  toolMode: 'text',
  systemPrompt: 'You are a helpful assistant.',
});

export const vlmOptionsSchema = z.strictObject({
  /** OpenAI-compatible API root, e.g. http://gpu-host:8000/v1 (requests go to {baseUrl}/chat/completions). */
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** Model name as served (vLLM: the --served-model-name, or the model path). */
  model: z.string().min(1),
  /** Bearer token; null = the VRGRPO_VLM_API_KEY env var, else none. */
  apiKey: z.string().min(1).nullable().default(null),
  /** Judge version reported in verdicts; null = `vlm:<model>`. */
  rmVersion: z.string().min(1).nullable().default(null),
  /** The prompt layout, index space and frame form (see VLM_PROFILES). Default: the released VR-Thinker's. */
  profile: z.enum(VLM_PROFILES).default(VLM_DEFAULTS.profile),
  /**
   * Frames each video is presented as (the model's index space is 1..2·N for a pair); null = the profile's (48
   * released, real counts for project). Max 4096.
   */
  framesPerVideo: z.number().int().min(2).max(4096).nullable().default(null),
  /** Initial frames as one `video_url` part (vLLM's JPEG frame list) or as separate images; null = the profile's. */
  initialFramesAs: z.enum(['video', 'images']).nullable().default(null),
  /** A prompt template file for the first user turn (released profile; placeholders in docs/vlm.md); null = the shipped one. */
  promptTemplate: z.string().min(1).nullable().default(null),
  /** `repetition_penalty` sent with every request; null = leave it to the server. */
  repetitionPenalty: z.number().min(0.5).max(2).nullable().default(VLM_DEFAULTS.repetitionPenalty),
  temperature: z.number().min(0).max(2).default(VLM_DEFAULTS.temperature),
  maxTokens: z.number().int().min(1).default(VLM_DEFAULTS.maxTokens),
  stop: z
    .array(z.string().min(1))
    .max(8)
    .default([...VLM_DEFAULTS.stop]),
  timeoutMs: z.number().int().min(1).default(VLM_DEFAULTS.timeoutMs),
  maxAttempts: z.number().int().min(1).max(20).default(VLM_DEFAULTS.maxAttempts),
  retryBaseDelayMs: z.number().int().min(0).default(VLM_DEFAULTS.retryBaseDelayMs),
  retryMaxDelayMs: z.number().int().min(0).default(VLM_DEFAULTS.retryMaxDelayMs),
  concurrency: z.number().int().min(1).max(1024).default(VLM_DEFAULTS.concurrency),
  imageFormat: z.enum(['jpeg', 'png']).default(VLM_DEFAULTS.imageFormat),
  jpegQuality: z.number().int().min(1).max(100).default(VLM_DEFAULTS.jpegQuality),
  imageCacheBytes: z.number().int().min(0).default(VLM_DEFAULTS.imageCacheBytes),
  initialMinPixels: z.number().int().min(1).default(VLM_DEFAULTS.initialMinPixels),
  initialMaxPixels: z.number().int().min(1).default(VLM_DEFAULTS.initialMaxPixels),
  selectedMinPixels: z.number().int().min(1).default(VLM_DEFAULTS.selectedMinPixels),
  selectedMaxPixels: z.number().int().min(1).default(VLM_DEFAULTS.selectedMaxPixels),
  resizeFactor: z.number().int().min(1).max(256).default(VLM_DEFAULTS.resizeFactor),
  maxImages: z.number().int().min(1).max(1024).default(VLM_DEFAULTS.maxImages),
  tokenBudget: z.number().int().min(1).nullable().default(VLM_DEFAULTS.tokenBudget),
  /** The server's context length (vLLM --max-model-len): a configuration that cannot fit it is refused at start-up; null = unchecked. */
  maxModelLen: z.number().int().min(1024).max(1_048_576).nullable().default(VLM_DEFAULTS.maxModelLen),
  toolMode: z.enum(['text', 'tools']).default(VLM_DEFAULTS.toolMode),
  systemPrompt: z.string().default(VLM_DEFAULTS.systemPrompt),
  /** A "Frame N:" label before each image; null = the profile's (released: no labels). */
  frameLabels: z.boolean().nullable().default(null),
  /** Extra fields merged into every request body (e.g. vLLM's `top_k`, `seed`, `repetition_penalty`). */
  extraBody: z.record(z.string(), z.unknown()).default({}),
});

/** Options as a caller writes them (only baseUrl and model are required). */
export type VlmOptions = z.input<typeof vlmOptionsSchema>;

/** Every option filled, the API key resolved, frozen. */
export type ResolvedVlmOptions = Readonly<
  Omit<z.output<typeof vlmOptionsSchema>, 'stop' | 'extraBody' | 'framesPerVideo' | 'initialFramesAs' | 'frameLabels'>
> & {
  /** Profile defaults filled in. */
  readonly framesPerVideo: number | null;
  readonly initialFramesAs: 'video' | 'images';
  readonly frameLabels: boolean;
  readonly stop: readonly string[];
  readonly extraBody: Readonly<Record<string, unknown>>;
  readonly rmVersion: string;
  /** Without a trailing slash. */
  readonly baseUrl: string;
};

/** Validates and compiles VLM options; INVALID_ARGUMENT names the field. `env` supplies VRGRPO_VLM_API_KEY. */
export function resolveVlmOptions(input: VlmOptions, env: Readonly<Record<string, string | undefined>> = process.env): ResolvedVlmOptions {
  const parsed = vlmOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new VrGrpoError('INVALID_ARGUMENT', `invalid VLM options: ${problems.join('; ')}`, { details: { problems } });
  }
  const o = parsed.data;
  for (const kind of ['initial', 'selected'] as const) {
    if (o[`${kind}MinPixels`] > o[`${kind}MaxPixels`]) {
      throw new VrGrpoError(
        'INVALID_ARGUMENT',
        `invalid VLM options: ${kind}MinPixels ${o[`${kind}MinPixels`]} exceeds ${kind}MaxPixels ${o[`${kind}MaxPixels`]}`,
      );
    }
  }
  if (o.profile === 'vr-thinker-released' && o.toolMode === 'tools') {
    // Qwen2.5-VL's chat template has no branch for OpenAI `tools`: the server would drop the tool description.
    throw new VrGrpoError(
      'INVALID_ARGUMENT',
      'invalid VLM options: toolMode "tools" does not reach the released VR-Thinker (its chat template drops OpenAI tools); use toolMode "text"',
      {
        details: { problems: ['toolMode: "tools" is not supported by profile vr-thinker-released'] },
      },
    );
  }
  const profile = PROFILE_DEFAULTS[o.profile];
  const envKey = env[VLM_DEFAULTS.apiKeyEnv];
  return Object.freeze({
    ...o,
    framesPerVideo: o.framesPerVideo ?? profile.framesPerVideo,
    initialFramesAs: o.initialFramesAs ?? profile.initialFramesAs,
    frameLabels: o.frameLabels ?? profile.frameLabels,
    baseUrl: o.baseUrl.replace(/\/+$/, ''),
    apiKey: o.apiKey ?? (envKey === undefined || envKey === '' ? null : envKey),
    rmVersion: o.rmVersion ?? `vlm:${o.model}`,
    stop: Object.freeze([...o.stop]),
    extraBody: Object.freeze({ ...o.extraBody }),
  });
}

/** The config's `judge.vlm` section (baseUrl and model may be null there; the config requires them for backend vlm). */
export type VlmConfigSection = Readonly<Omit<VlmOptions, 'baseUrl' | 'model' | 'stop' | 'extraBody'>> & {
  readonly baseUrl: string | null;
  readonly model: string | null;
  readonly stop?: readonly string[];
  readonly extraBody?: Readonly<Record<string, unknown>>;
};

/** VLM options from the config section; CONFIG_INVALID when baseUrl or model is missing. */
export function vlmOptionsFromConfig(section: VlmConfigSection): VlmOptions {
  const { baseUrl, model, stop, extraBody, ...rest } = section;
  const missing = [baseUrl === null ? 'judge.vlm.baseUrl' : null, model === null ? 'judge.vlm.model' : null].filter((m): m is string => m !== null);
  if (baseUrl === null || model === null) {
    throw new VrGrpoError('CONFIG_INVALID', `${missing.join(', ')}: required when judge.backend is "vlm"`, {
      details: { problems: missing.map((m) => `${m}: required when judge.backend is "vlm"`) },
    });
  }
  return { ...rest, baseUrl, model, ...(stop === undefined ? {} : { stop: [...stop] }), ...(extraBody === undefined ? {} : { extraBody: { ...extraBody } }) };
}
