/**
 * Replays and row order (protocol v2, many workers): an update that replays a rollout from its request gives exactly
 * the policy an update by handle gives; the same rows in another `order` give another policy (why sharded workers
 * send every shard's place); the digest names the policy; save/restore of a persistent generator brings it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { EmbeddedGenerator, PersistentGenerator, trainerOptionsFrom } from '../../src/generator/index.js';
import { useBackend } from './helpers.js';
import { v1Config } from '../world-v1.js';

const config = v1Config();
const A = { prompts: ['a red circle moving left fast on a navy background'], groupSize: 3, seed: 11 };
const B = { prompts: ['a green cross staying still on a maroon background'], groupSize: 3, seed: 12 };
const advA = [1, -0.5, null];
const advB = [-1, 0.25, 0.75];
const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-replay-'));

async function fresh(): Promise<EmbeddedGenerator> {
  return EmbeddedGenerator.create({ config, trainer: trainerOptionsFrom(config) });
}

beforeAll(async () => {
  await useBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replays and update order', () => {
  it('a replayed rollout updates the policy exactly as the rollout by handle does', async () => {
    const byHandle = await fresh();
    const byReplay = await fresh();
    try {
      expect(await byReplay.policyDigest()).toBe(await byHandle.policyDigest());
      const a = await byHandle.generate(A);
      const b = await byHandle.generate(B);
      await byHandle.update([
        { rolloutId: a.rolloutId, advantages: advA, order: 0 },
        { rolloutId: b.rolloutId, advantages: advB, order: 1 },
      ]);
      // The other worker holds only B by handle and replays A, listed after it but placed first by `order`.
      const b2 = await byReplay.generate(B);
      await byReplay.update([{ rolloutId: b2.rolloutId, advantages: advB, order: 1 }], [{ ...A, advantages: advA, order: 0 }]);
      expect(await byReplay.policyDigest()).toBe(await byHandle.policyDigest());
      const untouched = await fresh();
      expect(await byHandle.policyDigest()).not.toBe(await untouched.policyDigest());
      await untouched.close();
    } finally {
      await byHandle.close();
      await byReplay.close();
    }
  });

  it('the same rows in another order give another policy (floating-point sums depend on it)', async () => {
    const first = await fresh();
    const second = await fresh();
    try {
      await first.update(
        [],
        [
          { ...A, advantages: advA, order: 0 },
          { ...B, advantages: advB, order: 1 },
        ],
      );
      await second.update(
        [],
        [
          { ...A, advantages: advA, order: 1 },
          { ...B, advantages: advB, order: 0 },
        ],
      );
      expect(await second.policyDigest()).not.toBe(await first.policyDigest());
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('a replay with the wrong number of advantages is refused before any work', async () => {
    const g = await fresh();
    try {
      const before = await g.policyDigest();
      const error = await g.update([], [{ ...A, advantages: [1] }]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isVrGrpoError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect(await g.policyDigest()).toBe(before);
    } finally {
      await g.close();
    }
  });

  it('a persistent generator saves a named state and restores it (digest and update count); bad refs are refused', async () => {
    const g = new PersistentGenerator(await fresh(), dir, 0);
    try {
      const saved = await g.saveState('step-000001');
      const r = await g.generate(A);
      await g.update([{ rolloutId: r.rolloutId, advantages: advA }]);
      expect(g.policyUpdates()).toBe(1);
      expect(await g.policyDigest()).not.toBe(saved.policyDigest);
      const restored = await g.restoreState(saved.ref);
      expect(restored).toEqual(saved);
      expect(g.policyUpdates()).toBe(0);
      expect(await g.policyDigest()).toBe(saved.policyDigest);
      const missing = await g.restoreState(join(dir, 'saved', 'nope')).catch((e: unknown) => e);
      expect(isVrGrpoError(missing, 'CHECKPOINT_NOT_FOUND')).toBe(true);
      const outside = await g.restoreState(join(dir, 'policy')).catch((e: unknown) => e);
      expect(isVrGrpoError(outside, 'FORBIDDEN_PATH')).toBe(true);
    } finally {
      await g.close();
    }
  });
});
