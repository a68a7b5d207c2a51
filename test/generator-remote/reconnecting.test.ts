/**
 * ReconnectingGenerator against real loopback workers (scripted generator): recover() reconnects to a worker that
 * comes back on the same port with the policy the run trained, refuses one with another update count
 * (GENERATOR_STATE_LOST), gives up after reconnectTimeoutMs when none comes back (GENERATOR_UNAVAILABLE), and calls
 * on a lost connection reject with GENERATOR_UNAVAILABLE instead of hanging.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import type { TrainableGenerator } from '../../src/generator/generator.js';
import { ReconnectingGenerator, type GeneratorWorkerServer } from '../../src/generator/remote/index.js';
import { rejectionOf, startWorker, within } from './helpers.js';
import { ScriptedGenerator } from './scripted-generator.js';

/** A scripted generator that reports a policy update count (as a worker with a state folder does). */
class CountingGenerator extends ScriptedGenerator implements TrainableGenerator {
  constructor(private count: number) {
    super();
  }

  policyUpdates(): number {
    return this.count;
  }

  override async update(...args: Parameters<ScriptedGenerator['update']>): ReturnType<ScriptedGenerator['update']> {
    const stats = await super.update(...args);
    this.count += 1;
    return stats;
  }
}

const servers: GeneratorWorkerServer[] = [];
const clients: ReconnectingGenerator[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
});

async function worker(generator: TrainableGenerator, port = 0): Promise<GeneratorWorkerServer> {
  const s = await startWorker({ generator, port, drainTimeoutMs: 100 });
  servers.push(s);
  return s;
}

const codeOf = (e: unknown): string => (isVrGrpoError(e) ? e.code : String(e));

/** One rollout + update through the client (the update moves the worker's count by one). */
async function trainOnce(client: ReconnectingGenerator): Promise<void> {
  const r = await client.generate({ prompts: ['a cat'], groupSize: 2, seed: 1 });
  await client.update([{ rolloutId: r.rolloutId, advantages: r.videos.map(() => 1) }]);
}

describe('ReconnectingGenerator', () => {
  it('reconnects to a worker back on its port with the same policy; refuses one with another update count', async () => {
    const first = await worker(new CountingGenerator(5));
    const client = await ReconnectingGenerator.connect(first.url, { reconnectTimeoutMs: 10_000 });
    clients.push(client);
    await trainOnce(client);
    expect(client.policyUpdates()).toBe(6);
    const port = first.port;
    await first.close();
    expect(codeOf(await rejectionOf(client.generate({ prompts: ['a dog'], groupSize: 2, seed: 2 }), 'a rollout on a lost connection'))).toBe(
      'GENERATOR_UNAVAILABLE',
    );

    // Back with the policy after 6 updates (what the run applied): accepted, and the client works again.
    const back = await worker(new CountingGenerator(6), port);
    await within(client.recover(), 'recover');
    expect(client.reconnects).toBe(1);
    await trainOnce(client);
    expect(client.policyUpdates()).toBe(7);

    // Back with a fresh policy (0 updates): refused, nothing silently trains on it.
    await back.close();
    await worker(new CountingGenerator(0), port);
    const lost = await rejectionOf(client.recover(), 'recover onto a reset worker');
    expect(codeOf(lost)).toBe('GENERATOR_STATE_LOST');
    expect(String((lost as Error).message)).toMatch(/after 0 update\(s\); this run has applied 7/);
  });

  it('gives up after reconnectTimeoutMs when no worker comes back', async () => {
    const first = await worker(new CountingGenerator(0));
    const client = await ReconnectingGenerator.connect(first.url, { reconnectTimeoutMs: 800, connectTimeoutMs: 200 });
    clients.push(client);
    await first.close();
    const t0 = performance.now();
    const e = await rejectionOf(client.recover(), 'recover with no worker');
    expect(codeOf(e)).toBe('GENERATOR_UNAVAILABLE');
    expect(isVrGrpoError(e) ? e.details.reason : null).toBe('reconnect timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(700);
  });
});
