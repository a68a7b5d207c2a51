/**
 * The VLM reasoner: each turn of the engine's conversation becomes one chat-completions request to an
 * OpenAI-compatible server (vLLM, SGLang) serving VR-Thinker; the reply's text — plus any structured `tool_calls`,
 * rendered as `<tool_call>` text — is the next assistant turn, with the context's token count for the engine's budget.
 */
import type { ImageRef, Reasoner, ReasonerInput, ReasonerReply } from '../../reasoner.js';
import { renderToolCall } from '../../format.js';
import type { ChatCompletion, ChatMessage, ChatRequest } from './chat-messages.js';
import type { ChatCompletionsClient } from './chat-client.js';
import { buildConversation, type ImageRole } from './conversation.js';
import { EncodedImageCache } from './image-cache.js';
import { encodeFrame, type PixelBudget } from './image-encoding.js';
import { QWEN_PATCH, type ResolvedVlmOptions } from './options.js';

/** Rough text tokens when a server reports no usage (≈ 4 characters per token). */
const CHARS_PER_TOKEN = 4;

export class VlmReasoner implements Reasoner {
  readonly name = 'vlm';
  readonly rmVersion: string;
  /** Encoded frames shared by all conversations (initial frames recur every turn, videos recur across pairs). */
  readonly images: EncodedImageCache;
  /** Requests sent and attempts made (retries included). */
  readonly stats = { requests: 0, attempts: 0 };

  constructor(
    private readonly options: ResolvedVlmOptions,
    private readonly client: ChatCompletionsClient,
  ) {
    this.rmVersion = options.rmVersion;
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
    const conversation = buildConversation(input, o, urlOf);
    const request: ChatRequest = {
      ...o.extraBody,
      model: o.model,
      messages: conversation.messages,
      temperature: o.temperature,
      max_tokens: o.maxTokens,
      ...(o.stop.length > 0 ? { stop: o.stop } : {}),
      ...(conversation.tools !== null ? { tools: conversation.tools, tool_choice: 'auto' as const } : {}),
    };
    this.stats.requests += 1;
    const { completion, attempts } = await this.client.complete(request, signal);
    this.stats.attempts += attempts;
    const text = turnText(completion);
    const usage = completion.usage;
    const reported = usage?.total_tokens ?? (usage?.prompt_tokens !== undefined && usage.completion_tokens !== undefined ? usage.prompt_tokens + usage.completion_tokens : undefined);
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
