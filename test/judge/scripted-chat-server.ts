/**
 * A real OpenAI-compatible chat-completions server on 127.0.0.1:0 that replays scripted assistant turns and records
 * every request, for the VLM backend tests. A script sees each parsed request (and its 0-based number) and answers
 * with text, structured tool calls, an HTTP error, a dropped connection, or silence (until the client gives up).
 * Helpers read back what the backend sent: images (with their "Frame N:" labels) and text per message.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (null when it was not JSON). */
  readonly body: ChatBody | null;
}

/** The request fields the tests read (the rest stays available as unknown). */
export interface ChatBody {
  readonly model: string;
  readonly messages: readonly BodyMessage[];
  readonly temperature?: number;
  readonly max_tokens?: number;
  readonly stop?: readonly string[];
  readonly tools?: readonly unknown[];
  readonly [key: string]: unknown;
}

export interface BodyMessage {
  readonly role: string;
  readonly content: string | readonly BodyPart[];
}

export type BodyPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } }
  | { readonly type: 'video_url'; readonly video_url: { readonly url: string } };

/** The frames of a `data:video/jpeg;base64,<f1>,<f2>,…` part as JPEG image data URLs (vLLM's frame-list form). */
export function videoFrames(url: string): string[] {
  const prefix = 'data:video/jpeg;base64,';
  if (!url.startsWith(prefix)) throw new Error(`not a JPEG frame-list video URL: ${url.slice(0, 40)}`);
  return url
    .slice(prefix.length)
    .split(',')
    .map((b64) => `data:image/jpeg;base64,${b64}`);
}

