/**
 * The codes that replaced INVALID_ARGUMENT misuses and JUDGE_FAILED sub-reasons are raised where they belong: binding a
 * taken or foreign address, an illegal lifecycle call, a closed or unequipped object, a cancelled or answerless
 * judgment, a local reward server that does not start, a write that fails, a page that never gets ready.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { defaultConfig } from '../../src/config/index.js';
import { startLocalRewardServer } from '../../src/coordinator/local-reward-server.js';
import { pollPage } from '../../src/dashboard/browser.js';
import { MonitorServer } from '../../src/dashboard/index.js';
import { isVrGrpoError, listenError, type ErrorCode } from '../../src/errors/index.js';
import { EmbeddedGenerator } from '../../src/generator/index.js';
import { ChatCompletionsClient } from '../../src/judge/backends/vlm/chat-client.js';
import { pairwiseAnswer } from '../../src/judge/benchmarks/index.js';
import { cachedPerceivedPairs } from '../../src/judge-training/perceived-pairs.js';
import { RewardServerMetrics } from '../../src/metrics/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectCode(error: unknown, code: ErrorCode): void {
  expect(isVrGrpoError(error) ? error.code : error).toBe(code);
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vr-grpo-codes-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('listen failures', () => {
  it('binding a taken port gives ADDRESS_IN_USE with the errno in details.reason', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    try {
      const error = await rejection(MonitorServer.start({ host: '127.0.0.1', port }));
      expectCode(error, 'ADDRESS_IN_USE');
      expect(isVrGrpoError(error) && error.details).toMatchObject({ field: 'port', host: '127.0.0.1', port, reason: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('binding an address this machine does not have gives BIND_FAILED', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a host.
    const error = await rejection(MonitorServer.start({ host: '192.0.2.1', port: 0 }));
    expectCode(error, 'BIND_FAILED');
    expect(isVrGrpoError(error) && error.retryable).toBe(false);
  });

  it('maps only EADDRINUSE to ADDRESS_IN_USE', () => {
    const errno = (code: string): Error => Object.assign(new Error(code), { code });
    expectCode(listenError('test server', '127.0.0.1', 80, errno('EADDRINUSE')), 'ADDRESS_IN_USE');
    expectCode(listenError('test server', '127.0.0.1', 80, errno('EACCES')), 'BIND_FAILED');
    expectCode(listenError('test server', '127.0.0.1', 80, 'no errno at all'), 'BIND_FAILED');
    expect(listenError('test server', '127.0.0.1', 80, errno('EACCES')).message).toBe('test server cannot listen on 127.0.0.1:80: EACCES');
  });
});

describe('lifecycle and capability', () => {
  it('binding server metrics a second time is INVALID_STATE', () => {
    const metrics = new RewardServerMetrics();
    const view = { backend: () => 'test', rmVersion: () => 'rm-1', inFlight: () => 0, connections: () => 0 };
    metrics.bind(view);
    expectCode(
      thrown(() => metrics.bind(view)),
      'INVALID_STATE',
    );
  });

  it('an embedded generator without trainer options refuses update with NOT_SUPPORTED, and once closed refuses with CLOSED', async () => {
    await chooseTensorBackend('auto');
    const generator = await EmbeddedGenerator.create({ config: defaultConfig() });
    try {
      expectCode(await rejection(generator.update([{ rolloutId: 'r1', advantages: [1] }])), 'NOT_SUPPORTED');
    } finally {
      await generator.close();
    }
    expectCode(await rejection(generator.generate({ prompts: ['a red circle moving left'], groupSize: 2, seed: 1 })), 'CLOSED');
  });

  it('a closed VLM client refuses requests with CLOSED', async () => {
    const client = new ChatCompletionsClient({
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKey: null,
      timeoutMs: 1_000,
      maxAttempts: 1,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 1,
      concurrency: 1,
    });
    await client.close();
    expectCode(await rejection(client.complete({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0, max_tokens: 8 })), 'CLOSED');
  });
});

describe('runtime failures', () => {
  it('a pairwise verdict without an answer is NO_ANSWER (never a default)', () => {
    const error = thrown(() => pairwiseAnswer(null, 'pair-1'));
    expectCode(error, 'NO_ANSWER');
    expect(isVrGrpoError(error) && error.retryable).toBe(false);
  });

  it('a local reward server that does not report listening in time is REWARD_SERVER_START_FAILED', async () => {
    const error = await rejection(startLocalRewardServer({ configPath: null, artifactRoot: root, log: silentLogger(), startTimeoutMs: 1 }));
    expectCode(error, 'REWARD_SERVER_START_FAILED');
    expect(isVrGrpoError(error) && error.details.reason).toBe('timeout');
  });

  it('a perception cache that cannot be written is FILE_WRITE_FAILED naming the path', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    const error = await rejection(cachedPerceivedPairs(join(file, 'cache'), 'pairs', 'k1', () => Promise.resolve([])));
    expectCode(error, 'FILE_WRITE_FAILED');
    expect(isVrGrpoError(error) && error.details.path).toBe(join(file, 'cache', 'pairs-k1.bin'));
  });

  it('a page condition not met in time is BROWSER_TIMEOUT', async () => {
    // A stand-in page whose condition never holds; a zero timeout needs no waiting.
    const page = { evaluate: () => Promise.resolve(false) } as unknown as Page;
    const error = await rejection(pollPage(page, 'window.ready === true', 0));
    expectCode(error, 'BROWSER_TIMEOUT');
    expect(isVrGrpoError(error) && error.details).toMatchObject({ expression: 'window.ready === true', timeoutMs: 0 });
  });
});
