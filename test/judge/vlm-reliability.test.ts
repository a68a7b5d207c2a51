/**
 * Reliability of the VLM backend against a real HTTP server on loopback: retries (429 with Retry-After, 500, a dropped
 * connection), no retry on other 4xx, give-up after maxAttempts, timeouts, the concurrency limit, aborts, malformed
 * bodies — and every failure reaching the caller (and a reward-server client) as an explicit error code, never a score.
 * Where waiting is the subject, the client's sleep is faked and records the delays it was asked for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { ChatCompletionsClient, createVlmJudge, type ChatClientDeps, type VlmOptions } from '../../src/judge/backends/vlm/index.js';
import { backoffDelayMs, parseRetryAfter } from '../../src/judge/backends/vlm/retry-policy.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import { RewardServer } from '../../src/reward-server/index.js';
import { Peer } from '../reward-server/helpers.js';
import { ScriptedChatServer, text, type ChatScript } from './scripted-chat-server.js';
import { ANSWER } from './scripted-reasoner.js';

function video(base: number, frames = 8): RawVideo {
  const data = new Uint8Array(frames * 8 * 8 * 3);
  for (let f = 0; f < frames; f++) data.fill(base + f, f * 192, (f + 1) * 192);
  return { width: 8, height: 8, frameCount: frames, fps: 8, data };
}

const pair = (id = 'r1'): JudgmentRequest => ({
  id,
  prompt: 'a red circle',
  mode: 'pairwise',
  videos: [new RawFrameSource(video(0), 'a'), new RawFrameSource(video(100), 'b')],
  options: {},
});

const FAST: Partial<VlmOptions> = {
  profile: 'project',
  imageFormat: 'png',
  resizeFactor: 1,
  initialMinPixels: 64,
  initialMaxPixels: 64,
  selectedMinPixels: 64,
  selectedMaxPixels: 64,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 5_000,
};

/** A fake clock for retries: records each requested wait and returns at once. */
function recordingSleep(): { delays: number[]; deps: ChatClientDeps } {
  const delays: number[] = [];
  return { delays, deps: { sleep: (ms) => (delays.push(ms), Promise.resolve()), random: () => 0.5 } };
}

let server: ScriptedChatServer | null = null;
let engine: JudgeEngine | null = null;
afterEach(async () => {
  await engine?.close();
  await server?.close();
  engine = null;
  server = null;
});

async function setup(script: ChatScript, vlm: Partial<VlmOptions> = {}, deps?: ChatClientDeps): Promise<{ server: ScriptedChatServer; engine: JudgeEngine }> {
  server = await ScriptedChatServer.start(script);
  engine = await createVlmJudge({ vlm: { baseUrl: server.baseUrl, model: 'm', ...FAST, ...vlm }, env: {}, ...(deps === undefined ? {} : { deps }) });
  return { server, engine };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isVrGrpoError(e)) return { code: e.code, message: e.message, details: { ...e.details } };
    return { code: `OTHER`, message: String(e), details: {} };
  }
  throw new Error('expected a failure, got a result');
}

describe('VLM backend: retries', () => {
  it('retries 429 after its Retry-After, then 500 after a jittered backoff, then succeeds', async () => {
    const clock = recordingSleep();
    const replies = [
      { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
      { kind: 'status', status: 500 },
    ] as const;
    const { server: s, engine: e } = await setup((_, n) => replies[n] ?? text(ANSWER('1')), { maxAttempts: 4 }, clock.deps);
    const v = await e.judge(pair(), {});
    expect(v.answer?.OA).toBe(1);
    expect(s.requests).toHaveLength(3);
    // Retry-After: 2 s exactly; then backoff for attempt 2: 100·2 = 200 ms, half fixed + half jitter (0.5) = 150 ms.
    expect(clock.delays).toEqual([2000, 150]);
    // The same request body each time.
    expect(new Set(s.bodies.map((b) => JSON.stringify(b))).size).toBe(1);
  });

  it('retries a dropped connection and a 408', async () => {
    const clock = recordingSleep();
    const { server: s, engine: e } = await setup(
      (_, n) => (n === 0 ? { kind: 'drop' } : n === 1 ? { kind: 'status', status: 408 } : text(ANSWER('2'))),
      {},
      clock.deps,
    );
    const v = await e.judge(pair(), {});
    expect(v.answer?.OA).toBe(2);
    expect(s.requests).toHaveLength(3);
    expect(clock.delays).toEqual([75, 150]);
  });

  it('does not retry other 4xx: BACKEND_REJECTED with the status and the server text', async () => {
    const { server: s, engine: e } = await setup(() => ({
      kind: 'status',
      status: 400,
      body: '{"error":{"message":"At most 16 image(s) may be provided in one request"}}',
    }));
    const f = await failure(e.judge(pair(), {}));
    expect(f.code).toBe('BACKEND_REJECTED');
    expect(f.details.status).toBe(400);
    expect(f.message).toContain('At most 16 image(s)');
    expect(s.requests).toHaveLength(1);
    s.setScript(() => ({ kind: 'status', status: 401 }));
    expect((await failure(e.judge(pair('r2'), {}))).code).toBe('BACKEND_REJECTED');
    expect(s.requests).toHaveLength(2);
  });

  it('gives up after maxAttempts with BACKEND_UNAVAILABLE (5xx, and a server that is gone)', async () => {
    const clock = recordingSleep();
    const { server: s, engine: e } = await setup(() => ({ kind: 'status', status: 503 }), { maxAttempts: 3 }, clock.deps);
    const f = await failure(e.judge(pair(), {}));
    expect(f.code).toBe('BACKEND_UNAVAILABLE');
    expect(f.message).toContain('after 3 attempts');
    expect(s.requests).toHaveLength(3);
    expect(clock.delays).toEqual([75, 150]);
    // Nothing listens any more: connection refused on every attempt (real, short waits).
    const url = s.baseUrl;
    await s.close();
    server = null;
    const gone = await createVlmJudge({ vlm: { baseUrl: url, model: 'm', ...FAST, maxAttempts: 2, retryBaseDelayMs: 5 }, env: {} });
    const g = await failure(gone.judge(pair(), {}));
    await gone.close();
    expect(g.code).toBe('BACKEND_UNAVAILABLE');
    expect(g.message).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('ends the retries when Retry-After is longer than retryMaxDelayMs', async () => {
    const clock = recordingSleep();
    const { server: s, engine: e } = await setup(
      () => ({ kind: 'status', status: 429, headers: { 'retry-after': '120' } }),
      { retryMaxDelayMs: 10_000 },
      clock.deps,
    );
    const f = await failure(e.judge(pair(), {}));
    expect(f.code).toBe('BACKEND_UNAVAILABLE');
    expect(f.message).toContain('retry after 120000 ms');
    expect(s.requests).toHaveLength(1);
    expect(clock.delays).toEqual([]);
  });

  it('reads Retry-After as seconds or an HTTP date, and backs off exponentially with a cap', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(10_000 + 4000).toUTCString(), 10_000)).toBe(4000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
    expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((a) => backoffDelayMs(a, 100, 1000, () => 0))).toEqual([50, 100, 200]);
  });
});

