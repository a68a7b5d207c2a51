/** RewardServerClient against a real reward server: handshake, judging, error codes, timeouts, auth, disconnects. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError, type VrGrpoError } from '../../src/errors/index.js';
import { PROTOCOL_VERSION, type Turn } from '../../src/protocol/index.js';
import { RewardServerClient } from '../../src/reward-client/index.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import type { BrightnessJudge } from './brightness-judge.js';
import { ArtifactFixture, startServer, uniformVideo, within } from './helpers.js';

let fixture: ArtifactFixture;
let server: RewardServer;
let judge: BrightnessJudge;

async function rejection(promise: Promise<unknown>): Promise<VrGrpoError> {
  const error: unknown = await within(
    promise.then(
      () => undefined,
      (e: unknown) => e,
    ),
    'a rejection',
  );
  if (!isVrGrpoError(error)) throw new Error(`expected a VrGrpoError rejection, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
  ({ server, judge } = await startServer(fixture, { token: 'tok', maxInlineBytesPerConnection: 16 * 16 * 3 * 4 * 2 }));
});

afterAll(async () => {
  await server.close();
  fixture.remove();
});

describe('RewardServerClient', () => {
  it('connects with a token, exposes the hello, answers status and ping, and closes idempotently', async () => {
    const client = await RewardServerClient.connect(server.url, { token: 'tok' });
    expect(client.hello).toMatchObject({ protocol: PROTOCOL_VERSION, backend: 'test-brightness', rmVersion: 'test-rm-1' });
    expect(await within(client.status(), 'status')).toMatchObject({ type: 'status', state: 'running', connections: 1 });
    expect(await within(client.ping(), 'ping')).toBeGreaterThanOrEqual(0);
    await client.close();
    await client.close();
    expect(client.isOpen).toBe(false);
    expect(client.closeInfo?.code).toBe(1000);
  });

  it('refuses to connect without the token: UNAUTHORIZED carrying HTTP 401', async () => {
    const error = await rejection(RewardServerClient.connect(server.url));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.details.status).toBe(401);
    expect((await rejection(RewardServerClient.connect(server.url, { token: 'nope' }))).code).toBe('UNAUTHORIZED');
  });

  it('fails to connect to a port nobody listens on with JUDGE_FAILED (connect failed)', async () => {
    const { server: other } = await startServer(fixture);
    const url = other.url;
    await other.close();
    const error = await rejection(RewardServerClient.connect(url, { connectTimeoutMs: 2_000 }));
    expect(error.code).toBe('JUDGE_FAILED');
    expect(error.details.reason).toBe('connect failed');
  });

  it('sends inline videos and judges them, streaming turns to onTurn before the verdict resolves', async () => {
    const client = await RewardServerClient.connect(server.url, { token: 'tok' });
    try {
      expect(await within(client.sendInlineVideo('a', uniformVideo(20)), 'ack')).toBe(16 * 16 * 3 * 4);
      await within(client.sendInlineVideo('b', uniformVideo(230)), 'ack');
      const turns: Turn[] = [];
      const verdict = await within(
        client.judge(
          { id: 'r1', prompt: 'p', mode: 'pairwise', videos: [{ inline: 'a' }, { inline: 'b' }], options: { stream: true } },
          { onTurn: (t) => turns.push(t) },
        ),
        'the verdict',
      );
      expect(verdict.answer?.OA).toBe(2);
      expect(turns.map((t) => t.index)).toEqual([0, 1]);
      const file = await within(client.judge({ id: 'r2', prompt: 'p', mode: 'pointwise', videos: [{ uri: fixture.uri('dark.mp4') }] }), 'the verdict');
      expect(file.scores[0]?.overall).toBeLessThan(0.3);
    } finally {
      await client.close();
    }
  });

  it("rejects with the server's code: FORMAT_ERROR, FORBIDDEN_PATH, an inline-video refusal (OVERLOADED), local DUPLICATE_ID", async () => {
    const client = await RewardServerClient.connect(server.url, { token: 'tok' });
    try {
      expect((await rejection(client.judge({ id: 'e1', prompt: 'format-error', mode: 'pointwise', videos: [{ uri: fixture.uri('dark.mp4') }] }))).code).toBe(
        'FORMAT_ERROR',
      );
      const forbidden = await rejection(client.judge({ id: 'e2', prompt: 'p', mode: 'pointwise', videos: [{ uri: 'https://example.com/v.mp4' }] }));
      expect(forbidden.code).toBe('FORBIDDEN_PATH');
      expect(forbidden.details.id).toBe('e2');
      await within(client.sendInlineVideo('x', uniformVideo(1)), 'ack');
      await within(client.sendInlineVideo('y', uniformVideo(1)), 'ack');
      expect((await rejection(client.sendInlineVideo('z', uniformVideo(1)))).code).toBe('OVERLOADED');
      const gated = client.judge({ id: 'same', prompt: 'gate', mode: 'pointwise', videos: [{ inline: 'x' }] });
      expect((await rejection(client.judge({ id: 'same', prompt: 'p', mode: 'pointwise', videos: [{ inline: 'y' }] }))).code).toBe('DUPLICATE_ID');
      await within(judge.whenStarted('same'), 'the judgment to start');
      judge.release('same');
      expect((await within(gated, 'the gated verdict')).id).toBe('same');
      expect((await rejection(client.sendInlineVideo('bad', { ...uniformVideo(1), frameCount: 5 }))).code).toBe('INVALID_ARGUMENT');
    } finally {
      await client.close();
    }
  });

  it('times a request out with JUDGE_FAILED reason timeout, and rejects pending requests when the connection drops', async () => {
    const client = await RewardServerClient.connect(server.url, { token: 'tok', timeoutMs: 150 });
    try {
      const timedOut = await rejection(client.judge({ id: 't1', prompt: 'hang', mode: 'pointwise', videos: [{ uri: fixture.uri('dark.mp4') }] }));
      expect(timedOut.code).toBe('JUDGE_FAILED');
      expect(timedOut.details.reason).toBe('timeout');
      expect(client.pendingCount).toBe(0);

      const pending = client.judge({ id: 't2', prompt: 'hang', mode: 'pointwise', videos: [{ uri: fixture.uri('dark.mp4') }] }, { timeoutMs: 5_000 });
      await within(judge.whenStarted('t2'), 'the judgment to start');
      const closing = client.close();
      const dropped = await rejection(pending);
      expect(dropped.code).toBe('JUDGE_FAILED');
      expect(dropped.details.reason).toBe('disconnected');
      await closing;
      // The server aborted both hung judgments when the client left.
      await within(judge.whenAborted('t2'), 'the abort');
      await within(judge.whenAborted('t1'), 'the abort');
      expect((await rejection(client.ping())).details.reason).toBe('disconnected');
    } finally {
      await client.close();
    }
  });
});
