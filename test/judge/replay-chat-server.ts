/**
 * Plays back recorded VLM conversations (`vr-grpo judge --record DIR`, src/judge/backends/vlm/transcript-recorder.ts):
 * a real chat-completions server on loopback that answers each request with the response recorded for the same
 * conversation so far (roles, texts and the number of images and video frames; the pixels are not compared, so a
 * recording made from MP4s replays against decoded frames that differ by a rounding). Unknown requests get a 500.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedMessage, RecordedTurn } from '../../src/judge/backends/vlm/index.js';
import { ScriptedChatServer, videoFrames, type BodyMessage, type ChatBody, type ScriptedReply } from './scripted-chat-server.js';

/** What must match between a recorded request and a new one. */
function skeleton(messages: readonly (BodyMessage | RecordedMessage)[]): string {
  return JSON.stringify(
    messages.map((m) => ({
      role: m.role,
      parts:
        typeof m.content === 'string'
          ? [m.content]
          : m.content.map((p) => {
              switch (p.type) {
                case 'text':
                  return p.text;
                case 'image':
                case 'image_url':
                  return '<image>';
                case 'video':
                  return `<video ${p.frames.length}>`;
                case 'video_url':
                  return `<video ${videoFrames(p.video_url.url).length}>`;
              }
            }),
    })),
  );
}

/** Every recorded turn under `dir` (its conversation folders). */
export function readRecording(dir: string): RecordedTurn[] {
  const out: RecordedTurn[] = [];
  for (const entry of readdirSync(dir)) {
    const folder = join(dir, entry);
    if (entry === 'frames' || !statSync(folder).isDirectory()) continue;
    for (const file of readdirSync(folder)
      .filter((f) => f.endsWith('.json'))
      .sort())
      out.push(JSON.parse(readFileSync(join(folder, file), 'utf8')) as RecordedTurn);
  }
  return out;
}

/** The recorded response as a scripted reply (text with usage, or structured tool calls). */
function reply(turn: RecordedTurn): ScriptedReply {
  const message = turn.response.choices[0]?.message;
  const calls = message?.tool_calls ?? [];
  if (calls.length > 0) {
    return {
      kind: 'tool_calls',
      content: message?.content ?? null,
      calls: calls.map((c) => ({
        name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments ?? {}),
      })),
    };
  }
  const usage = turn.response.usage;
  const counted =
    usage?.prompt_tokens !== undefined && usage.completion_tokens !== undefined
      ? { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens }
      : null;
  return { kind: 'text', text: message?.content ?? '', usage: counted };
}

/** A chat-completions server replaying the recording in `dir`. */
export async function startReplayServer(dir: string): Promise<ScriptedChatServer> {
  const byRequest = new Map(readRecording(dir).map((t) => [skeleton(t.request.messages), t]));
  return ScriptedChatServer.start((body: ChatBody) => {
    const turn = byRequest.get(skeleton(body.messages));
    return turn === undefined ? { kind: 'status', status: 500, body: '{"error":{"message":"no recorded turn matches this request"}}' } : reply(turn);
  });
}
