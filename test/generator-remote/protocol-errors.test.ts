/**
 * The worker's side of the protocol, spoken by a raw peer: video framing (each header immediately followed by its
 * binary), answers by id, and every malformed or refused message answered with a stable code while the connection
 * stays open (a protocol mismatch closes it with 1002).
 */
import { GENERATOR_PROTOCOL_VERSION } from '../../src/protocol/generator-messages.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratorWorkerServer } from '../../src/generator/remote/index.js';
import { Peer, startWorker } from './helpers.js';
import { SCRIPTED_SIZE, ScriptedGenerator } from './scripted-generator.js';

let generator: ScriptedGenerator;
let worker: GeneratorWorkerServer;

beforeAll(async () => {
  generator = new ScriptedGenerator();
  worker = await startWorker({ generator, maxQueuedPerConnection: 3 });
});

afterAll(async () => {
  await generator.close();
  await worker.close();
});

function rollout(id: string, prompts: string[] = ['a prompt'], groupSize = 2): Record<string, unknown> {
  return { type: 'rollout', id, prompts, groupSize, seed: 3 };
}

describe('framing of a rollout', () => {
  it('sends hello, then per video a header immediately followed by its binary, then rollout_result', async () => {
    const ws = await Peer.open(worker.url);
    ws.send({ type: 'hello', protocol: GENERATOR_PROTOCOL_VERSION, client: 'raw-test' });
    ws.send(rollout('r1', ['x', 'y'], 2));
    const events = [];
    for (;;) {
      const event = await ws.next();
      events.push(event);
      if (event.type === 'rollout_result' || event.type === 'error') break;
    }
    expect(events.map((e) => e.type)).toEqual(['video', 'binary', 'video', 'binary', 'video', 'binary', 'video', 'binary', 'rollout_result']);
    const bytes = SCRIPTED_SIZE.width * SCRIPTED_SIZE.height * 3 * SCRIPTED_SIZE.frameCount;
    events.forEach((e, i) => {
      if (e.type === 'video') expect(e).toMatchObject({ id: 'r1', rolloutId: 's1', index: i / 2, ...SCRIPTED_SIZE, pixelFormat: 'rgb24' });
      if (e.type === 'binary') expect(e.data.length).toBe(bytes);
    });
    const result = events.at(-1);
    expect(result).toMatchObject({ type: 'rollout_result', id: 'r1', rolloutId: 's1', timing: { sampleMs: 1, renderMs: 2, encodeMs: 0 } });
    if (result?.type !== 'rollout_result') throw new Error('no result');
    expect(result.videos.map((v) => v.id)).toEqual(['p0-m0', 'p0-m1', 'p1-m0', 'p1-m1']);
    expect(result.videos[3]?.latent).toEqual([3, 1, 1, Math.fround(0.1)]);

    // update: non-finite statistics travel as null.
    ws.send({ type: 'update', id: 'u1', rollouts: [{ rolloutId: 's1', advantages: [1, null, -1, 0.5] }] });
    expect(await ws.nextFor('u1')).toMatchObject({ type: 'update_result', stats: { videos: 3, policyLoss: null, gradNorm: 0.5 } });
    ws.send({ type: 'discard', id: 'd1', rolloutIds: ['s1', 'other'] });
    expect(await ws.nextFor('d1')).toEqual({ type: 'discarded', id: 'd1', rolloutIds: [] });
    ws.send({ type: 'status', id: 'st' });
    expect(await ws.nextFor('st')).toMatchObject({ type: 'status', generator: 'scripted', trainable: true, state: 'running', connections: 1, updates: 1 });
    expect(ws.invalid).toEqual([]);
    await ws.close();
  });
});

