/**
 * The VLM reasoner: each turn of the engine's conversation becomes one chat-completions request to an
 * OpenAI-compatible server (vLLM, SGLang) serving VR-Thinker; the reply's text — plus any structured `tool_calls`,
 * rendered as `<tool_call>` text — is the next assistant turn, with the context's token count for the engine's budget.
 */
import { VrGrpoError } from '../../../errors/index.js';
import type { ImageRef, Reasoner, ReasonerInput, ReasonerReply } from '../../reasoner.js';
import { renderToolCall } from '../../format.js';
import type { ChatCompletion, ChatMessage, ChatRequest } from './chat-messages.js';
import type { ChatCompletionsClient } from './chat-client.js';
import { buildConversation, type ImageRole } from './conversation.js';
import { framesThatFit } from './context-budget.js';
import { EncodedImageCache } from './image-cache.js';
import { encodeFrame, fitToBudget, type PixelBudget } from './image-encoding.js';
import { QWEN_PATCH, type ResolvedVlmOptions } from './options.js';
import type { PromptTemplate } from './prompt-template.js';
import type { TranscriptRecorder } from './transcript-recorder.js';

/** The data URL prefix of a JPEG image, and of a video given as a list of JPEG frames (vLLM's `video/jpeg`). */
const JPEG_IMAGE_PREFIX = 'data:image/jpeg;base64,';
const JPEG_VIDEO_PREFIX = 'data:video/jpeg;base64,';

/** Rough text tokens when a server reports no usage (≈ 4 characters per token). */
const CHARS_PER_TOKEN = 4;

export class VlmReasoner implements Reasoner {
  readonly name = 'vlm';
  readonly rmVersion: string;
  readonly maxFramesPerRequest: number;
  /** Encoded frames shared by all conversations (initial frames recur every turn, videos recur across pairs). */
  readonly images: EncodedImageCache;
  /** Requests sent and attempts made (retries included). */
  readonly stats = { requests: 0, attempts: 0 };

  /**
   * @param template The released layout's task template (`loadPromptTemplate`); null for the project profile.
   * @param recorder Writes every request and response (`--record DIR`); null = none.
   */
  constructor(
    private readonly options: ResolvedVlmOptions,
    private readonly client: ChatCompletionsClient,
    private readonly template: PromptTemplate | null = null,
    private readonly recorder: TranscriptRecorder | null = null,
  ) {
    this.rmVersion = options.rmVersion;
    this.maxFramesPerRequest = framesThatFit(options);
    this.images = new EncodedImageCache(options.imageCacheBytes);
  }

  private budget(role: ImageRole): PixelBudget {
    const o = this.options;
    return role === 'initial'
      ? { minPixels: o.initialMinPixels, maxPixels: o.initialMaxPixels, factor: o.resizeFactor }
      : { minPixels: o.selectedMinPixels, maxPixels: o.selectedMaxPixels, factor: o.resizeFactor };
  }

