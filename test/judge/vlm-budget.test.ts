/**
 * Budgets that fit: the most tokens a VR-Thinker request can reach under the options, a start-up refusal when that
 * exceeds the server's context (judge.vlm.maxModelLen), and an audit re-judgment that samples only as many frames as fit
 * — checked with a real chat-completions server on loopback that counts what it was sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { ConcurrencyLimit } from '../../src/judge/backends/vlm/concurrency-limit.js';
import { contextBound, createVlmJudge, framesThatFit, resolveVlmOptions } from '../../src/judge/backends/vlm/index.js';
import { DEFAULT_JUDGE_OPTIONS } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { RawVideo } from '../../src/media/index.js';
import { ScriptedChatServer, sentImages, text } from './scripted-chat-server.js';

const video = (level: number): RawVideo => ({ width: 16, height: 16, frameCount: 48, fps: 8, data: new Uint8Array(16 * 16 * 3 * 48).fill(level) });

let server: ScriptedChatServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('VLM context budget', () => {
  it('bounds a request of the released defaults: video 2048 + one tool result 3200 + the rest of the 12088 budget + 2048 completion', () => {
    const o = resolveVlmOptions({ baseUrl: 'http://h:1/v1', model: 'm' }, {});
    const b = contextBound(o, DEFAULT_JUDGE_OPTIONS);
    // 8 frames of ≤ 512 patches as one video: 4 temporal pairs × 512; a tool result: 8 × 400 patches (+ 64 text).
    expect(b).toEqual({ initialTokens: 2048, selectedTokens: 3200, textTokens: 12088 - 2048 + 64, completionTokens: 2048, total: 17400 });
    expect(b.total).toBeLessThanOrEqual(o.maxModelLen ?? 0);
    // As images (project profile) the same frames cost twice the tokens.
    expect(contextBound(resolveVlmOptions({ baseUrl: 'http://h:1/v1', model: 'm', profile: 'project' }, {}), DEFAULT_JUDGE_OPTIONS).initialTokens).toBe(4096);
    // Without a token budget: the window's tool results and every turn's completion.
    const open = contextBound(resolveVlmOptions({ baseUrl: 'http://h:1/v1', model: 'm', tokenBudget: null }, {}), {
      ...DEFAULT_JUDGE_OPTIONS,
      memoryWindow: 2,
    });
    expect(open.selectedTokens).toBe(2 * 3200);
  });

  it('refuses at start-up a configuration that a request could push past the server context', async () => {
    let caught: unknown;
    try {
      await createVlmJudge({ vlm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', maxModelLen: 16384 }, env: {} });
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'CONFIG_INVALID')).toBe(true);
    expect(String(caught)).toMatch(/17400 tokens .*maxModelLen = 16384/);
    // The same with a smaller token budget fits.
    await expect(
      createVlmJudge({ vlm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', maxModelLen: 16384, tokenBudget: 10000 }, env: {} }),
    ).resolves.toBeDefined();
  });

  it('samples the audit re-judgment (all frames, no tool) down to the frames that fit, never all 96', async () => {
    const s = await ScriptedChatServer.start(() => text('<Answer>TA=1, VQ=1, MQ=1, OA=1</Answer>'));
    server = s;
    const vlm = { baseUrl: s.baseUrl, model: 'm', tokenBudget: 6000, maxModelLen: 20480 } as const;
    const fit = framesThatFit(resolveVlmOptions(vlm, {}));
    // (6000 − 1024 text − 2048 completion) / (512 / 2 tokens per video frame) = 11 frames.
    expect(fit).toBe(11);
    const engine = await createVlmJudge({ vlm, judge: { auditFraction: 1 }, env: {} });
    try {
      await engine.judge(
        { id: 'a', prompt: 'p', mode: 'pairwise', videos: [new RawFrameSource(video(10), 'a'), new RawFrameSource(video(200), 'b')], options: {} },
        {},
      );
    } finally {
      await engine.close();
    }
    const frameCounts = s.bodies.map((b) => sentImages(b).length);
    expect(frameCounts[0]).toBe(8);
    // The audit: as many frames as fit, split over the two videos (5 each), not 96 or maxImages (64).
    expect(frameCounts[1]).toBe(10);
  });
});

describe('VLM concurrency limit', () => {
  it('gives a freed slot to the next turn of a running conversation before a new conversation, each queue in order', async () => {
    const limit = new ConcurrencyLimit(1);
    const order: string[] = [];
    const first = await limit.acquire(undefined, 'new');
    const waiters = [
      limit.acquire(undefined, 'new').then((r) => ['new-1', r] as const),
      limit.acquire(undefined, 'continue').then((r) => ['turn-1', r] as const),
      limit.acquire(undefined, 'new').then((r) => ['new-2', r] as const),
      limit.acquire(undefined, 'continue').then((r) => ['turn-2', r] as const),
    ];
    expect(limit.queued).toEqual({ continue: 2, new: 2 });
    const settled = waiters.map((w) =>
      w.then(([name, release]) => {
        order.push(name);
        release();
      }),
    );
    first();
    await Promise.all(settled);
    expect(order).toEqual(['turn-1', 'turn-2', 'new-1', 'new-2']);
    expect(limit.inUse).toBe(0);
  });
});
