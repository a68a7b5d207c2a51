/**
 * The checkpoint manager with real ONNX sessions (rm-v1 → rm-v2): rejected loads of every kind leave the current
 * version serving and are counted; in-flight judgments finish on the version they started with; a retired version is
 * closed only after its judgments drained; rollback; one swap at a time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Judgment } from '../../src/judge/judge-service.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import { embeddedServiceFactory } from '../../src/reward-server/index.js';
import { CheckpointRoot, RM_V2, perceptionLikeModel, readManifest } from './fixtures.js';
import { GatedFrameSource, ServiceLog, deferred, embeddedManager, judgeVersion, rejectionCode, within, worldPair } from './helpers.js';

let root: CheckpointRoot;

beforeAll(() => {
  root = new CheckpointRoot();
});

afterAll(() => {
  root.remove();
});

describe('checkpoint manager: rejected loads change nothing', () => {
  it('refuses corrupt checkpoints, wrong signatures and a failing canary; counts them; keeps serving rm-v1; closes what it loaded', async () => {
    const services = new ServiceLog();
    const { manager, events } = await embeddedManager({ factory: services.wrap(embeddedServiceFactory()) });
    try {
      const cases: { name: string; dir: string; code: string; says: RegExp }[] = [
        // Garbage bytes whose size and sha256 the manifest records: only loading them shows they are no ONNX model.
        {
          name: 'garbage model',
          dir: root.write('garbage', { version: 'rm-garbage', model: new Uint8Array(4096).fill(7) }),
          code: 'MODEL_INVALID',
          says: /model file is corrupt/,
        },
        // A truncated model: its size and sha256 no longer match the manifest.
        {
          name: 'truncated model',
          dir: root.write('truncated', { version: 'rm-trunc', model: perceptionLikeModel().slice(0, 1000), recordModel: false }),
          code: 'MODEL_INVALID',
          says: /does not match its manifest/,
        },
        { name: 'missing folder', dir: join(root.path, 'nothing-here'), code: 'CHECKPOINT_NOT_FOUND', says: /no perception model folder/ },
        // The model's input is [N, 10]; its manifest (copied from rm-v1) declares [N, 2310].
        {
          name: 'wrong model signature',
          dir: root.write('narrow', { version: 'rm-narrow', model: perceptionLikeModel({ inputSize: 10 }) }),
          code: 'MODEL_INVALID',
          says: /signature is not the one its manifest declares: input crop has dims \[-1,10\]/,
        },
        // The model is rm-v1's, but the manifest declares an output the model does not have.
        {
          name: 'manifest declares another signature',
          dir: root.write('renamed-output', {
            version: 'rm-renamed',
            manifest: (m) => ({ ...m, signature: { inputs: [{ name: 'crop', dims: [-1, 2310] }], outputs: [{ name: 'colour_scores', dims: [-1, 9] }] } }),
          }),
          code: 'MODEL_INVALID',
          says: /no output colour_scores/,
        },
        // Loads and has the right signature, but its outputs overflow: the judge cannot produce a parseable verdict.
        {
          name: 'canary failure',
          dir: root.write('overflow', { version: 'rm-overflow', model: perceptionLikeModel({ weight: 3e38 }) }),
          code: 'CANARY_FAILED',
          says: /canary canary-\w+-\d on rm-overflow/,
        },
        {
          name: 'version already serving',
          dir: root.write('same-label', { version: 'rm-v1' }),
          code: 'CHECKPOINT_REJECTED',
          says: /version rm-v1 is already serving/,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const { code, message } = await rejectionCode(manager.load({ kind: 'path', path: c.dir }), c.name);
        expect(code, c.name).toBe(c.code);
        expect(message, c.name).toMatch(c.says);
        expect(manager.rejections, c.name).toBe(i + 1);
        expect(manager.status().lastRejection, c.name).toMatchObject({ code: c.code, source: c.dir, origin: 'admin' });
        expect(manager.rmVersion(), c.name).toBe('rm-v1');
      }
      // Manifest JSON cut in the middle.
      const cut = root.write('cut-manifest', { version: 'rm-cut' });
      writeFileSync(join(cut, 'manifest.json'), JSON.stringify(readManifest(cut)).slice(0, 200));
      expect((await rejectionCode(manager.load({ kind: 'path', path: cut }), 'cut manifest')).code).toBe('MODEL_INVALID');

      expect(manager.rejections).toBe(cases.length + 1);
      expect(events.filter((e) => e.type === 'rejected').map((e) => (e.type === 'rejected' ? e.code : ''))).toEqual([
        ...cases.map((c) => c.code),
        'MODEL_INVALID',
      ]);
      expect(events.some((e) => e.type === 'swapped')).toBe(false);
      // Services that got loaded (canary failure, duplicate label) were closed; rm-v1 still serves and judges.
      expect(services.closed('rm-overflow')).toEqual([true]);
      expect(services.closed('rm-v1')).toEqual([false, true]);
      expect(await within(judgeVersion(manager), 'a judgment on rm-v1')).toBe('rm-v1');
      expect(manager.status()).toMatchObject({
        state: 'serving',
        current: { rmVersion: 'rm-v1', inFlight: 0 },
        previous: null,
        swaps: 0,
        rejections: cases.length + 1,
      });
    } finally {
      await manager.close();
    }
  });

  it('an agreement floor rejects a version that disagrees with the current one; null lifts it for one load', async () => {
    const services = new ServiceLog();
    // rm-v2 wrapped so it prefers the other video: a real judge that disagrees on every pair.
    const flip = (answer: Judgment['answer']): Judgment['answer'] =>
      answer === null ? null : { ...answer, OA: answer.OA === 1 ? 2 : answer.OA === 2 ? 1 : 0 };
    const { manager } = await embeddedManager({
      agreementFloor: 0.75,
      factory: services.wrap(embeddedServiceFactory(), (s) =>
        s.rmVersion() === 'rm-v2'
          ? {
              backendName: s.backendName,
              rmVersion: () => s.rmVersion(),
              judge: async (r, h) => {
                const j = await s.judge(r, h);
                return { ...j, answer: flip(j.answer) };
              },
              close: () => s.close(),
            }
          : s,
      ),
    });
    try {
      const refused = await rejectionCode(manager.load({ kind: 'path', path: RM_V2 }), 'a disagreeing version');
      expect(refused.code).toBe('CHECKPOINT_REJECTED');
      expect(refused.message).toMatch(/agreement with rm-v1 on the canary 0\.000 is below the floor 0\.75/);
      expect(manager.rmVersion()).toBe('rm-v1');
      const swapped = await within(manager.load({ kind: 'path', path: RM_V2 }, { agreementFloor: null }), 'a load without floor');
      expect(swapped).toMatchObject({
        action: 'load',
        rmVersion: 'rm-v2',
        previousVersion: 'rm-v1',
        canary: { judgments: 4, agreement: 0, agreementFloor: null, goldAccuracy: 0 },
      });
      expect(manager.rejections).toBe(1);
    } finally {
      await manager.close();
    }
  });
});

describe('checkpoint manager: swapping', () => {
  it('judgments running during a swap finish on rm-v1, new ones get rm-v2; a retired version closes only after its judgments drained', async () => {
    const services = new ServiceLog();
    const { manager, events } = await embeddedManager({ factory: services.wrap(embeddedServiceFactory()) });
    try {
      const { prompt, videos } = worldPair();
      const gate = deferred();
      const held = videos.map((v, i) => new GatedFrameSource(v, gate.promise, `held-${i}`));
      const running = manager.judge({ id: 'held', prompt, mode: 'pairwise', videos: held, options: {} }, {});
      await within(Promise.race(held.map((s) => s.started.promise)), 'the held judgment to start');
      expect(manager.status().current).toMatchObject({ rmVersion: 'rm-v1', inFlight: 1 });

      const swap = await within(manager.load({ kind: 'path', path: RM_V2 }), 'rm-v1 → rm-v2');
      expect(swap).toMatchObject({
        action: 'load',
        rmVersion: 'rm-v2',
        previousVersion: 'rm-v1',
        canary: { judgments: 4, goldAccuracy: 1, agreement: 1, agreementFloor: null },
      });
      expect(manager.rmVersion()).toBe('rm-v2');
      expect(await within(judgeVersion(manager, 'after-swap'), 'a judgment after the swap')).toBe('rm-v2');
      expect(manager.status()).toMatchObject({ current: { rmVersion: 'rm-v2' }, previous: { rmVersion: 'rm-v1', inFlight: 1 }, swaps: 1 });

      // A third version retires rm-v1 while its judgment still runs: it must stay open until the judgment ends.
      const v3 = root.write('rm-v3', { from: RM_V2, version: 'rm-v3' });
      await within(manager.load({ kind: 'path', path: v3 }), 'rm-v2 → rm-v3');
      expect(manager.status()).toMatchObject({
        current: { rmVersion: 'rm-v3' },
        previous: { rmVersion: 'rm-v2' },
        retiring: [{ rmVersion: 'rm-v1', inFlight: 1 }],
      });
      expect(services.closed('rm-v1')).toEqual([false]);

      const closed = new Promise<void>((resolve) => {
        const stop = manager.subscribe((e) => {
          if (e.type === 'version_closed') {
            stop();
            resolve();
          }
        });
      });
      gate.resolve();
      const verdict = await within(running, 'the held judgment');
      expect(verdict.rmVersion).toBe('rm-v1');
      await within(closed, 'rm-v1 to close');
      expect(manager.status().retiring).toEqual([]);
      expect(services.closed('rm-v1')).toEqual([true]);
      expect(events.filter((e) => e.type === 'version_closed')).toEqual([{ type: 'version_closed', rmVersion: 'rm-v1' }]);
      expect(events.filter((e) => e.type === 'swapped').map((e) => (e.type === 'swapped' ? `${e.previousVersion}→${e.rmVersion}` : ''))).toEqual([
        'rm-v1→rm-v2',
        'rm-v2→rm-v3',
      ]);
    } finally {
      await manager.close();
    }
    expect(services.services.every((s) => s.closed)).toBe(true);
  });

  it('rolls back to the previous version (and only once); one load or rollback at a time', async () => {
    const { manager, events } = await embeddedManager();
    try {
      expect((await rejectionCode(manager.rollback(), 'rollback with nothing before')).code).toBe('CHECKPOINT_NOT_FOUND');
      const loading = manager.load({ kind: 'path', path: RM_V2 });
      expect(manager.status()).toMatchObject({ state: 'loading', loading: { source: RM_V2, origin: 'admin' } });
      expect((await rejectionCode(manager.load({ kind: 'path', path: RM_V2 }), 'a second load')).code).toBe('SWAP_IN_PROGRESS');
      expect((await rejectionCode(manager.rollback(), 'a rollback during a load')).code).toBe('SWAP_IN_PROGRESS');
      await within(loading, 'the load');
      expect(manager.rejections).toBe(0);

      const back = await manager.rollback();
      expect(back).toMatchObject({ action: 'rollback', rmVersion: 'rm-v1', previousVersion: 'rm-v2', canary: null });
      expect(manager.rmVersion()).toBe('rm-v1');
      expect(await within(judgeVersion(manager), 'a judgment after the rollback')).toBe('rm-v1');
      expect(manager.status()).toMatchObject({ current: { rmVersion: 'rm-v1', origin: 'initial' }, previous: null, swaps: 1, rollbacks: 1 });
      expect((await rejectionCode(manager.rollback(), 'a second rollback')).code).toBe('CHECKPOINT_NOT_FOUND');
      expect(events.filter((e) => e.type === 'swapped').map((e) => (e.type === 'swapped' ? e.action : ''))).toEqual(['load', 'rollback']);
    } finally {
      await manager.close();
    }
    expect(manager.state).toBe('closed');
    const after = await rejectionCode(
      manager.judge(
        {
          id: 'late',
          prompt: 'p',
          mode: 'pointwise',
          videos: [new RawFrameSource(worldPair().videos[0] ?? { width: 2, height: 2, frameCount: 1, fps: 8, data: new Uint8Array(12) }, 'x')],
          options: {},
        },
        {},
      ),
    );
    expect(after.code).toBe('SHUTTING_DOWN');
  });
});
