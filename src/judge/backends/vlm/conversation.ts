/**
 * Builds the chat-completions `messages` of one request from the engine's conversation, in one of two layouts.
 * Both: a system prompt with the `select_frames` description (Qwen2.5's function-calling text); each assistant turn
 * verbatim; each tool result as a user turn opening with "After selecting frames:".
 * - released (the layout VR-Thinker was fine-tuned on): the first user turn is the initial frames as one video part
 *   (or images) followed by the task text from the prompt template; selected frames come back as bare images after
 *   "After selecting frames: Here are the selected frames"; images the memory window dropped simply disappear.
 * - project: the engine's own task text, "Frame N:" labels, and a placeholder where a dropped image was.
 * The initial frames always keep their images.
 */
import type { ConversationMessage, ImageRef, ReasonerInput } from '../../reasoner.js';
import type { ChatContentPart, ChatMessage, ChatTool } from './chat-messages.js';
import type { PromptTemplate } from './prompt-template.js';
import { DROPPED_IMAGE, SELECTED_FRAMES_TEXT, TOOL_RESULT_PREFIX, frameLabel, selectFramesTool, toolPreamble } from './prompt.js';

/** Which pixel budget an image is encoded with. */
export type ImageRole = 'initial' | 'selected';

export interface ConversationOptions {
  readonly systemPrompt: string;
  readonly toolMode: 'text' | 'tools';
  readonly frameLabels: boolean;
  /** Released layout: the task template; null = the project layout (the engine's own task text). */
  readonly template: PromptTemplate | null;
  /** Initial frames as one video part or as separate images. */
  readonly initialFramesAs: 'video' | 'images';
}

/** Encodes an image to a data URL (cached by the caller). */
export type ImageUrlOf = (image: ImageRef, role: ImageRole) => string;

/** Encodes frames into one video data URL (vLLM's JPEG frame list). */
export type VideoUrlOf = (frames: readonly ImageRef[]) => string;

export interface BuiltConversation {
  readonly messages: ChatMessage[];
  /** The OpenAI `tools` array, in 'tools' mode. */
  readonly tools: ChatTool[] | null;
}

function imageParts(message: ConversationMessage, role: ImageRole, labels: boolean, urlOf: ImageUrlOf): ChatContentPart[] {
  const parts: ChatContentPart[] = [];
  // Kept and dropped images in frame order, so a placeholder sits where its image used to be.
  const items = [...message.images.map((image) => ({ index: image.index, image })), ...message.droppedImages.map((index) => ({ index, image: null }))].sort(
    (a, b) => a.index - b.index,
  );
  for (const { index, image } of items) {
    if (image === null) {
      parts.push({ type: 'text', text: labels ? `${frameLabel(index)} ${DROPPED_IMAGE}` : DROPPED_IMAGE });
      continue;
    }
    if (labels) parts.push({ type: 'text', text: frameLabel(index) });
    parts.push({ type: 'image_url', image_url: { url: urlOf(image, role) } });
  }
  return parts;
}

/** Merges adjacent text parts (one text block between images reads better and tokenises the same). */
function mergeText(parts: readonly ChatContentPart[]): ChatContentPart[] {
  const out: ChatContentPart[] = [];
  for (const p of parts) {
    const prev = out.at(-1);
    if (p.type === 'text' && prev?.type === 'text') out[out.length - 1] = { type: 'text', text: `${prev.text}\n${p.text}` };
    else out.push(p);
  }
  return out;
}

