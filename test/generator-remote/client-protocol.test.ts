/**
 * The client's side of the protocol against scripted fake workers (real ws servers on loopback that misbehave on
 * purpose): version mismatch, a silent worker, broken video framing, unknown error codes, non-finite statistics, and a
 * worker whose generator is not trainable.
 */
import { GENERATOR_PROTOCOL_VERSION } from '../../src/protocol/generator-messages.js';
import { framesOf } from '../../src/media/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { isVrGrpoError } from '../../src/errors/index.js';
import type { GenerateRequest, GenerateResult, Generator } from '../../src/generator/generator.js';
import { RemoteGenerator } from '../../src/generator/remote/index.js';
import { Peer, rejectionOf, startWorker, within } from './helpers.js';
import { ScriptedGenerator } from './scripted-generator.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

type Script = (ws: WebSocket, message: Record<string, unknown>) => void;

/** A fake worker: sends `hello` (unless null) on connect, then hands every parsed client message to `script`. */
async function fakeWorker(hello: Record<string, unknown> | null, script: Script = () => undefined): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await within(new Promise<void>((resolve) => wss.once('listening', () => resolve())), 'the fake worker to listen');
  wss.on('connection', (ws: WebSocket) => {
    if (hello !== null) ws.send(JSON.stringify(hello));
    ws.on('message', (data: RawData) => {
      script(ws, JSON.parse(rawText(data)) as Record<string, unknown>);
    });
  });
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('the fake worker has no TCP address');
  return `ws://127.0.0.1:${address.port}`;
}

const HELLO = { type: 'hello', protocol: GENERATOR_PROTOCOL_VERSION, generator: 'fake', trainable: true };
const HEADER = { type: 'video', rolloutId: 'f1', index: 0, width: 2, height: 2, frameCount: 1, fps: 8, pixelFormat: 'rgb24' };
const META = { id: 'p0-m0', prompt: 'x', promptIndex: 0, member: 0, latent: null };
const TIMING = { sampleMs: 0, renderMs: 0, encodeMs: 0 };

async function connect(url: string, options: Parameters<typeof RemoteGenerator.connect>[1] = {}): Promise<RemoteGenerator> {
  const remote = await RemoteGenerator.connect(url, { timeoutMs: 5_000, ...options });
  cleanups.push(() => remote.close());
  return remote;
}

function codeOf(error: unknown): string {
  return isVrGrpoError(error) ? error.code : `not a VrGrpoError: ${String(error)}`;
}

function reasonOf(error: unknown): unknown {
  return isVrGrpoError(error) ? error.details.reason : undefined;
}

const request: GenerateRequest = { prompts: ['x'], groupSize: 1, seed: 1 };

describe('handshake', () => {
  it('a worker speaking another protocol version → PROTOCOL_MISMATCH; a silent one → GENERATOR_UNAVAILABLE (timeout)', async () => {
    const other = await fakeWorker({ ...HELLO, protocol: GENERATOR_PROTOCOL_VERSION + 1 });
    expect(codeOf(await rejectionOf(RemoteGenerator.connect(other), 'connect to a worker of the next version'))).toBe('PROTOCOL_MISMATCH');
    const silent = await fakeWorker(null);
    const error = await rejectionOf(RemoteGenerator.connect(silent, { connectTimeoutMs: 200 }), 'connect to a silent worker');
    expect([codeOf(error), reasonOf(error)]).toEqual(['GENERATOR_UNAVAILABLE', 'timeout']);
  });
});

describe('a worker that breaks the protocol fails the affected call with GENERATOR_FAILED (reason protocol)', () => {
  it('a binary of the wrong size', async () => {
    const url = await fakeWorker(HELLO, (ws, m) => {
      ws.send(JSON.stringify({ ...HEADER, id: m.id }));
      ws.send(Buffer.alloc(5), { binary: true });
      ws.send(JSON.stringify({ type: 'rollout_result', id: m.id, rolloutId: 'f1', videos: [META], timing: TIMING }));
    });
    const remote = await connect(url);
    const error = await rejectionOf(remote.generate(request), 'a rollout with a short binary');
    expect([codeOf(error), reasonOf(error)]).toEqual(['GENERATOR_FAILED', 'protocol']);
    expect(String(error)).toContain('12 bytes');
  });

  it('a text message where the binary should be, and a result listing a video that never came', async () => {
    let calls = 0;
    const url = await fakeWorker(HELLO, (ws, m) => {
      calls += 1;
      if (calls === 1) ws.send(JSON.stringify({ ...HEADER, id: m.id }));
      ws.send(JSON.stringify({ type: 'rollout_result', id: m.id, rolloutId: 'f1', videos: [META], timing: TIMING }));
    });
    const remote = await connect(url);
    const first = await rejectionOf(remote.generate(request), 'a rollout whose binary is missing');
    expect([codeOf(first), reasonOf(first)]).toEqual(['GENERATOR_FAILED', 'protocol']);
    const second = await rejectionOf(remote.generate(request), 'a rollout whose result lists a missing video');
    expect([codeOf(second), reasonOf(second)]).toEqual(['GENERATOR_FAILED', 'protocol']);
    expect(String(second)).toContain('never arrived');
    expect(remote.isOpen).toBe(true);
  });

  it('an answer of the wrong kind', async () => {
    const url = await fakeWorker(HELLO, (ws, m) => ws.send(JSON.stringify({ type: 'discarded', id: m.id, rolloutIds: [] })));
    const remote = await connect(url);
    const error = await rejectionOf(remote.generate(request), 'a rollout answered with discarded');
    expect([codeOf(error), reasonOf(error)]).toEqual(['GENERATOR_FAILED', 'protocol']);
  });
});

