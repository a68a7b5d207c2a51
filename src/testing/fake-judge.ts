/**
 * Test doubles shipped with the package, for benches and for users' own tests of code built on vr-grpo: they
 * implement the real interfaces, cost next to nothing, and are deterministic.
 */
import { VrGrpoError } from '../errors/index.js';
import type { JudgeClient } from '../coordinator/reward-collector.js';
import { framesOf, type RawVideo } from '../media/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../reward-client/pool.js';
import type { Preference } from '../protocol/index.js';

/** Mean red minus mean blue of a video's first frame: a deterministic stand-in score. */
export function redness(v: RawVideo): number {
  let s = 0;
  const n = v.width * v.height;
  for (let i = 0; i < n; i++) s += (v.data[3 * i] ?? 0) - (v.data[3 * i + 2] ?? 0);
  return s / n;
}

/** A judge preferring redder videos; `fail(callIndex)` makes chosen calls fail with JUDGE_FAILED. */
export class FakeJudge implements JudgeClient {
  calls = 0;
  /** The RM version verdicts carry; `versionAt(call)` overrides it per call (a hot swap mid-group). */
  rmVersion = 'fake-v1';
  versionAt: ((call: number) => string) | null = null;

  constructor(private readonly fail: (call: number, request: PoolJudgeRequest) => boolean = () => false) {}

  judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const call = this.calls++;
    if (this.fail(call, request)) return Promise.reject(new VrGrpoError('JUDGE_FAILED', 'planted failure'));
    const scores = request.videos.map((v) => redness(framesOf(v, 'the fake judge')));
    const [a = 0, b = 0] = scores;
    const p: Preference = a > b ? 1 : b > a ? 2 : 0;
    const norm = (x: number): number => Math.min(1, Math.max(0, (x + 255) / 510));
    return Promise.resolve({
      replica: 'fake',
      attempts: 1,
      verdict: {
        type: 'verdict',
        id: `f${call}`,
        rmVersion: this.versionAt?.(call) ?? this.rmVersion,
        mode: request.mode,
        answer: request.mode === 'pairwise' ? { TA: p, MQ: p, VQ: p, OA: p, CF: 1 } : null,
        scores: scores.map((s) => ({ TA: norm(s), MQ: norm(s), VQ: norm(s), overall: norm(s) })),
        framesViewed: request.videos.map(() => [0]),
        toolCalls: 0,
        hallucinations: [],
        formatErrors: 0,
        forced: false,
        timing: { totalMs: 0, decodeMs: 0, backendMs: 0 },
      },
    });
  }
}
