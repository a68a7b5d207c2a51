/**
 * Worker and client lifecycles: bearer auth on the upgrade, /healthz, one generator call at a time across
 * connections, drain on close, and every way a pending call can end without an answer — worker closed abruptly,
 * worker process killed, client timeout, client close — rejecting with GENERATOR_UNAVAILABLE within a bound.
 */
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { RemoteGenerator, type GeneratorWorkerServer } from '../../src/generator/remote/index.js';
import { ChildProcess } from './child.js';
import { httpGet, Peer, rejectionOf, startWorker, upgradeStatus, within } from './helpers.js';
import { ScriptedGenerator } from './scripted-generator.js';

/** Cleanups registered by each test, run after it even when it failed (last registered first). */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scriptedWorker(
  options: { token?: string; drainTimeoutMs?: number; heartbeatIntervalMs?: number } = {},
): Promise<{ generator: ScriptedGenerator; worker: GeneratorWorkerServer }> {
  const generator = new ScriptedGenerator();
  const worker = await startWorker({ generator, ...options });
  cleanups.push(async () => {
    await generator.close(); // opens every gate, so the worker's queue can drain
    await worker.close();
  });
  return { generator, worker };
}

async function connect(url: string, options: Parameters<typeof RemoteGenerator.connect>[1] = {}): Promise<RemoteGenerator> {
  const remote = await RemoteGenerator.connect(url, { timeoutMs: 10_000, ...options });
  cleanups.push(() => remote.close());
  return remote;
}

function expectCode(error: unknown, code: string, reason?: string): void {
  expect(isVrGrpoError(error), String(error)).toBe(true);
  if (!isVrGrpoError(error)) return;
  expect(error.code, error.message).toBe(code);
  if (reason !== undefined) expect(error.details.reason).toBe(reason);
}

describe('authentication and health', () => {
  it('refuses an upgrade without or with a wrong bearer token with HTTP 401 (UNAUTHORIZED); the right token connects; /healthz needs none', async () => {
    const { worker } = await scriptedWorker({ token: 'gen-s3cret' });
    expect(await upgradeStatus(worker.url)).toBe(401);
    expect(await upgradeStatus(worker.url, { authorization: 'Bearer wrong' })).toBe(401);
    expect(await upgradeStatus(worker.url, { authorization: 'Basic gen-s3cret' })).toBe(401);
    expectCode(await rejectionOf(RemoteGenerator.connect(worker.url), 'connect without a token'), 'UNAUTHORIZED', 'upgrade refused');
    expectCode(await rejectionOf(RemoteGenerator.connect(worker.url, { token: 'nope' }), 'connect with a wrong token'), 'UNAUTHORIZED');
    const remote = await connect(worker.url, { token: 'gen-s3cret' });
    expect((await remote.generate({ prompts: ['ok'], groupSize: 1, seed: 1 })).videos).toHaveLength(1);
    expect(await httpGet(worker.port, '/healthz')).toEqual({
      status: 200,
      body: { status: 'ok', generator: 'scripted', trainable: true, queued: 0, connections: 1 },
    });
    expect((await httpGet(worker.port, '/metrics')).status).toBe(404);
    expect((await httpGet(worker.port, '/healthz', 'POST')).status).toBe(405);
  });

  it('connect to a port nobody listens on rejects with GENERATOR_UNAVAILABLE; a bad option with INVALID_ARGUMENT', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    expectCode(await rejectionOf(RemoteGenerator.connect(`ws://127.0.0.1:${port}`), 'connect to a closed port'), 'GENERATOR_UNAVAILABLE', 'connect failed');
    expectCode(await rejectionOf(RemoteGenerator.connect('ws://127.0.0.1:1', { timeoutMs: 0 }), 'a zero timeout'), 'INVALID_ARGUMENT');
    expectCode(await rejectionOf(RemoteGenerator.connect('not a url'), 'a bad URL'), 'INVALID_ARGUMENT');
  });
});

describe('serialization', () => {
  it('runs one generator call at a time, in arrival order, across connections', async () => {
    const { generator, worker } = await scriptedWorker();
    const [a, b] = [await connect(worker.url), await connect(worker.url)];
    const first = a.generate({ prompts: ['gate:first'], groupSize: 1, seed: 1 });
    await within(generator.whenStarted('first'), 'the first rollout to start');
    const second = b.generate({ prompts: ['gate:second'], groupSize: 1, seed: 2 });
    const third = a.generate({ prompts: ['third'], groupSize: 1, seed: 3 });
    // While the first holds the generator, the others wait; ping and status are still answered (a's ping comes back
    // after a's third rollout was admitted, b's status after b's second).
    await a.ping();
    expect((await b.status()).queued).toBe(3);
    expect(generator.calls).toEqual(['generate:gate:first']);
    generator.release('second');
    generator.release('first');
    const results = await within(Promise.all([first, second, third]), 'the three rollouts');
    expect(results.map((r) => r.videos[0]?.prompt)).toEqual(['gate:first', 'gate:second', 'third']);
    expect(generator.calls).toEqual(['generate:gate:first', 'generate:gate:second', 'generate:third']);
    expect(generator.maxActive).toBe(1);
  });

  it('discards the rollouts a client leaves behind when it disconnects', async () => {
    const { generator, worker } = await scriptedWorker();
    const remote = await connect(worker.url);
    const kept = await remote.generate({ prompts: ['x'], groupSize: 2, seed: 1 });
    const used = await remote.generate({ prompts: ['y'], groupSize: 1, seed: 2 });
    await remote.update([{ rolloutId: used.rolloutId, advantages: [1] }]);
    expect(generator.held.has(kept.rolloutId)).toBe(true);
    await remote.close();
    await within(generator.whenDiscarded(kept.rolloutId), 'the orphaned rollout to be discarded');
    expect(generator.held.size).toBe(0);
  });
});