describe('worker answers', () => {
  it('an error with a code outside the catalogue becomes GENERATOR_FAILED (original kept); null statistics become NaN', async () => {
    const url = await fakeWorker(HELLO, (ws, m) => {
      if (m.type === 'rollout') ws.send(JSON.stringify({ type: 'error', id: m.id, code: 'CUDA_OOM', message: 'out of memory' }));
      if (m.type === 'update') {
        const stats = {
          rows: 4,
          videos: 2,
          policyLoss: null,
          klLoss: 0,
          approxKl: 0,
          clipFracHigh: 0,
          clipFracLow: 0,
          ratioMean: 1,
          ratioStd: 0,
          onPolicyMaxRatioDeviation: 0,
          gradNorm: null,
        };
        ws.send(JSON.stringify({ type: 'update_result', id: m.id, stats }));
      }
    });
    const remote = await connect(url);
    const error = await rejectionOf(remote.generate(request), 'a rollout the worker fails');
    expect(codeOf(error)).toBe('GENERATOR_FAILED');
    expect(isVrGrpoError(error) ? error.details.workerCode : null).toBe('CUDA_OOM');
    const stats = await remote.update([{ rolloutId: 'f1', advantages: [1, Number.NaN] }]);
    expect(stats.videos).toBe(2);
    expect(Number.isNaN(stats.policyLoss) && Number.isNaN(stats.gradNorm)).toBe(true);
  });

  it('a video larger than the client accepts is refused by the worker (GENERATOR_FAILED, rollout discarded) instead of breaking the connection', async () => {
    const generator = new ScriptedGenerator();
    const worker = await startWorker({ generator });
    cleanups.push(() => worker.close());
    const remote = await connect(worker.url, { maxPayloadBytes: 16 * 1024 });
    const error = await rejectionOf(remote.generate({ prompts: ['big'], groupSize: 2, seed: 1 }), 'a rollout of 36 KiB videos');
    expect(codeOf(error)).toBe('GENERATOR_FAILED');
    expect(String(error)).toContain('maxPayloadBytes 16384');
    await within(generator.whenDiscarded('s1'), 'the refused rollout to be discarded');
    expect((await remote.generate(request)).videos).toHaveLength(1);
  });

  it('a worker serving a plain (non-trainable) Generator says so; update is refused', async () => {
    const plain: Generator = {
      name: 'plain',
      generate: (r: GenerateRequest): Promise<GenerateResult> =>
        Promise.resolve({
          rolloutId: 'p1',
          videos: [
            {
              id: 'p0-m0',
              prompt: r.prompts[0] ?? '',
              promptIndex: 0,
              member: 0,
              video: { width: 2, height: 2, frameCount: 1, fps: 8, data: new Uint8Array(12).fill(9) },
              latent: null,
              mp4Path: null,
            },
          ],
          trajectory: null,
          timing: { sampleMs: 0, renderMs: 0, encodeMs: 0 },
        }),
      close: () => Promise.resolve(),
    };
    const worker = await startWorker({ generator: plain });
    cleanups.push(() => worker.close());
    const remote = await connect(worker.url);
    expect([remote.name, remote.trainable]).toEqual(['remote:plain', false]);
    const result = await remote.generate(request);
    expect(result.videos[0]?.latent).toBeNull();
    expect(Array.from(result.videos[0] === undefined ? [] : framesOf(result.videos[0].video, 'the test').data)).toEqual(Array(12).fill(9));
    expect(codeOf(await rejectionOf(remote.update([{ rolloutId: 'p1', advantages: [1] }]), 'update on a plain generator'))).toBe('INVALID_ARGUMENT');
    await remote.discard(['p1']);
    // Asked directly, the worker refuses too.
    const raw = await Peer.open(worker.url);
    cleanups.push(() => raw.close());
    raw.send({ type: 'update', id: 'u', rollouts: [{ rolloutId: 'p1', advantages: [1] }] });
    expect(await raw.nextError('u')).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