export function buildConversation(input: ReasonerInput, options: ConversationOptions, urlOf: ImageUrlOf, videoUrlOf: VideoUrlOf): BuiltConversation {
  const total = input.videoFrameCounts.reduce((s, c) => s + c, 0);
  const tool = selectFramesTool(total, input.maxFramesPerCall);
  const system = options.toolMode === 'text' ? [options.systemPrompt, toolPreamble(tool)].filter((t) => t !== '').join('\n\n') : options.systemPrompt;
  const messages: ChatMessage[] = system === '' ? [] : [{ role: 'system', content: system }];
  if (options.template !== null) return { messages: [...messages, ...releasedMessages(input, options.template, options, urlOf, videoUrlOf)], tools: null };
  // The engine's own system text (the task and answer format) opens the first user turn: the system slot holds the tool.
  const instructions = input.messages.filter((m) => m.role === 'system').map((m) => m.text);
  const firstUser = input.messages.findIndex((m) => m.role === 'user');
  for (const [i, m] of input.messages.entries()) {
    switch (m.role) {
      case 'system':
        break;
      case 'assistant':
        messages.push({ role: 'assistant', content: m.text });
        break;
      case 'user': {
        const initial = i === firstUser;
        const text = initial ? [...instructions, m.text].join('\n\n') : m.text;
        const images = imageParts(m, initial ? 'initial' : 'selected', options.frameLabels, urlOf);
        messages.push({ role: 'user', content: images.length === 0 ? text : mergeText([{ type: 'text', text }, ...images]) });
        break;
      }
      case 'tool': {
        const images = imageParts(m, 'selected', options.frameLabels, urlOf);
        const text = `${TOOL_RESULT_PREFIX}\n${m.text}`;
        messages.push({ role: 'user', content: images.length === 0 ? text : mergeText([{ type: 'text', text }, ...images]) });
        break;
      }
    }
  }
  return { messages, tools: options.toolMode === 'tools' ? [tool] : null };
}

/** The initial frames' part(s): one video part, or one image part each (labelled when asked). */
function initialParts(images: readonly ImageRef[], options: ConversationOptions, urlOf: ImageUrlOf, videoUrlOf: VideoUrlOf): ChatContentPart[] {
  if (images.length === 0) return [];
  if (options.initialFramesAs === 'video') return [{ type: 'video_url', video_url: { url: videoUrlOf(images) } }];
  return imageParts({ role: 'user', text: '', images, droppedImages: [] }, 'initial', options.frameLabels, urlOf);
}

/** The conversation after the system prompt, in the released layout (see the module header). */
function releasedMessages(
  input: ReasonerInput,
  template: PromptTemplate,
  options: ConversationOptions,
  urlOf: ImageUrlOf,
  videoUrlOf: VideoUrlOf,
): ChatMessage[] {
  const [first = 0] = input.videoFrameCounts;
  const total = input.videoFrameCounts.reduce((s, c) => s + c, 0);
  const firstUser = input.messages.findIndex((m) => m.role === 'user');
  const out: ChatMessage[] = [];
  for (const [i, m] of input.messages.entries()) {
    switch (m.role) {
      case 'system':
        break;
      case 'assistant':
        out.push({ role: 'assistant', content: m.text });
        break;
      case 'user': {
        if (i !== firstUser) {
          out.push({ role: 'user', content: m.text });
          break;
        }
        const videos = Math.max(1, input.videoFrameCounts.length);
        const text = template.render({
          prompt: input.prompt,
          total_frames: total,
          frames_per_video: first,
          video2_first: first + 1,
          initial_frames: m.images.length,
          initial_per_video: Math.floor(m.images.length / videos),
          max_frames_per_call: input.maxFramesPerCall,
          max_tool_calls: input.maxToolCalls,
        });
        out.push({ role: 'user', content: [...initialParts(m.images, options, urlOf, videoUrlOf), { type: 'text', text }] });
        break;
      }
      case 'tool': {
        // Selected frames (or, once the window dropped them, just the text); an error or budget note as text.
        const selected = m.images.length > 0 || m.droppedImages.length > 0;
        const text = selected ? SELECTED_FRAMES_TEXT : `${TOOL_RESULT_PREFIX}\n${m.text}`;
        const images = imageParts({ ...m, droppedImages: [] }, 'selected', options.frameLabels, urlOf);
        out.push({ role: 'user', content: images.length === 0 ? text : [{ type: 'text', text }, ...images] });
        break;
      }
    }
  }
  return out;
}
