/** ThreadClient / serveThread: calls, codes across the thread boundary, moved buffers, start failures, a dying thread. */
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadClient } from '../../src/common/thread-rpc.js';
import { isVrGrpoError } from '../../src/errors/index.js';

const ENTRY = new URL('./fixtures/test-thread.ts', import.meta.url);
const OPTIONS = { failureCode: 'GENERATOR_FAILED', name: 'test-thread' } as const;
const clients: ThreadClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.terminate();
});

async function start(failStart = false): Promise<ThreadClient> {
  const client = await ThreadClient.start(ENTRY, { failStart }, OPTIONS);
  clients.push(client);
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('ThreadClient', () => {
  it('calls a method in the thread and gets its answer', async () => {
    const client = await start();
    expect(await client.call('echo', [1, 'two', { three: [3] }])).toEqual([1, 'two', { three: [3] }]);
  });

  it('keeps catalogue codes and details; other errors become the failure code', async () => {
    const client = await start();
    const coded = await rejection(client.call('coded'));
    expect(isVrGrpoError(coded, 'UPDATE_REJECTED')).toBe(true);
    expect(isVrGrpoError(coded) && coded.details).toEqual({ why: 'test' });
    const plain = await rejection(client.call('plain'));
    expect(isVrGrpoError(plain, 'GENERATOR_FAILED')).toBe(true);
    expect(String(plain)).toContain('not a catalogue error');
    expect(isVrGrpoError(await rejection(client.call('nope')), 'NOT_SUPPORTED')).toBe(true);
  });

  it('moves buffers listed for transfer', async () => {
    const client = await start();
    const bytes = (await client.call('buffer', [1 << 20])) as Uint8Array;
    expect(bytes.length).toBe(1 << 20);
    expect(bytes[12345]).toBe(7);
    const sent = new Uint8Array(1024);
    await client.call('echo', [sent], [sent.buffer]);
    expect(sent.byteLength, 'a moved buffer is detached on the sending side').toBe(0);
  });

  it('rejects start with the code of a failed start', async () => {
    const error = await rejection(ThreadClient.start(ENTRY, { failStart: true }, OPTIONS));
    expect(isVrGrpoError(error, 'CHECKPOINT_INVALID')).toBe(true);
  });

  it('keeps the caller responsive while the thread is busy', async () => {
    const client = await start();
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    try {
      expect(await client.call('busy', [500])).toBe('done');
    } finally {
      clearInterval(timer);
    }
    // The thread held its own loop for 500 ms; the caller's timer kept firing (a bound, not a latency figure).
    expect(ticks).toBeGreaterThan(10);
  });

  it('fails pending and later calls with the failure code when the thread dies', async () => {
    const client = await start();
    const pending = client.call('busy', [300]);
    const death = await rejection(client.call('die'));
    expect(isVrGrpoError(death, 'GENERATOR_FAILED')).toBe(true);
    // The busy call was answered before the exit, or rejected with the rest: never left hanging.
    const outcome = await pending.then(
      (value) => value,
      (error: unknown) => error,
    );
    expect(outcome === 'done' || isVrGrpoError(outcome, 'GENERATOR_FAILED')).toBe(true);
    expect(isVrGrpoError(await rejection(client.call('echo', [1])), 'GENERATOR_FAILED')).toBe(true);
  });
});