describe('malformed and refused messages (the connection stays open)', () => {
  it('invalid JSON → BAD_MESSAGE, non-object → INVALID_REQUEST, unknown type → UNKNOWN_TYPE, a binary → BAD_MESSAGE', async () => {
    const ws = await Peer.open(worker.url);
    ws.send('{"type": "rollout", ');
    expect(await ws.nextError(null)).toMatchObject({ code: 'BAD_MESSAGE' });
    ws.send('[1, 2]');
    expect((await ws.nextError(null)).code).toBe('INVALID_REQUEST');
    ws.send({ type: 'frobnicate', id: 'f1' });
    expect(await ws.nextError('f1')).toMatchObject({ code: 'UNKNOWN_TYPE' });
    ws.send({ id: 'no-type' });
    expect((await ws.nextError('no-type')).message).toContain('type');
    ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await ws.nextError(null)).code).toBe('BAD_MESSAGE');
    await ws.roundTrip();
    await ws.close();
  });

  it('schema violations → INVALID_REQUEST naming the field', async () => {
    const ws = await Peer.open(worker.url);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...rollout('v1'), groupSize: 0 }, 'groupSize'],
      [{ ...rollout('v2'), prompts: [] }, 'prompts'],
      [{ ...rollout('v3'), sampler: { mode: 'euler' } }, 'sampler.mode'],
      [{ ...rollout('v4'), extra: 1 }, 'extra: unknown field'],
      [{ ...rollout('v5'), seed: 1.5 }, 'seed'],
      [rollout('v6', ['x'], 1), ''],
      [{ type: 'update', id: 'v7', rollouts: [{ rolloutId: 's1', advantages: ['high'] }] }, 'rollouts.0.advantages.0'],
      [{ type: 'update', id: 'v8', rollouts: [] }, 'rollouts'],
      [{ type: 'discard', id: 'v9' }, 'rolloutIds'],
    ];
    for (const [message, field] of cases) {
      const id = String(message.id);
      ws.send(message);
      const answer = await ws.nextFor(id);
      if (field === '') {
        // A valid request among them: served normally.
        expect(answer.type).toBe('video');
        continue;
      }
      expect(answer, id).toMatchObject({ type: 'error', code: 'INVALID_REQUEST' });
      if (answer.type === 'error') expect(answer.message, id).toContain(field);
    }
    // Drain the valid rollout's messages, then prove the connection is still served.
    await ws.next((m) => m.type === 'rollout_result' && m.id === 'v6');
    await ws.roundTrip();
    await ws.close();
  });

  it('a generator failure is answered with its code (plain errors → GENERATOR_FAILED); updates of foreign rollouts are INVALID_ARGUMENT', async () => {
    const ws = await Peer.open(worker.url);
    ws.send(rollout('e1', ['fail']));
    expect(await ws.nextError('e1')).toMatchObject({ code: 'GENERATOR_FAILED' });
    ws.send(rollout('e2', ['fail:CHECKPOINT_INVALID']));
    expect(await ws.nextError('e2')).toMatchObject({ code: 'CHECKPOINT_INVALID', message: 'scripted failure CHECKPOINT_INVALID' });
    // A rollout made on another connection is not this connection's to update.
    const other = await Peer.open(worker.url);
    other.send(rollout('o1'));
    const result = await other.next((m) => m.type === 'rollout_result');
    if (result.type !== 'rollout_result') throw new Error('no result');
    ws.send({ type: 'update', id: 'e3', rollouts: [{ rolloutId: result.rolloutId, advantages: [1, 1] }] });
    expect(await ws.nextError('e3')).toMatchObject({ code: 'INVALID_ARGUMENT' });
    await ws.roundTrip();
    await other.close();
    await ws.close();
  });

  it('a duplicate pending id → INVALID_REQUEST; over maxQueuedPerConnection → OVERLOADED; ping and status answer while the generator is busy', async () => {
    const ws = await Peer.open(worker.url);
    ws.send(rollout('q1', ['gate:q1']));
    await generator.whenStarted('q1');
    ws.send(rollout('q1', ['again']));
    expect(await ws.nextError('q1')).toMatchObject({ code: 'INVALID_REQUEST' });
    ws.send(rollout('q2'));
    ws.send(rollout('q3'));
    ws.send(rollout('q4'));
    expect(await ws.nextError('q4')).toMatchObject({ code: 'OVERLOADED' });
    await ws.roundTrip();
    ws.send({ type: 'status', id: 'busy' });
    expect(await ws.nextFor('busy')).toMatchObject({ type: 'status', queued: 3 });
    generator.release('q1');
    for (const id of ['q1', 'q2', 'q3']) expect(await ws.next((m) => m.type === 'rollout_result' && m.id === id)).toBeDefined();
    await ws.close();
  });

  it('a client hello with another protocol version → PROTOCOL_MISMATCH and close 1002', async () => {
    const ws = await Peer.open(worker.url);
    ws.send({ type: 'hello', protocol: GENERATOR_PROTOCOL_VERSION + 1 });
    expect(await ws.nextError(null)).toMatchObject({ code: 'PROTOCOL_MISMATCH' });
    expect((await ws.whenClosed()).code).toBe(1002);
  });
});
