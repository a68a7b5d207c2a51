/**
 * Issue 19, finding 4: the canary measures what a new version costs. On a checkpoint manager over the real embedded
 * factory (real ONNX sessions), a version whose canary judgments grow resident memory by 300 MB is refused with
 * CANARY_FAILED (reason `memory`) before it serves, one whose judgments are slower than the per-judgment budget with
 * CANARY_FAILED (reason `time`); both are closed, rm-v1 keeps serving, and a sound checkpoint swaps in under the same
 * budgets (its measured growth is reported).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import type { JudgeService } from '../../src/judge/judge-service.js';
import { embeddedServiceFactory, type CheckpointEvent } from '../../src/reward-server/index.js';
import { CheckpointRoot, RM_V2 } from './fixtures.js';
import { ServiceLog, embeddedManager, judgeVersion, within } from './helpers.js';

const root = new CheckpointRoot('vr-grpo-hardening-canary-');
afterAll(() => root.remove());

const MIB = 1024 * 1024;

/** Judgments of `version` hold `bytes` of touched memory until the service closes, and/or take `delayMs` longer. */
function costly(version: string, cost: { bytes?: number; delayMs?: number }): (service: JudgeService) => JudgeService {
  return (service) => {
    if (service.rmVersion() !== version) return service;
    const held: Buffer[] = [];
    return {
      get backendName() {
        return service.backendName;
      },
      rmVersion: () => service.rmVersion(),
      judge: async (request, hooks) => {
        if (cost.bytes !== undefined && held.length === 0) held.push(Buffer.alloc(cost.bytes, 1));
        if (cost.delayMs !== undefined) await new Promise((r) => setTimeout(r, cost.delayMs));
        return service.judge(request, hooks);
      },
      close: async () => {
        held.length = 0;
        await service.close();
      },
    };
  };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; reason: unknown; message: string }> {
  const outcome = await within(
    promise.then(
      () => null,
      (e: unknown) => e,
    ),
    'the load',
    60_000,
  );
  if (!isVrGrpoError(outcome)) throw new Error(`expected a VrGrpoError, got ${String(outcome)}`);
  return { code: outcome.code, reason: outcome.details.reason, message: outcome.message };
}

describe('the canary budget (finding 4)', () => {
  it('refuses a version whose canary grows memory by 300 MB (memory) or is too slow (time); a sound one swaps in', async () => {
    const log = new ServiceLog();
    const hog = root.write('hog', { from: RM_V2, version: 'rm-hog' });
    const slow = root.write('slow', { from: RM_V2, version: 'rm-slow' });
    const sound = root.write('sound', { from: RM_V2, version: 'rm-sound' });
    const events: CheckpointEvent[] = [];
    const decorate = (s: JudgeService): JudgeService => costly('rm-slow', { delayMs: 2_500 })(costly('rm-hog', { bytes: 300 * MIB })(s));
    const { manager } = await embeddedManager({
      factory: log.wrap(embeddedServiceFactory(), decorate),
      canary: { pairs: 2, pointwise: 1, concurrency: 1, maxRssGrowthBytes: 128 * MIB, maxJudgmentMs: 2_000 },
      onEvent: (e) => events.push(e),
    });
    try {
      const m = await rejection(manager.load({ kind: 'path', path: hog }));
      expect(m).toMatchObject({ code: 'CANARY_FAILED', reason: 'memory' });
      expect(m.message).toMatch(/resident memory grew by [\d.]+ MiB, over the budget of 128\.0 MiB/);
      const t = await rejection(manager.load({ kind: 'path', path: slow }));
      expect(t).toMatchObject({ code: 'CANARY_FAILED', reason: 'time' });
      expect(manager.rmVersion()).toBe('rm-v1');
      expect(await judgeVersion(manager)).toBe('rm-v1');
      expect(log.closed('rm-hog')).toEqual([true]);
      expect(log.closed('rm-slow')).toEqual([true]);

      const swapped = await within(manager.load({ kind: 'path', path: sound }), 'the sound swap', 60_000);
      expect(swapped.rmVersion).toBe('rm-sound');
      const event = events.find((e) => e.type === 'swapped');
      const growth = event?.type === 'swapped' ? (event.resources?.rssGrowthBytes ?? -1) : -1;
      expect(growth).toBeGreaterThanOrEqual(0);
      expect(growth).toBeLessThan(128 * MIB);
      console.info(
        `sound rm-v2 canary: RSS growth ${(growth / MIB).toFixed(1)} MiB, slowest judgment ${event?.type === 'swapped' ? event.resources?.maxJudgmentMs.toFixed(0) : '?'} ms`,
      );
      expect(manager.status()).toMatchObject({ swaps: 1, rejections: 2 });
    } finally {
      await manager.close();
    }
  });
});
