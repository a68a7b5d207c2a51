/**
 * Issue 19, finding 1: nobody who can connect to a generator worker can ruin its policy. Before: an `update` with
 * advantages [1e300, -1e300] was answered with `policyLoss: null`, every later rollout failed with GENERATOR_FAILED
 * "non-finite latent", and a restart on the same --state-dir restored the poisoned state; `serve-generator` served
 * any host without a token. Now: advantages are clipped to the bound at the edge, a non-finite update is refused with
 * UPDATE_REJECTED and the policy and optimizer kept, a non-finite or damaged state is refused with
 * GENERATOR_STATE_CORRUPT on restore, and a worker beyond loopback needs a token. Real workers on 127.0.0.1:0, real
 * tfjs, real `vr-grpo serve-generator` processes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import type { VrGrpoError } from '../../src/errors/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { EmbeddedGenerator } from '../../src/generator/embedded-generator.js';
import type { GenerateResult } from '../../src/generator/generator.js';
import { boundAdvantages, compileGeneratorWorkerOptions, GeneratorWorkerServer, RemoteGenerator } from '../../src/generator/remote/index.js';
import { PersistentGenerator, readWorkerState } from '../../src/generator/worker-state.js';
import { silentLogger } from '../../src/common/logger.js';
import { chooseTensorBackend, tf, type AdamState } from '../../src/tensor/index.js';
import { v1Config } from '../world-v1.js';
import { ChildProcess } from './child.js';
import { Peer, rejectionOf, startWorker, trainerOptions, within } from './helpers.js';

const config = v1Config();
const CLIP = config.training.advantage.clip;
const prompt = 'a red circle moving left fast on a navy background';
const POISON = [1e300, -1e300];
const TIMEOUT = { timeoutMs: 60_000 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vr-grpo-hardening-'));
  cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  return dir;
}

function loraOf(g: EmbeddedGenerator): Record<string, number[]> {
  return Object.fromEntries([...g.policy.parameters('lora')].map(([name, values]) => [name, Array.from(values)]));
}

function plainAdam(state: AdamState | null): unknown {
  if (state === null) return null;
  const plain = (r: Readonly<Record<string, Float32Array>>): Record<string, number[]> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
  return { step: state.step, m: plain(state.m), v: plain(state.v) };
}

function allFinite(values: Record<string, number[]>): boolean {
  return Object.values(values).every((v) => v.every(Number.isFinite));
}

function latentsOf(r: GenerateResult): number[] {
  return r.videos.flatMap((v) => Array.from(v.latent ?? [Number.NaN]));
}

async function trainable(): Promise<EmbeddedGenerator> {
  const g = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
  cleanups.push(() => g.close());
  return g;
}

async function serve(generator: EmbeddedGenerator | PersistentGenerator, advantageClip?: number): Promise<RemoteGenerator> {
  const worker = await startWorker({ generator, ...(advantageClip === undefined ? {} : { advantageClip }) });
  cleanups.push(() => worker.close());
  const remote = await RemoteGenerator.connect(worker.url, TIMEOUT);
  cleanups.push(() => remote.close());
  return remote;
}

beforeAll(async () => {
  await chooseTensorBackend('auto');
});

describe('generator worker: poisoned updates', () => {
  it('clips [1e300, -1e300] to ±training.advantage.clip at the edge: the policy moves exactly as with [clip, -clip], stays finite, and rollouts go on', async () => {
    const served = await trainable();
    const twin = await trainable();
    const remote = await serve(served);
    const request = { prompts: [prompt], groupSize: 2, seed: 3 };
    const viaWorker = await remote.generate(request);
    const local = await twin.generate(request);
    expect(latentsOf(viaWorker)).toEqual(latentsOf(local));

    const stats = await remote.update([{ rolloutId: viaWorker.rolloutId, advantages: POISON }]);
    const twinStats = await twin.update([{ rolloutId: local.rolloutId, advantages: [CLIP, -CLIP] }]);
    expect(stats.videos).toBe(2);
    for (const key of ['policyLoss', 'klLoss', 'gradNorm', 'ratioMean'] as const) {
      expect(Number.isFinite(stats[key]), key).toBe(true);
      expect(stats[key], key).toBeCloseTo(twinStats[key], 6);
    }
    const after = loraOf(served);
    expect(allFinite(after)).toBe(true);
    expect(after).toEqual(loraOf(twin));
    expect(plainAdam(served.optimizerState())).toEqual(plainAdam(twin.optimizerState()));

    // Later rollouts work and follow the (bounded) update.
    const next = { prompts: [prompt], groupSize: 2, seed: 4 };
    const later = await remote.generate(next);
    expect(latentsOf(later).every(Number.isFinite)).toBe(true);
    expect(latentsOf(later)).toEqual(latentsOf(await twin.generate(next)));
  });

  it('a bound that lets the poison through: the update is refused with UPDATE_REJECTED, policy and optimizer untouched, the rollout still usable', async () => {
    const served = await trainable();
    const pristine = await trainable();
    const remote = await serve(served, Number.MAX_VALUE);
    const request = { prompts: [prompt], groupSize: 2, seed: 5 };
    const first = await remote.generate(request);
    const lora = loraOf(served);
    const adam = plainAdam(served.optimizerState());

    const refused = await rejectionOf(remote.update([{ rolloutId: first.rolloutId, advantages: POISON }]), 'poisoned update', 60_000);
    expect(isVrGrpoError(refused, 'UPDATE_REJECTED'), String(refused)).toBe(true);
    expect((refused as VrGrpoError).retryable).toBe(false);
    expect(loraOf(served)).toEqual(lora);
    expect(plainAdam(served.optimizerState())).toEqual(adam);
    expect(loraOf(served)).toEqual(loraOf(pristine));

    // The worker still rolls out what an untouched policy rolls out, and the refused rollout can still be used.
    const again = await remote.generate(request);
    expect(latentsOf(again)).toEqual(latentsOf(first));
    const stats = await remote.update([{ rolloutId: first.rolloutId, advantages: [1, -1] }]);
    expect([stats.videos, Number.isFinite(stats.policyLoss)]).toEqual([2, true]);
    expect(allFinite(loraOf(served))).toBe(true);
    expect(loraOf(served)).not.toEqual(lora);
    await remote.discard([again.rolloutId]);
  });

  it('in-process too: the trainer refuses a non-finite update and keeps the rollout', async () => {
    const g = await trainable();
    const r = await g.generate({ prompts: [prompt], groupSize: 2, seed: 6 });
    const lora = loraOf(g);
    const adam = plainAdam(g.optimizerState());
    const tensors = tf.memory().numTensors;
    const refused = await rejectionOf(g.update([{ rolloutId: r.rolloutId, advantages: [3e38, -3e38] }]), 'update at the edge of float32', 60_000);
    expect(isVrGrpoError(refused, 'UPDATE_REJECTED'), String(refused)).toBe(true);
    expect((refused as VrGrpoError).details).toMatchObject({ epoch: 0 });
    expect([loraOf(g), plainAdam(g.optimizerState())]).toEqual([lora, adam]);
    expect(tf.memory().numTensors, 'tensors left behind by the refused update').toBe(tensors);
    await g.discard([r.rolloutId]);
  });

  it('refuses a non-finite advantage at the edge with INVALID_REQUEST naming its place (JSON 1e999, or a caller that bypasses JSON)', async () => {
    expect(() => boundAdvantages([{ rolloutId: 'r1', advantages: [0.5, null, Number.NaN] }], CLIP)).toThrow(/rollouts\.0\.advantages\.2/);
    expect(boundAdvantages([{ rolloutId: 'r1', advantages: [7, null, -1e300, 2] }], CLIP)).toEqual({
      rollouts: [{ rolloutId: 'r1', advantages: [CLIP, null, -CLIP, 2] }],
      clipped: 2,
    });
    const served = await trainable();
    const worker = await startWorker({ generator: served });
    cleanups.push(() => worker.close());
    const peer = await Peer.open(worker.url);
    cleanups.push(() => peer.close());
    peer.send('{"type":"update","id":"u1","rollouts":[{"rolloutId":"r1","advantages":[1e999,0]}]}');
    const answer = await peer.next();
    expect(answer).toMatchObject({ type: 'error', id: 'u1', code: 'INVALID_REQUEST' });
  });
});

describe('generator worker state on disk', () => {
  /** Rewrites the weights of a saved state with `poison` applied, keeping the manifest's size and sha256 consistent. */
  function poisonConsistently(policyDir: string, poison: (floats: Float32Array, tensor: { name: string; offset: number }) => void): void {
    const manifestFile = join(policyDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      weights: { file: string; bytes: number; sha256: string };
      tensors: { name: string; group: string; offset: number }[];
    };
    const bytes = readFileSync(join(policyDir, manifest.weights.file));
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const lora = manifest.tensors.find((t) => t.group === 'lora');
    if (lora === undefined) throw new Error('saved state has no lora tensor');
    poison(floats, lora);
    const out = Buffer.from(floats.buffer);
    writeFileSync(join(policyDir, manifest.weights.file), out);
    manifest.weights.bytes = out.length;
    manifest.weights.sha256 = createHash('sha256').update(out).digest('hex');
    writeFileSync(manifestFile, JSON.stringify(manifest));
  }

  async function savedState(): Promise<string> {
    const stateDir = tempDir();
    const inner = await trainable();
    const remote = await serve(new PersistentGenerator(inner, stateDir, 0));
    const r = await remote.generate({ prompts: [prompt], groupSize: 2, seed: 8 });
    await remote.update([{ rolloutId: r.rolloutId, advantages: POISON }]);
    const state = readWorkerState(stateDir);
    expect(state?.updates).toBe(1);
    expect([...(state?.lora.values() ?? [])].every((v) => v.every(Number.isFinite))).toBe(true);
    return stateDir;
  }

  it('saves only finite states and refuses a NaN, an Infinity or a damaged file on restore with GENERATOR_STATE_CORRUPT', async () => {
    const stateDir = await savedState();
    const code = (): string => {
      try {
        readWorkerState(stateDir);
        return 'restored';
      } catch (error) {
        return isVrGrpoError(error) ? error.code : String(error);
      }
    };
    const policyDir = join(stateDir, 'policy');
    const weights = join(policyDir, 'weights.bin');
    const good = readFileSync(weights);
    const goodManifest = readFileSync(join(policyDir, 'manifest.json'));
    poisonConsistently(policyDir, (f, t) => (f[t.offset] = Number.NaN));
    expect(code()).toBe('GENERATOR_STATE_CORRUPT');
    poisonConsistently(policyDir, (f, t) => (f[t.offset] = Number.POSITIVE_INFINITY));
    expect(code()).toBe('GENERATOR_STATE_CORRUPT');
    // A damaged file (size or sha256 no longer the manifest's) is corrupt too, not a generic checkpoint error.
    writeFileSync(weights, good);
    writeFileSync(join(policyDir, 'manifest.json'), goodManifest);
    expect(code()).toBe('restored');
    writeFileSync(weights, good.subarray(0, good.length - 4));
    expect(code()).toBe('GENERATOR_STATE_CORRUPT');
  });

  it('`serve-generator --state-dir` on a poisoned folder exits 1 with GENERATOR_STATE_CORRUPT instead of serving it', async () => {
    const stateDir = await savedState();
    poisonConsistently(join(stateDir, 'policy'), (f, t) => (f[t.offset + 1] = Number.NaN));
    const child = ChildProcess.spawn([join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-generator', '--port', '0', '--state-dir', stateDir], {
      VRGRPO_LOG_LEVEL: 'warn',
    });
    cleanups.push(() => child.reap());
    const exit = await within(child.exited, 'serve-generator to refuse the poisoned state', 60_000);
    expect(exit, child.stderr.slice(-2000)).toEqual({ code: 1, signal: null });
    expect(child.stderr).toContain('GENERATOR_STATE_CORRUPT');
  });

  it('after the poisoned update and a restart on the same --state-dir, the worker serves the bounded policy', async () => {
    const stateDir = tempDir();
    const token = 'hardening-token';
    const args = [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-generator', '--port', '0', '--state-dir', stateDir];
    const env = { VRGRPO_GENERATOR_TOKEN: token, VRGRPO_LOG_LEVEL: 'warn' };
    const request = { prompts: [prompt], groupSize: 2, seed: 9 };

    const first = ChildProcess.spawn(args, env);
    cleanups.push(() => first.reap());
    const remote = await RemoteGenerator.connect(await first.line(/^listening (ws:\/\/127\.0\.0\.1:\d+)$/m, 60_000), { token, ...TIMEOUT });
    cleanups.push(() => remote.close());
    const r = await remote.generate(request);
    const stats = await remote.update([{ rolloutId: r.rolloutId, advantages: POISON }]);
    expect(Number.isFinite(stats.policyLoss)).toBe(true);
    const before = latentsOf(await remote.generate(request));
    first.child.kill('SIGTERM');
    expect(await within(first.exited, 'first worker to exit', 20_000)).toEqual({ code: 0, signal: null });

    const second = ChildProcess.spawn(args, env);
    cleanups.push(() => second.reap());
    const again = await RemoteGenerator.connect(await second.line(/^listening (ws:\/\/127\.0\.0\.1:\d+)$/m, 60_000), { token, ...TIMEOUT });
    cleanups.push(() => again.close());
    expect((await again.status()).policyUpdates).toBe(1);
    const after = latentsOf(await again.generate(request));
    expect(after.every(Number.isFinite)).toBe(true);
    expect(after).toEqual(before);
  });
});

