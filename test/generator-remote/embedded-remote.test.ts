/**
 * A worker serving the embedded generator (shipped base checkpoint) against a local embedded generator with the same
 * config: byte-identical frames and equal latents; a Flow-GRPO update through the worker is on-policy and changes
 * later rollouts; unknown handles and MP4 requests are refused with INVALID_ARGUMENT.
 */
import { framesOf } from '../../src/media/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { EmbeddedGenerator } from '../../src/generator/embedded-generator.js';
import type { GenerateResult } from '../../src/generator/generator.js';
import { RemoteGenerator, type GeneratorWorkerServer } from '../../src/generator/remote/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { rejectionOf, startWorker, trainerOptions } from './helpers.js';
import { v1Config } from '../world-v1.js';

const config = v1Config();
const prompts = [
  'a red circle moving left fast on a navy background',
  'a green cross staying still and a white square moving up slowly on a maroon background',
];
let local: EmbeddedGenerator;
let served: EmbeddedGenerator;
let worker: GeneratorWorkerServer;
let remote: RemoteGenerator;

beforeAll(async () => {
  await chooseTensorBackend('auto');
  local = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
  served = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
  worker = await startWorker({ generator: served });
  remote = await RemoteGenerator.connect(worker.url, { timeoutMs: 60_000 });
});

afterAll(async () => {
  await remote.close();
  await worker.close();
  await served.close();
  await local.close();
});

function expectSameVideos(a: GenerateResult, b: GenerateResult): void {
  expect(a.videos.length).toBe(b.videos.length);
  a.videos.forEach((v, i) => {
    const w = b.videos[i];
    if (w === undefined) throw new Error(`video ${i} missing`);
    expect([v.id, v.prompt, v.promptIndex, v.member]).toEqual([w.id, w.prompt, w.promptIndex, w.member]);
    expect({ ...v.video, data: null }).toEqual({ ...w.video, data: null });
    expect(Buffer.from(framesOf(v.video, 'the test').data).equals(Buffer.from(framesOf(w.video, 'the test').data)), `frames of ${v.id}`).toBe(true);
    expect(Array.from(v.latent ?? [])).toEqual(Array.from(w.latent ?? [Number.NaN]));
  });
}

function latentsOf(r: GenerateResult): number[] {
  return r.videos.flatMap((v) => Array.from(v.latent ?? []));
}

describe('remote vs local embedded generator (same config, same base checkpoint)', () => {
  it('announces the served generator and gives byte-identical frames and equal latents for the same request', async () => {
    expect(remote.name).toBe('remote:embedded');
    expect(remote.trainable).toBe(true);
    const request = { prompts, groupSize: 3, seed: 11 };
    const [fromRemote, fromLocal] = [await remote.generate(request), await local.generate(request)];
    expect(fromRemote.trajectory).toBeNull();
    expect(fromLocal.trajectory).not.toBeNull();
    expectSameVideos(fromRemote, fromLocal);
    expect(fromRemote.videos.every((v) => v.mp4Path === null && v.latent instanceof Float32Array)).toBe(true);
    expect(fromRemote.timing.sampleMs).toBeGreaterThanOrEqual(0);
    // Sampler overrides and the reference model travel too.
    const ode = { prompts: [prompts[0] ?? ''], groupSize: 2, seed: 4, sampler: { mode: 'ode' as const, steps: 6 }, reference: true };
    expectSameVideos(await remote.generate(ode), await local.generate(ode));
    await remote.discard([fromRemote.rolloutId]);
    await local.discard([fromLocal.rolloutId]);
  });

  it('update through the worker is on-policy, counts the non-null advantages, and changes the next rollout of the same seed', async () => {
    const request = { prompts, groupSize: 4, seed: 21 };
    const before = await remote.generate(request);
    const advantages = [1.2, -0.8, null, 0.3, -1.1, 0.9, null, -0.5];
    const stats = await remote.update([{ rolloutId: before.rolloutId, advantages }]);
    expect(stats.videos).toBe(advantages.filter((a) => a !== null).length);
    expect(stats.rows).toBeGreaterThan(0);
    expect(stats.onPolicyMaxRatioDeviation).toBeLessThan(1e-4);
    expect(Number.isFinite(stats.policyLoss) && Number.isFinite(stats.gradNorm)).toBe(true);
    expect(stats.gradNorm).toBeGreaterThan(0);

    const after = await remote.generate(request);
    expect(latentsOf(after)).not.toEqual(latentsOf(before));
    expect(
      after.videos.some(
        (v, i) =>
          !Buffer.from(framesOf(v.video, 'the test').data).equals(
            Buffer.from(before.videos[i] === undefined ? [] : framesOf(before.videos[i].video, 'the test').data),
          ),
      ),
    ).toBe(true);
    // The local generator was not updated: it still reproduces the pre-update rollout.
    const still = await local.generate(request);
    expect(latentsOf(still)).toEqual(latentsOf(before));
    await remote.discard([after.rolloutId]);
    await local.discard([still.rolloutId]);
  });

  it('rejects an update of an unknown rollout id with INVALID_ARGUMENT from the worker', async () => {
    const error = await rejectionOf(remote.update([{ rolloutId: 'r-does-not-exist', advantages: [1, -1] }]), 'update of an unknown rollout');
    expect(isVrGrpoError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(String(error)).toContain('r-does-not-exist');
    expect(remote.isOpen).toBe(true);
  });

  it('refuses mp4Dir locally with INVALID_ARGUMENT (remote MP4 writing is not supported)', async () => {
    const error = await rejectionOf(remote.generate({ prompts, groupSize: 1, seed: 1, mp4Dir: '/tmp/never-written' }), 'a request with mp4Dir');
    expect(isVrGrpoError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(remote.pendingCount).toBe(0);
    expect((await remote.status()).rollouts).toBeGreaterThan(0);
  });
});
