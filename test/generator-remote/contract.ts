/**
 * The `TrainableGenerator` contract suite, run against every implementation (in-process embedded and persistent,
 * remote and reconnecting over a worker): shape and order of videos, reproducibility by seed, argument errors, the
 * rollout-handle lifecycle (update releases, discard forgets, unknown handles are INVALID_ARGUMENT), an update that
 * moves the policy, and the optional `policyUpdates` / `recover` members where an implementation declares them.
 */
import { framesOf } from '../../src/media/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError, type ErrorCode } from '../../src/errors/index.js';
import type { TrainableGenerator } from '../../src/generator/generator.js';
import { rejectionOf } from './helpers.js';

export interface ContractSubject {
  readonly generator: TrainableGenerator;
  /** Expected frame size of every video. */
  readonly size: { readonly width: number; readonly height: number; readonly frameCount: number; readonly fps: number };
  readonly cleanup: () => Promise<void>;
}

/** The optional members of `TrainableGenerator` an implementation provides; the suite checks the declaration too. */
export interface GeneratorCapabilities {
  /** `policyUpdates()`: counts policy updates (a worker with a state folder, a reconnecting client). Default false. */
  readonly policyUpdates?: boolean;
  /** `recover()`: can get serving again after GENERATOR_UNAVAILABLE (a reconnecting client). Default false. */
  readonly recover?: boolean;
}

const PROMPTS = ['a red circle moving left fast on a navy background', 'a green cross staying still on a maroon background'];

async function expectCode(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  const error = await rejectionOf(promise, what, 60_000);
  expect(isVrGrpoError(error, code), `${what}: expected ${code}, got ${String(error)}`).toBe(true);
}