describe('generator worker authentication default', () => {
  it('refuses to listen beyond loopback without a token unless told so; loopback may stay open', () => {
    const generator = { name: 'noop', generate: () => Promise.reject(new Error('unused')), close: () => Promise.resolve() };
    const options = (host: string, extra: object = {}): unknown => {
      try {
        return compileGeneratorWorkerOptions({ generator, log: silentLogger(), host, ...extra }).host;
      } catch (error) {
        return isVrGrpoError(error) ? `${error.code}:${String(error.details.field)}` : String(error);
      }
    };
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'worker.example']) expect(options(host), host).toBe('INVALID_ARGUMENT:token');
    for (const host of ['127.0.0.1', '127.4.5.6', 'localhost', '::1']) expect(options(host), host).toBe(host);
    expect(options('0.0.0.0', { token: 's3cret' })).toBe('0.0.0.0');
    expect(options('0.0.0.0', { allowUnauthenticated: true })).toBe('0.0.0.0');
  });

  it('GeneratorWorkerServer.start rejects before binding; `serve-generator --host 0.0.0.0` without a token exits 1 before loading anything', async () => {
    const generator = await trainable();
    const refused = await rejectionOf(GeneratorWorkerServer.start({ generator, log: silentLogger(), host: '0.0.0.0', port: 0 }), 'unauthenticated 0.0.0.0');
    expect(isVrGrpoError(refused, 'INVALID_ARGUMENT'), String(refused)).toBe(true);

    const child = ChildProcess.spawn([join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-generator', '--host', '0.0.0.0', '--port', '0'], {
      VRGRPO_GENERATOR_TOKEN: '',
      VRGRPO_LOG_LEVEL: 'warn',
    });
    cleanups.push(() => child.reap());
    const exit = await within(child.exited, 'serve-generator to refuse 0.0.0.0 without a token', 30_000);
    expect(exit, child.stderr.slice(-2000)).toEqual({ code: 1, signal: null });
    expect(child.stderr).toMatch(/INVALID_ARGUMENT.*VRGRPO_GENERATOR_TOKEN/);
  });
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
