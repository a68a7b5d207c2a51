/**
 * The `JudgeService` contract suite: every reward backend (embedded, VLM, …) runs it. It checks what callers rely on,
 * whatever the backend's quality: verdicts that parse against the protocol schema, frame and tool budgets respected,
 * frames viewed inside the videos (of unequal lengths too), turns streamed in order, pointwise scores in range, abort
 * honoured, a pair of other than two videos refused, and an unreadable video an error (never a default score).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VrGrpoError, isVrGrpoError } from '../../src/errors/index.js';
import { RawFrameSource, type FrameSource } from '../../src/judge/frame-source.js';
import type { JudgeService } from '../../src/judge/judge-service.js';
import { verdictSchema, type Turn } from '../../src/protocol/index.js';
import { Rng } from '../../src/common/rng.js';
import { decodeLatent, idealLatent, parsePrompt, renderScene, DEFECT_OFFSET } from '../../src/world/index.js';

const PROMPT = 'a red circle moving left fast on a navy background';

function videos(): { good: RawFrameSource; bad: RawFrameSource } {
  const spec = parsePrompt(PROMPT);
  const good = idealLatent(spec, Rng.fromSeed(1));
  const bad = idealLatent(parsePrompt('a yellow square moving up slowly on a beige background'), Rng.fromSeed(2));
  bad[DEFECT_OFFSET] = 1;
  bad[DEFECT_OFFSET + 3] = 1;
  const render = (l: Float32Array): RawFrameSource => new RawFrameSource(renderScene(decodeLatent(l), { frames: 24, fps: 8 }), 'v');
  return { good: render(good), bad: render(bad) };
}

/** A video that announces 24 frames but whose frames cannot be read (a truncated file decoded lazily). */
function unreadable(): FrameSource {
  return {
    label: 'truncated.mp4',
    frameCount: () => Promise.resolve(24),
    size: () => Promise.resolve({ width: 64, height: 64 }),
    frames: () =>
      Promise.reject(new VrGrpoError('VIDEO_DECODE_FAILED', 'truncated.mp4: cannot decode', { details: { path: 'truncated.mp4', reason: 'truncated' } })),
  };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected ${what} to reject, it resolved with ${JSON.stringify(value).slice(0, 200)}`);
  } catch (e) {
    return e;
  }
}

/** What a backend can do; the suite checks a refusal where it cannot. */
export interface ContractCapabilities {
  /** Pointwise scores (the released VR-Thinker judges pairs only). Default true. */
  readonly pointwise?: boolean;
}

export function runJudgeServiceContract(name: string, create: () => Promise<JudgeService>, capabilities: ContractCapabilities = {}): void {
  describe(`JudgeService contract: ${name}`, () => {
    let service: JudgeService;
    beforeAll(async () => {
      service = await create();
    });
    afterAll(async () => {
      await service.close();
    });

    it('answers pairwise with a verdict that satisfies the protocol schema', async () => {
      const { good, bad } = videos();
      const j = await service.judge({ id: 'c1', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: { trace: true } }, {});
      expect(verdictSchema.safeParse({ type: 'verdict', id: 'c1', ...j }).success).toBe(true);
      expect(j.rmVersion).toBe(service.rmVersion());
      expect(j.scores).toHaveLength(2);
      expect(j.framesViewed).toHaveLength(2);
      for (const f of j.framesViewed) for (const i of f) expect(i >= 0 && i < 24).toBe(true);
      expect(j.turns?.at(-1)?.role).toBe('assistant');
    });

    it('names its backend and the version its verdicts carry', async () => {
      expect(service.backendName.length).toBeGreaterThan(0);
      expect(service.rmVersion().length).toBeGreaterThan(0);
      const { good, bad } = videos();
      const j = await service.judge({ id: 'c0', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: {} }, {});
      expect(j.rmVersion).toBe(service.rmVersion());
      expect(j.mode).toBe('pairwise');
    });

    it('views frames inside each video of a pair of unequal lengths', async () => {
      const { good, bad } = videos();
      const spec = parsePrompt(PROMPT);
      const long = new RawFrameSource(renderScene(decodeLatent(idealLatent(spec, Rng.fromSeed(3))), { frames: 48, fps: 8 }), 'long');
      for (const [pair, lengths] of [
        [
          [good, long],
          [24, 48],
        ],
        [
          [long, bad],
          [48, 24],
        ],
      ] as const) {
        const j = await service.judge({ id: 'c8', prompt: PROMPT, mode: 'pairwise', videos: pair, options: { maxToolCalls: 2 } }, {});
        expect(verdictSchema.safeParse({ type: 'verdict', id: 'c8', ...j }).success).toBe(true);
        expect(j.framesViewed).toHaveLength(2);
        j.framesViewed.forEach((f, k) => {
          expect(f.length, `frames viewed of video ${k + 1}`).toBeGreaterThan(0);
          for (const i of f) expect(Number.isInteger(i) && i >= 0 && i < (lengths[k] ?? 0), `frame ${i} of video ${k + 1} (${lengths[k]} frames)`).toBe(true);
        });
      }
    });

    it('refuses a pairwise request without exactly two videos with INVALID_REQUEST', async () => {
      const { good, bad } = videos();
      for (const v of [[good], [good, bad, good]]) {
        const error = await rejectionOf(
          service.judge({ id: 'c9', prompt: PROMPT, mode: 'pairwise', videos: v, options: {} }, {}),
          `pairwise with ${v.length} video(s)`,
        );
        expect(isVrGrpoError(error, 'INVALID_REQUEST'), `pairwise with ${v.length} video(s): ${String(error)}`).toBe(true);
      }
    });

    it('rejects with VIDEO_DECODE_FAILED, not a default score, when a video cannot be read', async () => {
      const { good } = videos();
      const pairwise = await rejectionOf(
        service.judge({ id: 'c10', prompt: PROMPT, mode: 'pairwise', videos: [good, unreadable()], options: {} }, {}),
        'a pair with an unreadable video',
      );
      expect(isVrGrpoError(pairwise, 'VIDEO_DECODE_FAILED'), String(pairwise)).toBe(true);
    });

    it('respects the tool-call and per-call frame budgets', async () => {
      const { good, bad } = videos();
      const none = await service.judge({ id: 'c2', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: { maxToolCalls: 0, initialFrames: 8 } }, {});
      expect(none.toolCalls).toBe(0);
      expect(none.framesViewed.reduce((s, f) => s + f.length, 0)).toBe(8);
      const some = await service.judge(
        { id: 'c3', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: { maxToolCalls: 2, maxFramesPerCall: 4, initialFrames: 4 } },
        {},
      );
      expect(some.toolCalls).toBeLessThanOrEqual(2);
      expect(some.framesViewed.reduce((s, f) => s + f.length, 0)).toBeLessThanOrEqual(4 + 2 * 4);
    });

    it('streams turns in order when asked, and only then', async () => {
      const { good, bad } = videos();
      const streamed: Turn[] = [];
      const j = await service.judge(
        { id: 'c4', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: { stream: true, trace: true } },
        { onTurn: (t) => streamed.push(t) },
      );
      expect(streamed.map((t) => t.index)).toEqual((j.turns ?? []).map((t) => t.index));
      expect(streamed.length).toBeGreaterThan(0);
      const silent: Turn[] = [];
      await service.judge({ id: 'c5', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: {} }, { onTurn: (t) => silent.push(t) });
      expect(silent).toEqual([]);
    });

    it.runIf(capabilities.pointwise !== false)('scores each video in pointwise mode within [0, 1]', async () => {
      const { good, bad } = videos();
      const j = await service.judge({ id: 'c6', prompt: PROMPT, mode: 'pointwise', videos: [good, bad], options: {} }, {});
      expect(j.answer).toBeNull();
      expect(j.scores).toHaveLength(2);
      for (const s of j.scores) for (const v of Object.values(s)) expect(v >= 0 && v <= 1).toBe(true);
    });

    it.runIf(capabilities.pointwise === false)('refuses pointwise mode with INVALID_REQUEST, never a made-up score', async () => {
      const { good, bad } = videos();
      let caught: unknown;
      try {
        await service.judge({ id: 'c6', prompt: PROMPT, mode: 'pointwise', videos: [good, bad], options: {} }, {});
      } catch (e) {
        caught = e;
      }
      expect(isVrGrpoError(caught, 'INVALID_REQUEST')).toBe(true);
    });

    it('stops with an error, not a default score, when aborted', async () => {
      const { good, bad } = videos();
      const controller = new AbortController();
      controller.abort();
      let caught: unknown;
      try {
        await service.judge({ id: 'c7', prompt: PROMPT, mode: 'pairwise', videos: [good, bad], options: {} }, { signal: controller.signal });
      } catch (e) {
        caught = e;
      }
      expect(isVrGrpoError(caught, 'ABORTED')).toBe(true);
    });
  });
}