describe('VLM backend: time, concurrency, aborts, bad bodies', () => {
  it('times out a request that gets no answer: BACKEND_TIMEOUT, not retried', async () => {
    const { server: s, engine: e } = await setup(() => ({ kind: 'hang' }), { timeoutMs: 300 });
    const t0 = performance.now();
    const f = await failure(e.judge(pair(), {}));
    expect(f.code).toBe('BACKEND_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(s.requests).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight per backend', async () => {
    const { server: s, engine: e } = await setup(() => ({ kind: 'delay', ms: 150, then: text(ANSWER('1')) }), { concurrency: 2 });
    const verdicts = await Promise.all([1, 2, 3, 4, 5].map((k) => e.judge(pair(`c${k}`), {})));
    expect(verdicts.every((v) => v.answer?.OA === 1)).toBe(true);
    expect(s.requests).toHaveLength(5);
    expect(s.maxInFlight).toBe(2);
    // The same limit, seen from the client: never more than 2 holders at once.
    const client = new ChatCompletionsClient({
      baseUrl: s.baseUrl,
      apiKey: null,
      timeoutMs: 5_000,
      maxAttempts: 1,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 1,
      concurrency: 2,
    });
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, client.inFlight)), 5);
    await Promise.all([1, 2, 3, 4].map(() => client.complete({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0, max_tokens: 8 })));
    clearInterval(watch);
    await client.close();
    expect(peak).toBe(2);
  });

  it('stops a request when the judgment is aborted: ABORTED, promptly', async () => {
    const { engine: e } = await setup(() => ({ kind: 'hang' }), { timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = failure(e.judge(pair(), { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    const f = await pending;
    expect(f.code).toBe('ABORTED');
    expect(f.details.reason).toBe('aborted');
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('treats a 200 whose body is not a chat completion as BACKEND_UNAVAILABLE', async () => {
    const { engine: e } = await setup(() => ({ kind: 'status', status: 200, body: '{"object":"error","message":"oops"}' }));
    const f = await failure(e.judge(pair(), {}));
    expect(f.code).toBe('BACKEND_UNAVAILABLE');
    expect(f.message).toContain('not a chat completion');
  });

  it('a reward-server client gets the failure as an error message with its code, never a verdict', async () => {
    const { engine: e } = await setup(() => ({ kind: 'status', status: 503 }), { maxAttempts: 2, retryBaseDelayMs: 5 });
    const media = await Media.create();
    const rs = await RewardServer.start({ service: e, media, log: silentLogger(), artifactRoot: process.cwd(), host: '127.0.0.1', port: 0 });
    const peer = await Peer.open(rs.url);
    try {
      expect(peer.hello).toMatchObject({ backend: 'vlm', rmVersion: 'vlm:m' });
      peer.sendVideo('a', video(0));
      peer.sendVideo('b', video(100));
      peer.send({ type: 'judge', id: 'j1', prompt: 'a red circle', mode: 'pairwise', videos: [{ inline: 'a' }, { inline: 'b' }] });
      const error = await peer.nextError('j1', 10_000);
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
      expect(peer.queued.filter((m) => m.type === 'verdict')).toEqual([]);
    } finally {
      peer.ws.close();
      await rs.close();
    }
  });
});
