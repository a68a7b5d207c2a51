/**
 * Options of the OpenAI-compatible VLM backend: documented defaults (also used by the config schema), validation, and
 * compilation into a complete, frozen {@link ResolvedVlmOptions}.
 */
import { z } from 'zod';
import { VrGrpoError } from '../../../errors/index.js';

/** Qwen2.5-VL's pixel unit: one visual token covers a 28×28 patch (2×2 merged 14-px patches). */
export const QWEN_PATCH = 28;

/** Defaults of every optional VLM option (VR-Thinker's released evaluation settings where it has one). */
export const VLM_DEFAULTS = Object.freeze({
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
  /** 'text': the tool is described in the system prompt and called as <tool_call> text; 'tools': also sent as OpenAI `tools`. */
  toolMode: 'text',
  systemPrompt: 'You are a helpful assistant.',
  /** Precede each image with a "Frame N:" text part. */
  frameLabels: true,
});

export const vlmOptionsSchema = z.strictObject({
  /** OpenAI-compatible API root, e.g. http://gpu-host:8000/v1 (requests go to {baseUrl}/chat/completions). */
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** Model name as served (vLLM: the --served-model-name, or the model path). */
  model: z.string().min(1),
  /** Bearer token; null = the VRGRPO_VLM_API_KEY env var, else none. */
  apiKey: z.string().min(1).nullable().default(null),
  /** Reward-model version reported in verdicts; null = `vlm:<model>`. */
  rmVersion: z.string().min(1).nullable().default(null),
  temperature: z.number().min(0).max(2).default(VLM_DEFAULTS.temperature),
  maxTokens: z.number().int().min(1).default(VLM_DEFAULTS.maxTokens),
  stop: z.array(z.string().min(1)).max(8).default([...VLM_DEFAULTS.stop]),
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
  toolMode: z.enum(['text', 'tools']).default(VLM_DEFAULTS.toolMode),
  systemPrompt: z.string().default(VLM_DEFAULTS.systemPrompt),
  frameLabels: z.boolean().default(VLM_DEFAULTS.frameLabels),
  /** Extra fields merged into every request body (e.g. vLLM's `top_k`, `seed`, `repetition_penalty`). */
  extraBody: z.record(z.string(), z.unknown()).default({}),
});

/** Options as a caller writes them (only baseUrl and model are required). */
export type VlmOptions = z.input<typeof vlmOptionsSchema>;

/** Every option filled, the API key resolved, frozen. */
export type ResolvedVlmOptions = Readonly<Omit<z.output<typeof vlmOptionsSchema>, 'stop' | 'extraBody'>> & {
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
      throw new VrGrpoError('INVALID_ARGUMENT', `invalid VLM options: ${kind}MinPixels ${o[`${kind}MinPixels`]} exceeds ${kind}MaxPixels ${o[`${kind}MaxPixels`]}`);
    }
  }
  const envKey = env[VLM_DEFAULTS.apiKeyEnv];
  return Object.freeze({
    ...o,
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
    throw new VrGrpoError('CONFIG_INVALID', `${missing.join(', ')}: required when judge.backend is "vlm"`, { details: { problems: missing.map((m) => `${m}: required when judge.backend is "vlm"`) } });
  }
  return { ...rest, baseUrl, model, ...(stop === undefined ? {} : { stop: [...stop] }), ...(extraBody === undefined ? {} : { extraBody: { ...extraBody } }) };
}
