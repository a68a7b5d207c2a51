/**
 * Builds the chat-completions `messages` of one request from the engine's conversation, in VR-Thinker's shape:
 * a system prompt with the `select_frames` description; the first user turn with the task, the caption and the
 * initial frames; each assistant turn verbatim; each tool result as a user turn that announces the selected frames and
 * carries them as images (or carries the tool's error text). Images the memory window dropped become a short text
 * placeholder; the initial frames always keep theirs.
 */
import type { ConversationMessage, ImageRef, ReasonerInput } from '../../reasoner.js';
import type { ChatContentPart, ChatMessage, ChatTool } from './chat-messages.js';
import { DROPPED_IMAGE, TOOL_RESULT_PREFIX, frameLabel, selectFramesTool, toolPreamble } from './prompt.js';

/** Which pixel budget an image is encoded with. */
export type ImageRole = 'initial' | 'selected';

export interface ConversationOptions {
  readonly systemPrompt: string;
  readonly toolMode: 'text' | 'tools';
  readonly frameLabels: boolean;
}

/** Encodes an image to a data URL (cached by the caller). */
export type ImageUrlOf = (image: ImageRef, role: ImageRole) => string;

export interface BuiltConversation {
  readonly messages: ChatMessage[];
  /** The OpenAI `tools` array, in 'tools' mode. */
  readonly tools: ChatTool[] | null;
}

function imageParts(message: ConversationMessage, role: ImageRole, labels: boolean, urlOf: ImageUrlOf): ChatContentPart[] {
  const parts: ChatContentPart[] = [];
  // Kept and dropped images in frame order, so a placeholder sits where its image used to be.
  const items = [...message.images.map((image) => ({ index: image.index, image })), ...message.droppedImages.map((index) => ({ index, image: null }))].sort((a, b) => a.index - b.index);
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

export function buildConversation(input: ReasonerInput, options: ConversationOptions, urlOf: ImageUrlOf): BuiltConversation {
  const total = input.videoFrameCounts.reduce((s, c) => s + c, 0);
  const tool = selectFramesTool(total, input.maxFramesPerCall);
  const system = options.toolMode === 'text' ? [options.systemPrompt, toolPreamble(tool)].filter((t) => t !== '').join('\n\n') : options.systemPrompt;
  const messages: ChatMessage[] = system === '' ? [] : [{ role: 'system', content: system }];
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
