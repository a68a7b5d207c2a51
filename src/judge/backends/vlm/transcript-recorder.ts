/**
 * Records the real conversations of the VLM backend: each chat-completions request and its response, as
 * `DIR/<conversation>/turn-<n>.json`, with every image (and every frame of a video part) written once under
 * `DIR/frames/<sha256>.jpg|png` and referenced from the JSON instead of its base64 data. A user with a GPU records real
 * VR-Thinker transcripts this way (`vr-grpo judge --record DIR`, `serve-reward --record DIR`); a replay server in the
 * tests plays them back, so the parser and the prompt layout are tested against what the model really wrote.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChatCompletion, ChatContentPart, ChatMessage, ChatRequest } from './chat-messages.js';

/** A recorded content part: text as is, media as files under the recording folder. */
export type RecordedPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly file: string }
  | { readonly type: 'video'; readonly frames: readonly string[] };

export interface RecordedMessage {
  readonly role: ChatMessage['role'];
  readonly content: string | readonly RecordedPart[];
}

/** One file of a recording: the request (media as files) and the server's completion, verbatim. */
export interface RecordedTurn {
  readonly format: 'vr-grpo-transcript/1';
  readonly conversation: string;
  readonly turn: number;
  readonly request: { readonly model: string; readonly messages: readonly RecordedMessage[]; readonly settings: Readonly<Record<string, unknown>> };
  readonly response: ChatCompletion;
}

const DATA_URL = /^data:(image|video)\/(jpeg|png);base64,(.*)$/s;

/** A folder-safe name for a conversation id (request ids come from clients). */
export function conversationFolder(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `${safe}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

export class TranscriptRecorder {
  private readonly written = new Set<string>();

  private constructor(readonly dir: string) {}

  /** Creates the folder (and its frames/ subfolder). */
  static async create(dir: string): Promise<TranscriptRecorder> {
    const root = path.resolve(dir);
    await mkdir(path.join(root, 'frames'), { recursive: true });
    return new TranscriptRecorder(root);
  }

  /** Writes one base64 image once (by content hash); returns its path relative to the recording folder. */
  private async frame(b64: string, ext: 'jpeg' | 'png'): Promise<string> {
    const bytes = Buffer.from(b64, 'base64');
    const name = `frames/${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}.${ext === 'jpeg' ? 'jpg' : 'png'}`;
    if (!this.written.has(name)) {
      await writeFile(path.join(this.dir, name), bytes);
      this.written.add(name);
    }
    return name;
  }

  private async part(p: ChatContentPart): Promise<RecordedPart> {
    if (p.type === 'text') return p;
    const url = p.type === 'image_url' ? p.image_url.url : p.video_url.url;
    const m = DATA_URL.exec(url);
    if (m === null) return { type: 'text', text: `[media not recorded: ${url.slice(0, 64)}]` };
    const ext = m[2] === 'png' ? 'png' : 'jpeg';
    if (m[1] === 'image') return { type: 'image', file: await this.frame(m[3] ?? '', ext) };
    const frames: string[] = [];
    for (const b64 of (m[3] ?? '').split(',')) frames.push(await this.frame(b64, ext));
    return { type: 'video', frames };
  }

  /** Records turn `turn` (0-based) of `conversation`. */
  async record(conversation: string, turn: number, request: ChatRequest, response: ChatCompletion): Promise<void> {
    const messages: RecordedMessage[] = [];
    for (const m of request.messages) {
      if (typeof m.content === 'string') messages.push({ role: m.role, content: m.content });
      else {
        const parts: RecordedPart[] = [];
        for (const p of m.content) parts.push(await this.part(p));
        messages.push({ role: m.role, content: parts });
      }
    }
    const { model, messages: _sent, ...settings } = request;
    const record: RecordedTurn = { format: 'vr-grpo-transcript/1', conversation, turn, request: { model, messages, settings }, response };
    const folder = path.join(this.dir, conversationFolder(conversation));
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, `turn-${String(turn).padStart(2, '0')}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }
}