describe('drain', () => {
  it('close() lets an accepted rollout finish, refuses new work with GENERATOR_UNAVAILABLE, then closes sockets with 1001; idempotent', async () => {
    const { generator, worker } = await scriptedWorker();
    const remote = await connect(worker.url);
    const raw = await Peer.open(worker.url);
    cleanups.push(() => raw.close());
    const running = remote.generate({ prompts: ['gate:drain'], groupSize: 2, seed: 1 });
    await within(generator.whenStarted('drain'), 'the rollout to start');
    const closing = worker.close();
    expect(worker.close()).toBe(closing);
    expect(worker.state).toBe('draining');
    expectCode(await rejectionOf(remote.generate({ prompts: ['late'], groupSize: 1, seed: 2 }), 'a rollout while draining'), 'GENERATOR_UNAVAILABLE');
    expect(await httpGet(worker.port, '/healthz')).toMatchObject({ status: 503, body: { status: 'draining', queued: 1 } });
    expect(await upgradeStatus(worker.url)).toBe(503);
    expectCode(await rejectionOf(RemoteGenerator.connect(worker.url), 'connect while draining'), 'GENERATOR_UNAVAILABLE', 'upgrade refused');
    generator.release('drain');
    expect((await within(running, 'the accepted rollout')).videos).toHaveLength(2);
    await within(closing, 'the worker to close');
    expect(worker.state).toBe('closed');
    expect((await raw.whenClosed()).code).toBe(1001);
    expect(remote.closeInfo?.code).toBe(1001);
    expectCode(await rejectionOf(remote.ping(), 'a call after the worker closed'), 'GENERATOR_UNAVAILABLE', 'disconnected');
  });
});

describe('pending calls never hang', () => {
  it('a worker closed abruptly (drain timeout over a stuck generator) rejects the pending rollout with GENERATOR_UNAVAILABLE', async () => {
    const { generator, worker } = await scriptedWorker({ drainTimeoutMs: 50 });
    const remote = await connect(worker.url, { timeoutMs: 20_000 });
    const stuck = remote.generate({ prompts: ['gate:stuck'], groupSize: 1, seed: 1 });
    await within(generator.whenStarted('stuck'), 'the rollout to start');
    const closing = worker.close();
    expectCode(await rejectionOf(stuck, 'the stuck rollout', 5_000), 'GENERATOR_UNAVAILABLE', 'disconnected');
    await within(closing, 'the worker to close');
  });

  it('the worker process dying mid-rollout rejects the pending call with GENERATOR_UNAVAILABLE well within the timeout', async () => {
    const child = ChildProcess.runTs(join(PROJECT_ROOT, 'test', 'generator-remote', 'fixtures', 'stalling-worker.ts'));
    cleanups.push(() => child.reap());
    const url = await child.line(/listening (ws:\/\/\S+)/, 20_000);
    const remote = await connect(url, { timeoutMs: 20_000 });
    const pending = remote.generate({ prompts: ['gate:stall'], groupSize: 2, seed: 1 });
    await child.line(/(started stall)/, 5_000);
    child.child.kill('SIGKILL');
    expectCode(await rejectionOf(pending, 'the rollout of a killed worker', 5_000), 'GENERATOR_UNAVAILABLE', 'disconnected');
    expect(remote.isOpen).toBe(false);
  });

  it('a call not answered within timeoutMs rejects with GENERATOR_UNAVAILABLE (timeout); its late result is discarded on the worker', async () => {
    const { generator, worker } = await scriptedWorker();
    const remote = await connect(worker.url, { timeoutMs: 200 });
    const slow = remote.generate({ prompts: ['gate:slow'], groupSize: 1, seed: 1 });
    expectCode(await rejectionOf(slow, 'the slow rollout'), 'GENERATOR_UNAVAILABLE', 'timeout');
    expect(remote.pendingCount).toBe(0);
    generator.release('slow');
    await within(generator.whenDiscarded('s1'), 'the late rollout to be discarded');
    // The connection still works.
    expect((await remote.generate({ prompts: ['after'], groupSize: 1, seed: 2 })).videos[0]?.prompt).toBe('after');
  });

  it('close() rejects pending calls with GENERATOR_UNAVAILABLE, is idempotent, and later calls reject at once', async () => {
    const { generator, worker } = await scriptedWorker();
    const remote = await connect(worker.url);
    const pending = remote.generate({ prompts: ['gate:closing'], groupSize: 1, seed: 1 });
    await within(generator.whenStarted('closing'), 'the rollout to start');
    const closing = remote.close();
    expect(remote.close()).toBe(closing);
    expectCode(await rejectionOf(pending, 'the pending rollout'), 'GENERATOR_UNAVAILABLE');
    await within(closing, 'the client to close');
    expectCode(await rejectionOf(remote.update([{ rolloutId: 's1', advantages: [1] }]), 'update after close'), 'GENERATOR_UNAVAILABLE');
    generator.release('closing');
  });

  it('the worker terminates a peer that stops answering heartbeats', async () => {
    const { worker } = await scriptedWorker({ heartbeatIntervalMs: 50 });
    const silent = await Peer.open(worker.url, { autoPong: false });
    cleanups.push(() => silent.close());
    expect((await silent.whenClosed()).code).toBe(1006);
  });
});
