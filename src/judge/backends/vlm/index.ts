/** The OpenAI-compatible VLM judge backend: VR-Thinker served by vLLM or SGLang, driven by the judge engine. */
import { JudgeEngine, type ResolvedJudgeOptions } from '../../engine.js';
import { ChatCompletionsClient, type ChatClientDeps } from './chat-client.js';
import { resolveVlmOptions, type ResolvedVlmOptions, type VlmOptions } from './options.js';
import { VlmReasoner } from './reasoner.js';

export { ChatCompletionsClient, type ChatClientDeps, type ChatClientOptions, type ChatResult } from './chat-client.js';
export { VlmReasoner, turnText } from './reasoner.js';
export { resolveVlmOptions, vlmOptionsFromConfig, vlmOptionsSchema, VLM_DEFAULTS, type VlmOptions, type VlmConfigSection, type ResolvedVlmOptions } from './options.js';
export { encodeFrame, fitToBudget, resizeRgb, type PixelBudget, type EncodedImage } from './image-encoding.js';
export { buildConversation, type BuiltConversation, type ConversationOptions } from './conversation.js';

export interface VlmJudgeOptions {
  /** The server, model and request settings (config: `judge.vlm`). */
  readonly vlm: VlmOptions;
  /** Engine settings from the config's `judge` section (defaults for requests, re-asks, audits). */
  readonly judge?: Partial<ResolvedJudgeOptions> & { readonly maxFormatRetries?: number; readonly auditFraction?: number };
  /** Injected clock/randomness for the HTTP client (tests). */
  readonly deps?: ChatClientDeps;
  /** Environment for VRGRPO_VLM_API_KEY (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The judge engine over a VLM reasoner. Does no I/O until the first judgment; close it to end in-flight requests. */
export function createVlmJudge(options: VlmJudgeOptions): Promise<JudgeEngine> {
  try {
    const vlm: ResolvedVlmOptions = resolveVlmOptions(options.vlm, options.env);
    const client = new ChatCompletionsClient(vlm, options.deps);
    const j = options.judge ?? {};
    return Promise.resolve(
      new JudgeEngine(new VlmReasoner(vlm, client), {
        ...(j.maxFormatRetries === undefined ? {} : { maxFormatRetries: j.maxFormatRetries }),
        ...(j.auditFraction === undefined ? {} : { auditFraction: j.auditFraction }),
        defaults: j,
        maxImages: vlm.maxImages,
        tokenBudget: vlm.tokenBudget,
      }),
    );
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
