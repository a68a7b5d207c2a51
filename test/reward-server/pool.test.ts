import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VrGrpoError, isVrGrpoError } from '../../src/errors/index.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import { RewardClientPool } from '../../src/reward-client/pool.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import type { BrightnessJudge } from './brightness-judge.js';
import { ArtifactFixture, startServer, uniformVideo, within } from './helpers.js';

/** A judge that fails every request with a retryable JUDGE_FAILED. */
class FailingJudge implements JudgeService {
  readonly backendName = 'failing';
  calls = 0;
  rmVersion(): string {
    return 'test-rm-1';
  }
  judge(_request: JudgmentRequest, _hooks: JudgmentHooks): Promise<Judgment> {
    this.calls += 1;
    return Promise.reject(new VrGrpoError('JUDGE_FAILED', 'planted replica failure'));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const bright = uniformVideo(200);
const dark = uniformVideo(40);

describe('reward client pool over real replicas', () => {
  let fixture: ArtifactFixture;
  beforeAll(async () => {
    fixture = await ArtifactFixture.create();
  });
  afterAll(() => fixture.remove());

  it('retries a failed judgment on another replica', async () => {
    const failing = new FailingJudge();
    const a = await startServer(fixture, { service: failing });
    const b = await startServer(fixture);
    const pool = await RewardClientPool.create({ urls: [a.server.url, b.server.url], maxAttempts: 3 });
    try {
      const results = await within(
        Promise.all([0, 1, 2, 3].map(() => pool.judge({ prompt: 'p', mode: 'pairwise', videos: [bright, dark] }))),
        'pooled judgments',
      );
      for (const r of results) {
        expect(r.replica).toBe(b.server.url);
        expect(r.verdict.answer?.OA).toBe(1);
      }
      expect(failing.calls).toBeGreaterThan(0);
      expect(results.some((r) => r.attempts === 2)).toBe(true);
    } finally {
      await pool.close();
      await a.server.close();
      await b.server.close();
    }
  });

  it('with retryOn transport, re-runs a judgment elsewhere only when no server got it done, not after a judge failure', async () => {
    const failing = new FailingJudge();
    const a = await startServer(fixture, { service: failing });
    const b = await startServer(fixture);
    const pool = await RewardClientPool.create({ urls: [a.server.url, b.server.url], maxAttempts: 3, retryOn: 'transport', reconnectDelayMs: 50 });
    try {
      // Round-robin sends some judgments to the failing replica first: they fail there, and are not re-run on b.
      const results = await within(
        Promise.allSettled([0, 1, 2, 3].map(() => pool.judge({ prompt: 'p', mode: 'pairwise', videos: [bright, dark] }))),
        'pooled judgments',
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.length).toBe(failing.calls);
      expect(failed.length).toBeGreaterThan(0);
      for (const r of failed) expect(isVrGrpoError(r.reason, 'JUDGE_FAILED')).toBe(true);
      for (const r of results) if (r.status === 'fulfilled') expect(r.value).toMatchObject({ replica: b.server.url, attempts: 1 });
      // A replica that is gone is a transport failure: the judgment goes to the other one.
      await b.server.close();
      await a.server.close();
      const c = await startServer(fixture);
      const pool2 = await RewardClientPool.create({
        urls: [b.server.url, c.server.url],
        maxAttempts: 3,
        retryOn: 'transport',
        reconnectDelayMs: 50,
        waitForReplicaMs: 2_000,
      });
      try {
        const r = await within(pool2.judge({ prompt: 'p', mode: 'pairwise', videos: [bright, dark] }), 'judgment on the live replica');
        expect(r.replica).toBe(c.server.url);
      } finally {
        await pool2.close();
        await c.server.close();
      }
    } finally {
      await pool.close();
      await a.server.close();
      await b.server.close();
    }
  });

  it('does not retry non-retryable errors, and routes around a replica that went away', async () => {
    const a = await startServer(fixture);
    const b = await startServer(fixture);
    const pool = await RewardClientPool.create({ urls: [a.server.url, b.server.url], reconnectDelayMs: 50 });
    try {
      let caught: unknown;
      try {
        await pool.judge({ prompt: 'format-error', mode: 'pairwise', videos: [bright, dark] });
      } catch (e) {
        caught = e;
      }
      expect(isVrGrpoError(caught, 'FORMAT_ERROR')).toBe(true);
      expect(a.judge.calls.length + b.judge.calls.length).toBe(1);
      await a.server.close();
      const after = await within(
        Promise.all([0, 1, 2].map(() => pool.judge({ prompt: 'p', mode: 'pairwise', videos: [bright, dark] }))),
        'judgments after a replica closed',
      );
      for (const r of after) expect(r.replica).toBe(b.server.url);
      expect(pool.connectedCount).toBe(1);
    } finally {
      await pool.close();
      await b.server.close();
    }
  });

  it('spreads concurrent judgments over replicas (least in flight)', async () => {
    const servers: RewardServer[] = [];
    const judges: BrightnessJudge[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await startServer(fixture);
      servers.push(s.server);
      judges.push(s.judge);
    }
    const pool = await RewardClientPool.create({ urls: servers.map((s) => s.url) });
    try {
      await within(Promise.all(Array.from({ length: 8 }, () => pool.judge({ prompt: 'p', mode: 'pairwise', videos: [bright, dark] }))), 'spread judgments');
      expect(judges[0]?.calls.length).toBeGreaterThanOrEqual(3);
      expect(judges[1]?.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      await pool.close();
      for (const s of servers) await s.close();
    }
  });
});