export function describeGeneratorContract(label: string, setup: () => Promise<ContractSubject>, capabilities: GeneratorCapabilities = {}): void {
  describe(`TrainableGenerator contract: ${label}`, () => {
    let subject: ContractSubject;
    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject.cleanup();
    });

    it('returns G videos per prompt, prompt-major, with stable ids and the expected frame size', async () => {
      const r = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 1 });
      expect(r.rolloutId.length).toBeGreaterThan(0);
      expect(r.videos.map((v) => [v.id, v.promptIndex, v.member, v.prompt])).toEqual([
        ['p0-m0', 0, 0, PROMPTS[0]],
        ['p0-m1', 0, 1, PROMPTS[0]],
        ['p1-m0', 1, 0, PROMPTS[1]],
        ['p1-m1', 1, 1, PROMPTS[1]],
      ]);
      const { width, height, frameCount, fps } = subject.size;
      const again = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 1 });
      expect(again.rolloutId, 'every rollout gets its own handle').not.toBe(r.rolloutId);
      await subject.generator.discard([again.rolloutId]);
      for (const v of r.videos) {
        expect(v.video).toMatchObject({ width, height, frameCount, fps });
        expect(framesOf(v.video, 'the test').data.length).toBe(width * height * 3 * frameCount);
        expect(v.mp4Path).toBeNull();
      }
      await subject.generator.discard([r.rolloutId]);
    });

    it('is reproducible by seed and differs across seeds', async () => {
      const a = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 5 });
      const b = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 5 });
      const c = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 6 });
      expect(
        Buffer.from(a.videos[3] === undefined ? [] : framesOf(a.videos[3].video, 'the test').data).equals(
          Buffer.from(b.videos[3] === undefined ? [1] : framesOf(b.videos[3].video, 'the test').data),
        ),
      ).toBe(true);
      expect(Array.from(a.videos[0]?.latent ?? [])).toEqual(Array.from(b.videos[0]?.latent ?? [1]));
      expect(Array.from(a.videos[0]?.latent ?? [])).not.toEqual(Array.from(c.videos[0]?.latent ?? []));
      await subject.generator.discard([a.rolloutId, b.rolloutId, c.rolloutId]);
    });

    it('refuses requests outside the contract with INVALID_ARGUMENT', async () => {
      await expectCode(subject.generator.generate({ prompts: [], groupSize: 2, seed: 1 }), 'INVALID_ARGUMENT', 'no prompts');
      await expectCode(subject.generator.generate({ prompts: PROMPTS, groupSize: 0, seed: 1 }), 'INVALID_ARGUMENT', 'groupSize 0');
      await expectCode(subject.generator.generate({ prompts: PROMPTS, groupSize: 1.5, seed: 1 }), 'INVALID_ARGUMENT', 'groupSize 1.5');
      await expectCode(subject.generator.update([]), 'INVALID_ARGUMENT', 'an update without rollouts');
    });

    it('update: unknown handle and wrong advantage count are INVALID_ARGUMENT; a used handle is released', async () => {
      await expectCode(subject.generator.update([{ rolloutId: 'no-such-rollout', advantages: [1] }]), 'INVALID_ARGUMENT', 'unknown rollout');
      const r = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 9 });
      await expectCode(subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, -1] }]), 'INVALID_ARGUMENT', 'wrong advantage count');
      // The refused update left the rollout usable.
      const stats = await subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, null, -1, 0.5] }]);
      expect(stats.videos).toBe(3);
      expect(stats.onPolicyMaxRatioDeviation).toBeLessThan(1e-4);
      await expectCode(subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, null, -1, 0.5] }]), 'INVALID_ARGUMENT', 'a released rollout');
    });

    it('a successful update moves the policy: the same request samples other latents afterwards', async () => {
      const request = { prompts: PROMPTS, groupSize: 2, seed: 12 };
      const before = await subject.generator.generate(request);
      await subject.generator.update([{ rolloutId: before.rolloutId, advantages: [1.2, -0.8, 0.9, -1.1] }]);
      const after = await subject.generator.generate(request);
      expect(after.videos.map((v) => v.id)).toEqual(before.videos.map((v) => v.id));
      expect(after.videos.flatMap((v) => Array.from(v.latent ?? []))).not.toEqual(before.videos.flatMap((v) => Array.from(v.latent ?? [])));
      await subject.generator.discard([after.rolloutId]);
    });

    it(`${capabilities.policyUpdates === true ? 'provides' : 'does not provide'} policyUpdates(), as declared`, () => {
      expect(typeof subject.generator.policyUpdates).toBe(capabilities.policyUpdates === true ? 'function' : 'undefined');
    });

    it.runIf(capabilities.policyUpdates === true)('policyUpdates() counts each successful update once and no refused one', async () => {
      const count = (): number => {
        if (subject.generator.policyUpdates === undefined) throw new Error('policyUpdates() is missing');
        return subject.generator.policyUpdates();
      };
      const start = count();
      expect(Number.isInteger(start) && start >= 0).toBe(true);
      const r = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 13 });
      await expectCode(subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1] }]), 'INVALID_ARGUMENT', 'wrong advantage count');
      await expectCode(subject.generator.update([{ rolloutId: 'no-such-rollout', advantages: [1] }]), 'INVALID_ARGUMENT', 'unknown rollout');
      expect(count(), 'refused updates are not counted').toBe(start);
      await subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, -1, 0.5, -0.5] }]);
      expect(count()).toBe(start + 1);
      await subject.generator.discard([r.rolloutId]);
      expect(count(), 'discard is not an update').toBe(start + 1);
    });

    it(`${capabilities.recover === true ? 'provides' : 'does not provide'} recover(), as declared`, () => {
      expect(typeof subject.generator.recover).toBe(capabilities.recover === true ? 'function' : 'undefined');
    });

    it.runIf(capabilities.recover === true)('recover() on a healthy generator resolves and leaves it serving its rollouts', async () => {
      const r = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 14 });
      if (subject.generator.recover === undefined) throw new Error('recover() is missing');
      await subject.generator.recover();
      // A reconnect would have lost the rollout: a healthy recover keeps the connection, so the handle still works.
      const stats = await subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, -1, 1, -1] }]);
      expect(stats.videos).toBe(4);
    });

    it('discard forgets a handle (a later update is INVALID_ARGUMENT); unknown ids are ignored', async () => {
      const r = await subject.generator.generate({ prompts: PROMPTS, groupSize: 2, seed: 10 });
      await subject.generator.discard([r.rolloutId, 'never-existed']);
      await subject.generator.discard([]);
      await expectCode(subject.generator.update([{ rolloutId: r.rolloutId, advantages: [1, -1, 1, -1] }]), 'INVALID_ARGUMENT', 'a discarded rollout');
    });
  });
}
