/** The OpenAI-compatible VLM judge backend: VR-Thinker served by vLLM or SGLang, driven by the judge engine. */
import { DEFAULT_JUDGE_OPTIONS, JudgeEngine, type ResolvedJudgeOptions } from '../../engine.js';
import { checkContextFits } from './context-budget.js';
import { ChatCompletionsClient, type ChatClientDeps } from './chat-client.js';
import { resolveVlmOptions, type ResolvedVlmOptions, type VlmOptions } from './options.js';
import { loadPromptTemplate } from './prompt-template.js';
import { TranscriptRecorder } from './transcript-recorder.js';
import { VlmReasoner } from './reasoner.js';

export { ChatCompletionsClient, type ChatClientDeps, type ChatClientOptions, type ChatResult } from './chat-client.js';
export { VlmReasoner, turnText } from './reasoner.js';
export {
  resolveVlmOptions,
  vlmOptionsFromConfig,
  vlmOptionsSchema,
  VLM_DEFAULTS,
  type VlmOptions,
  type VlmConfigSection,
  type ResolvedVlmOptions,
} from './options.js';
export { encodeFrame, fitToBudget, resizeRgb, type PixelBudget, type EncodedImage } from './image-encoding.js';
export { buildConversation, type BuiltConversation, type ConversationOptions } from './conversation.js';
export { contextBound, checkContextFits, framesThatFit, type ContextBound } from './context-budget.js';
export { TranscriptRecorder, conversationFolder, type RecordedTurn, type RecordedMessage, type RecordedPart } from './transcript-recorder.js';

export interface VlmJudgeOptions {
  /** The server, model and request settings (config: `judge.vlm`). */
  readonly vlm: VlmOptions;
  /** Engine settings from the config's `judge` section (defaults for requests, re-asks, audits). */
  readonly judge?: Partial<ResolvedJudgeOptions> & { readonly maxFormatRetries?: number; readonly auditFraction?: number };
  /** Injected clock/randomness for the HTTP client (tests). */
  readonly deps?: ChatClientDeps;
  /** Environment for VRGRPO_VLM_API_KEY (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Record every request and response into this folder (docs/vlm.md §9); default none. */
  readonly recordDir?: string;
}

/**
 * The judge engine over a VLM reasoner. Reads the prompt template (released profile) and does no other I/O until the
 * first judgment; close it to end in-flight requests.
 */
export async function createVlmJudge(options: VlmJudgeOptions): Promise<JudgeEngine> {
  const vlm: ResolvedVlmOptions = resolveVlmOptions(options.vlm, options.env);
  const j = options.judge ?? {};
  const shape = { ...DEFAULT_JUDGE_OPTIONS, ...Object.fromEntries(Object.entries(j).filter(([, v]) => v !== undefined)) };
  checkContextFits(vlm, shape);
  const released = vlm.profile === 'vr-thinker-released';
  const template = released ? await loadPromptTemplate(vlm.promptTemplate) : null;
  const recorder = options.recordDir === undefined ? null : await TranscriptRecorder.create(options.recordDir);
  const client = new ChatCompletionsClient(vlm, options.deps);
  return new JudgeEngine(new VlmReasoner(vlm, client, template, recorder), {
    ...(j.maxFormatRetries === undefined ? {} : { maxFormatRetries: j.maxFormatRetries }),
    ...(j.auditFraction === undefined ? {} : { auditFraction: j.auditFraction }),
    defaults: j,
    maxImages: vlm.maxImages,
    tokenBudget: vlm.tokenBudget,
    framesPerVideo: vlm.framesPerVideo,
    // The released code takes every ⌊96/8⌋-th frame of the pair: 1, 13, 25, 37 and 49, 61, 73, 85.
    initialSampling: released ? 'stride' : 'uniform',
  });
}