  async next(input: ReasonerInput, signal?: AbortSignal): Promise<ReasonerReply> {
    const o = this.options;
    if (this.template !== null && input.mode !== 'pairwise') {
      throw new VrGrpoError(
        'INVALID_REQUEST',
        'the released VR-Thinker judges pairs of videos only: use pairwise mode (reward.mode: pairwise), or judge.vlm.profile: project for pointwise scores',
        {
          details: { field: 'mode', profile: o.profile },
        },
      );
    }
    let imageTokens = 0;
    const urlOf = (image: ImageRef, role: ImageRole): string => {
      const budget = this.budget(role);
      const variant = `${budget.minPixels}-${budget.maxPixels}-${budget.factor}-${o.imageFormat}-${o.jpegQuality}`;
      const encoded = this.images.getOrEncode(EncodedImageCache.key(image.rgb, image.width, image.height, variant), () =>
        encodeFrame(image.rgb, image.width, image.height, budget, { type: o.imageFormat, jpegQuality: o.jpegQuality }),
      );
      imageTokens += Math.ceil((encoded.width * encoded.height) / (QWEN_PATCH * QWEN_PATCH));
      return encoded.url;
    };
    const videoUrlOf = (frames: readonly ImageRef[]): string => {
      // One size for every frame of the part (a video's frames must match); JPEG, the only frame format vLLM takes.
      const [head] = frames;
      if (head === undefined) throw new VrGrpoError('INVALID_ARGUMENT', 'a video part needs at least one frame');
      const size = fitToBudget(head.width, head.height, this.budget('initial'));
      const variant = `video-${size.width}x${size.height}-${o.jpegQuality}`;
      const parts = frames.map((f) => {
        const encoded = this.images.getOrEncode(EncodedImageCache.key(f.rgb, f.width, f.height, variant), () =>
          encodeFrame(f.rgb, f.width, f.height, size, { type: 'jpeg', jpegQuality: o.jpegQuality }),
        );
        return encoded.url.slice(JPEG_IMAGE_PREFIX.length);
      });
      // Qwen2.5-VL merges video frames in temporal pairs: half the tokens of the same frames sent as images.
      imageTokens += Math.ceil((frames.length / 2) * ((size.width * size.height) / (QWEN_PATCH * QWEN_PATCH)));
      return `${JPEG_VIDEO_PREFIX}${parts.join(',')}`;
    };
    const conversation = buildConversation(input, { ...o, template: this.template }, urlOf, videoUrlOf);
    const request: ChatRequest = {
      ...o.extraBody,
      model: o.model,
      messages: conversation.messages,
      temperature: o.temperature,
      max_tokens: o.maxTokens,
      ...(o.repetitionPenalty === null ? {} : { repetition_penalty: o.repetitionPenalty }),
      ...(o.stop.length > 0 ? { stop: o.stop } : {}),
      ...(conversation.tools !== null ? { tools: conversation.tools, tool_choice: 'auto' as const } : {}),
    };
    this.stats.requests += 1;
    // A conversation that already has a turn goes ahead of conversations waiting to start.
    const continuing = input.messages.some((m) => m.role === 'assistant');
    const { completion, attempts } = await this.client.complete(request, signal, continuing ? 'continue' : 'new');
    this.stats.attempts += attempts;
    // A recording that was asked for and fails ends the judgment (JUDGE_FAILED), rather than silently missing turns.
    await this.recorder?.record(input.conversationId, input.messages.filter((m) => m.role === 'assistant').length, request, completion);
    const text = turnText(completion);
    const usage = completion.usage;
    const reported =
      usage?.total_tokens ??
      (usage?.prompt_tokens !== undefined && usage.completion_tokens !== undefined ? usage.prompt_tokens + usage.completion_tokens : undefined);
    const contextTokens = reported ?? estimateTokens(conversation.messages, text, imageTokens);
    return { text, contextTokens };
  }

  /** Nothing per conversation to free: encoded frames live in the shared, bounded cache. */
  release(): void {}

  async close(): Promise<void> {
    this.images.clear();
    await this.client.close();
  }
}

/** Context tokens when the server reports no usage: ≈ 4 characters per text token, one token per 28×28 image patch. */
function estimateTokens(messages: readonly ChatMessage[], completion: string, imageTokens: number): number {
  let chars = completion.length;
  for (const m of messages) {
    if (typeof m.content === 'string') chars += m.content.length;
    else for (const p of m.content) if (p.type === 'text') chars += p.text.length;
  }
  return Math.ceil(chars / CHARS_PER_TOKEN) + imageTokens;
}

/** The assistant turn: the message text, then each structured tool call as `<tool_call>` text (the engine reads the last). */
export function turnText(completion: ChatCompletion): string {
  const message = completion.choices[0]?.message;
  if (message === undefined) return '';
  let text = message.content;
  for (const call of message.tool_calls ?? []) {
    let args: unknown = call.function.arguments ?? {};
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args === '' ? '{}' : args);
      } catch {
        // Keep the raw string: the engine answers a malformed call with an error turn.
      }
    }
    text += `${text === '' || text.endsWith('\n') ? '' : '\n'}${renderToolCall(call.function.name, args)}`;
  }
  return text;
}