export type ScriptedReply =
  | { readonly kind: 'text'; readonly text: string; readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number } | null }
  | { readonly kind: 'tool_calls'; readonly content?: string | null; readonly calls: readonly { readonly name: string; readonly arguments: string }[] }
  | { readonly kind: 'status'; readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Destroys the socket after the request arrived, without a response. */
  | { readonly kind: 'drop' }
  /** Never answers (the socket is closed when the server closes). */
  | { readonly kind: 'hang' }
  /** Answers `then` after `ms` (for concurrency measurements). */
  | { readonly kind: 'delay'; readonly ms: number; readonly then: ScriptedReply };

export type ChatScript = (body: ChatBody, n: number) => ScriptedReply;

export const text = (t: string, usage?: { prompt_tokens: number; completion_tokens: number } | null): ScriptedReply => ({
  kind: 'text',
  text: t,
  ...(usage === undefined ? {} : { usage }),
});

export class ScriptedChatServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests being answered right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: http.Server,
    private script: ChatScript,
  ) {}

  static async start(script: ChatScript): Promise<ScriptedChatServer> {
    const server = http.createServer();
    const s = new ScriptedChatServer(server, script);
    server.on('request', (req, res) => s.handle(req, res));
    server.on('connection', (socket) => {
      s.sockets.add(socket);
      socket.once('close', () => s.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  /** The API root to configure as baseUrl (…/v1). */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Replaces the script (requests keep counting). */
  setScript(script: ChatScript): void {
    this.script = script;
  }

  /** Bodies of the chat-completions requests, in arrival order. */
  get bodies(): ChatBody[] {
    return this.requests.flatMap((r) => (r.body === null ? [] : [r.body]));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: ChatBody | null = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
      } catch {
        body = null;
      }
      const n = this.requests.length;
      this.requests.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://x').pathname, headers: req.headers, body });
      if (req.method !== 'POST' || !(req.url ?? '').endsWith('/v1/chat/completions') || body === null) {
        this.send(res, { kind: 'status', status: 404, body: JSON.stringify({ error: { message: 'not found' } }) });
        return;
      }
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      res.once('close', () => {
        this.inFlight -= 1;
      });
      let reply: ScriptedReply;
      try {
        reply = this.script(body, n);
      } catch (e) {
        reply = { kind: 'status', status: 500, body: JSON.stringify({ error: { message: `script failed: ${e instanceof Error ? e.message : String(e)}` } }) };
      }
      this.send(res, reply);
    });
  }

  private send(res: http.ServerResponse, reply: ScriptedReply): void {
    switch (reply.kind) {
      case 'hang':
        return;
      case 'drop':
        res.socket?.destroy();
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.send(res, reply.then);
        }, reply.ms);
        this.timers.add(timer);
        return;
      }
      case 'status':
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? JSON.stringify({ error: { message: `status ${reply.status}` } }));
        return;
      case 'text':
      case 'tool_calls': {
        const message =
          reply.kind === 'text'
            ? { role: 'assistant', content: reply.text }
            : {
                role: 'assistant',
                content: reply.content ?? null,
                tool_calls: reply.calls.map((c, i) => ({ id: `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } })),
              };
        const usage = reply.kind === 'text' ? reply.usage : undefined;
        const payload = {
          id: 'chatcmpl-scripted',
          object: 'chat.completion',
          created: 0,
          model: 'scripted',
          choices: [{ index: 0, message, finish_reason: reply.kind === 'text' ? 'stop' : 'tool_calls' }],
          ...(usage === null
            ? {}
            : {
                usage:
                  usage === undefined
                    ? { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 }
                    : { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
              }),
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
        return;
      }
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Text of a message (text parts joined with newlines). */
export function messageText(m: BodyMessage): string {
  return typeof m.content === 'string' ? m.content : m.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
}

export interface SentImage {
  /** The frame number of the "Frame N:" label right before the image (null without a label). */
  readonly frame: number | null;
  readonly url: string;
  /** Index of the message carrying it. */
  readonly message: number;
  /** Sent as a frame of a video part (not a separate image). */
  readonly inVideo: boolean;
}

/** Every image of a request in order, with the frame label that precedes it. */
export function sentImages(body: ChatBody): SentImage[] {
  const out: SentImage[] = [];
  body.messages.forEach((m, message) => {
    if (typeof m.content === 'string') return;
    let label: number | null = null;
    for (const p of m.content) {
      if (p.type === 'text') {
        const all = [...p.text.matchAll(/Frame (\d+):\s*$/g)];
        label = all.length === 0 ? null : Number(all.at(-1)?.[1]);
      } else if (p.type === 'image_url') {
        out.push({ frame: label, url: p.image_url.url, message, inVideo: false });
        label = null;
      } else {
        for (const url of videoFrames(p.video_url.url)) out.push({ frame: null, url, message, inVideo: true });
        label = null;
      }
    }
  });
  return out;
}

/** Decodes a JPEG or PNG data URL: format, size and the first pixel's red value. */
export function decodeImageUrl(url: string): { format: 'jpeg' | 'png'; width: number; height: number; red: number } {
  const m = /^data:image\/(jpeg|png);base64,(.+)$/.exec(url);
  if (m?.[1] === undefined || m[2] === undefined) throw new Error(`not a JPEG/PNG data URL: ${url.slice(0, 40)}`);
  const bytes = Buffer.from(m[2], 'base64');
  if (m[1] === 'png') {
    const png = PNG.sync.read(bytes);
    return { format: 'png', width: png.width, height: png.height, red: png.data[0] ?? -1 };
  }
  const img = jpeg.decode(bytes, { useTArray: true });
  return { format: 'jpeg', width: img.width, height: img.height, red: img.data[0] ?? -1 };
}

/** Frame range of the conversation from the task text ("frames 1-24", "video 2 is frames 25-48"). */
export function totalFrames(body: ChatBody): number {
  const all = body.messages.map(messageText).join('\n');
  const ranges = [...all.matchAll(/frames (\d+)-(\d+)/g)].map((m) => Number(m[2]));
  return ranges.length === 0 ? 0 : Math.max(...ranges);
}

/** Frame labels whose images were sent in this request (what a model could truthfully cite). */
export function visibleFrames(body: ChatBody): number[] {
  return sentImages(body).flatMap((i) => (i.frame === null ? [] : [i.frame]));
}

/** Tool results so far (user turns that open with "After selecting frames:"). */
export function toolRounds(body: ChatBody): number {
  return body.messages.filter((m) => m.role === 'user' && messageText(m).trimStart().startsWith('After selecting frames:')).length;
}

/**
 * A well-behaved scripted judge: looks once at unseen frames (one pair per video, within the per-call limit), then
 * answers; cites only frames it was shown; answers at once when told no tool calls or frames are left.
 */
export function sensibleScript(body: ChatBody): ScriptedReply {
  const all = body.messages.map(messageText).join('\n');
  const pointwise = all.includes('score the video');
  const seen = [...new Set(visibleFrames(body))].sort((a, b) => a - b);
  const lastText = messageText(body.messages.at(-1) ?? { role: 'user', content: '' });
  const total = totalFrames(body);
  const perCall = Number(/no more than (\d+) frames/.exec(all)?.[1] ?? '8');
  const snapshot = `<snapshot>I looked at frames ${seen.join(', ')}.</snapshot><think>The frames I saw are enough to compare.</think>`;
  const mustAnswer = toolRounds(body) > 0 || /No tool calls are left|No more frames/.test(lastText);
  if (!mustAnswer) {
    const unseen = Array.from({ length: total }, (_, i) => i + 1).filter((f) => !seen.includes(f));
    const picks = [unseen[0], unseen[Math.floor(unseen.length / 2)]].filter((f): f is number => f !== undefined).slice(0, perCall);
    const call = `<tool_call>\n{"name": "select_frames", "arguments": {"target_frames": ${JSON.stringify(picks)}}}\n</tool_call>`;
    return text(`${snapshot}${pointwise ? '' : '<recommend answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 2 </recommend answer>'}\n${call}`);
  }
  return text(
    pointwise
      ? `${snapshot}<answer> TA = 0.70, MQ = 0.60, VQ = 0.80, OA = 0.70 </answer>`
      : `${snapshot}<answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>`,
  );
}
