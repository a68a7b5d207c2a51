/**
 * The reward pool decides retries by error code only: a retryable code is re-run on another replica, a non-retryable
 * one is not, `retryOn: 'transport'` re-runs only the transport codes, and `details.reason` or a foreign error never
 * make a failure retryable. Real replicas on loopback port 0; one of them fails every judgment with a planted code.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_ERROR_CODES, ERROR_CODES, VrGrpoError, isVrGrpoError, type ErrorCode } from '../../src/errors/index.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import { RewardClientPool, TRANSPORT_CODES, isRetryable, isTransportFailure, type PooledVerdict, type RetryOn } from '../../src/reward-client/pool.js';
import { ArtifactFixture, startServer, uniformVideo, within } from './helpers.js';

/** A judge that fails every request with `code`. */
class CodedFailureJudge implements JudgeService {
  readonly backendName = 'coded-failure';
  calls = 0;
  constructor(readonly code: ErrorCode) {}
  rmVersion(): string {
    return 'test-rm-1';
  }
  judge(_request: JudgmentRequest, _hooks: JudgmentHooks): Promise<Judgment> {
    this.calls += 1;
    return Promise.reject(new VrGrpoError(this.code, `planted ${this.code}`, { details: { reason: 'timeout' } }));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const bright = uniformVideo(200);
const dark = uniformVideo(40);
const request = { prompt: 'p', mode: 'pairwise', videos: [bright, dark] } as const;

/** A loopback port nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

describe('retry decisions by code', () => {
  it('follow the catalogue flag, never details.reason, and never retry a foreign error', () => {
    for (const code of ALL_ERROR_CODES) {
      const e = new VrGrpoError(code, 'x', { details: { reason: 'timeout' } });
      expect(isRetryable(e), code).toBe(ERROR_CODES[code].retryable);
      expect(isTransportFailure(e), code).toBe(TRANSPORT_CODES.has(code));
    }
    expect(isRetryable(new VrGrpoError('FORMAT_ERROR', 'x', { details: { reason: 'disconnected' } }))).toBe(false);
    expect(isTransportFailure(new VrGrpoError('JUDGE_FAILED', 'x', { details: { reason: 'disconnected' } }))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(isTransportFailure(new Error('boom'))).toBe(false);
    expect(isRetryable('boom')).toBe(false);
  });

  it('treats every transport code as retryable', () => {
    for (const code of TRANSPORT_CODES) expect(ERROR_CODES[code].retryable, code).toBe(true);
  });
});

describe('reward client pool retries by code over real replicas', () => {
  let fixture: ArtifactFixture;
  beforeAll(async () => {
    fixture = await ArtifactFixture.create();
  });
  afterAll(() => fixture.remove());

  /** Four concurrent judgments on a pool of a replica failing with `code` and a healthy one. */
  async function judgeAround(
    code: ErrorCode,
    retryOn: RetryOn,
  ): Promise<{ results: PromiseSettledResult<PooledVerdict>[]; failing: CodedFailureJudge; healthy: string }> {
    const failing = new CodedFailureJudge(code);
    const a = await startServer(fixture, { service: failing });
    const b = await startServer(fixture);
    try {
      const pool = await RewardClientPool.create({ urls: [a.server.url, b.server.url], maxAttempts: 3, retryOn });
      try {
        const results = await within(Promise.allSettled([0, 1, 2, 3].map(() => pool.judge(request))), `pooled judgments (${code}, ${retryOn})`);
        return { results, failing, healthy: b.server.url };
      } finally {
        await pool.close();
      }
    } finally {
      await a.server.close();
      await b.server.close();
    }
  }

  it.each([
    ['REQUEST_TIMEOUT', 'retryable'],
    ['CONNECTION_LOST', 'retryable'],
    ['REQUEST_TIMEOUT', 'transport'],
    ['CONNECTION_LOST', 'transport'],
  ] as const)('re-runs a judgment that failed with %s on another replica (retryOn %s)', async (code, retryOn) => {
    const { results, failing, healthy } = await judgeAround(code, retryOn);
    expect(failing.calls).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.status).toBe('fulfilled');
      if (r.status === 'fulfilled') expect(r.value.replica).toBe(healthy);
    }
    expect(results.some((r) => r.status === 'fulfilled' && r.value.attempts === 2)).toBe(true);
  });

  it.each([
    ['INVALID_STATE', 'retryable'],
    ['ABORTED', 'retryable'],
    ['NO_ANSWER', 'retryable'],
    ['JUDGE_FAILED', 'transport'],
    ['ABORTED', 'transport'],
  ] as const)('does not re-run a judgment that failed with %s (retryOn %s), whatever details.reason says', async (code, retryOn) => {
    const { results, failing, healthy } = await judgeAround(code, retryOn);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBe(failing.calls);
    for (const r of failed) expect(isVrGrpoError(r.reason, code)).toBe(true);
    for (const r of results) if (r.status === 'fulfilled') expect(r.value).toMatchObject({ replica: healthy, attempts: 1 });
  });

  it('rejects with NO_REPLICA_REACHABLE when no replica comes up in time', async () => {
    const pool = await RewardClientPool.create({ urls: [`ws://127.0.0.1:${await deadPort()}`], waitForReplicaMs: 100, reconnectDelayMs: 50 });
    try {
      const error: unknown = await within(
        pool.judge(request).then(
          () => null,
          (e: unknown) => e,
        ),
        'judgment without replicas',
      );
      expect(isVrGrpoError(error, 'NO_REPLICA_REACHABLE')).toBe(true);
      expect(isVrGrpoError(error) && error.retryable).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('rejects a judgment waiting for a replica with CLOSED when the pool closes', async () => {
    const pool = await RewardClientPool.create({ urls: [`ws://127.0.0.1:${await deadPort()}`], waitForReplicaMs: 30_000, reconnectDelayMs: 50 });
    const pending = pool.judge(request).then(
      () => null,
      (e: unknown) => e,
    );
    await pool.close();
    const error = await within(pending, 'judgment after close');
    expect(isVrGrpoError(error, 'CLOSED')).toBe(true);
    expect(isVrGrpoError(error) && error.retryable).toBe(false);
    expect(
      isVrGrpoError(
        await pool.judge(request).then(
          () => null,
          (e: unknown) => e,
        ),
        'CLOSED',
      ),
    ).toBe(true);
  });
});
