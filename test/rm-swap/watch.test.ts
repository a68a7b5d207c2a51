/**
 * Watch mode against a real folder and real ONNX sessions: checkpoints present at start are the baseline; a partially
 * written model file is ignored (not loaded, not counted) until it is complete; a folder renamed into place is loaded
 * once it is seen unchanged on two scans; a complete but corrupt checkpoint is rejected once and not retried; the
 * polling timer swaps on its own.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointEvent } from '../../src/reward-server/index.js';
import { CheckpointRoot, RM_V1, RM_V2, readManifest } from './fixtures.js';
import { embeddedManager, judgeVersion, within } from './helpers.js';

let root: CheckpointRoot;

beforeAll(() => {
  root = new CheckpointRoot('vr-grpo-rm-watch-');
});

afterAll(() => {
  root.remove();
});

describe('watch mode', () => {
  it('ignores the baseline and a partially written checkpoint until it is complete, then swaps; a corrupt one is rejected once', async () => {
    const dir = join(root.path, 'scan');
    mkdirSync(dir);
    root.write('already-there', { from: RM_V2, version: 'rm-old', parent: dir });
    const { manager, events } = await embeddedManager({ watch: { dir, intervalMs: 0 } });
    const watcher = manager.watcher;
    if (watcher === null) throw new Error('no watcher');
    try {
      expect(watcher.scans).toBe(1);
      expect((await watcher.scan()).swapped).toEqual([]);
      expect(manager.rmVersion()).toBe('rm-v1');

      // A checkpoint copied file by file: the manifest first, then the model in two halves, with scans in between.
      const model = readFileSync(join(RM_V2, 'model.onnx'));
      const target = join(dir, 'rm-v2-copy');
      mkdirSync(target);
      writeFileSync(join(target, 'manifest.json'), JSON.stringify({ ...readManifest(RM_V2), version: 'rm-v2-copy' }));
      expect((await watcher.scan()).pending).toEqual(['rm-v2-copy']);
      writeFileSync(join(target, 'model.onnx'), model.subarray(0, model.length >> 1));
      for (let i = 0; i < 3; i++) {
        const report = await watcher.scan();
        expect(report, `scan ${i} with half a model`).toEqual({ swapped: [], rejected: [], pending: ['rm-v2-copy'] });
      }
      expect(manager.status()).toMatchObject({ current: { rmVersion: 'rm-v1' }, rejections: 0, watch: { dir, pending: ['rm-v2-copy'] } });
      expect(events.filter((e) => e.type === 'load_started')).toEqual([]);

      appendFileSync(join(target, 'model.onnx'), model.subarray(model.length >> 1));
      // Complete now; loaded once it is seen unchanged on the next scan.
      expect((await watcher.scan()).swapped).toEqual([]);
      expect((await within(watcher.scan(), 'the swap')).swapped).toEqual(['rm-v2-copy']);
      expect(manager.rmVersion()).toBe('rm-v2-copy');
      expect(await judgeVersion(manager)).toBe('rm-v2-copy');
      expect(manager.status()).toMatchObject({
        current: { rmVersion: 'rm-v2-copy', origin: 'watch', source: target },
        previous: { rmVersion: 'rm-v1' },
        rejections: 0,
        watch: { pending: [] },
      });
      expect((await watcher.scan()).swapped).toEqual([]);

      // A trainer's way: write a hidden temp folder (ignored), rename it into place.
      root.write('rm-v1-again', { from: RM_V1, version: 'rm-v1-again', parent: dir });
      expect((await watcher.scan()).pending).toEqual(['rm-v1-again']);
      expect((await within(watcher.scan(), 'the second swap')).swapped).toEqual(['rm-v1-again']);
      expect(manager.rmVersion()).toBe('rm-v1-again');

      // Complete (the model has its recorded size) but corrupt: rejected once, counted, and left alone afterwards.
      const broken = root.write('rm-broken', { version: 'rm-broken', parent: join(root.path) });
      const bytes = readFileSync(join(broken, 'model.onnx'));
      bytes.fill(0, 1000, 2000);
      writeFileSync(join(broken, 'model.onnx'), bytes);
      renameSync(broken, join(dir, 'rm-broken'));
      await watcher.scan();
      expect((await within(watcher.scan(), 'the rejection')).rejected).toEqual(['rm-broken']);
      expect(manager.status()).toMatchObject({
        current: { rmVersion: 'rm-v1-again' },
        rejections: 1,
        lastRejection: { code: 'MODEL_INVALID', origin: 'watch' },
      });
      expect(await watcher.scan()).toEqual({ swapped: [], rejected: [], pending: [] });
      expect(manager.rejections).toBe(1);
      expect(events.filter((e) => e.type === 'swapped').map((e) => (e.type === 'swapped' ? `${e.origin}:${e.rmVersion}` : ''))).toEqual([
        'watch:rm-v2-copy',
        'watch:rm-v1-again',
      ]);
    } finally {
      await manager.close();
    }
  });

  it('polls on its own: a checkpoint renamed into the folder is swapped in within a few intervals', async () => {
    const dir = join(root.path, 'timer');
    mkdirSync(dir);
    let onSwap: (e: CheckpointEvent) => void = () => undefined;
    const swapped = new Promise<CheckpointEvent>((resolve) => {
      onSwap = resolve;
    });
    const { manager } = await embeddedManager({ watch: { dir, intervalMs: 50 }, onEvent: (e) => e.type === 'swapped' && onSwap(e) });
    try {
      root.write('rm-v2-timer', { from: RM_V2, version: 'rm-v2-timer', parent: dir });
      expect(await within(swapped, 'a swap by the polling watcher')).toMatchObject({
        type: 'swapped',
        action: 'load',
        origin: 'watch',
        rmVersion: 'rm-v2-timer',
        previousVersion: 'rm-v1',
      });
      expect(manager.rmVersion()).toBe('rm-v2-timer');
    } finally {
      await manager.close();
    }
  });
});
