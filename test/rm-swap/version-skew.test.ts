/**
 * Replicas on different RM versions, on two real loopback reward servers (checkpoint managers over real ONNX
 * sessions, both starting on rm-v1): after one is swapped to rm-v2, a pool with `versionSkew: newest` sends every new
 * judgment to it; a pool with `wait` holds new judgments until the other one is swapped too; `any` keeps using both.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { Media } from '../../src/media/index.js';
import { RewardClientPool, RewardServerClient, type VersionSkewPolicy } from '../../src/reward-client/index.js';
import { RewardServer, type CheckpointManager } from '../../src/reward-server/index.js';
import { RM_V2 } from './fixtures.js';
import { embeddedManager, within, worldPair } from './helpers.js';

const TOKEN = 'tok-skew';
const ADMIN = 'tok-skew-admin';
const artifactRoot = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-skew-')));
const servers: { manager: CheckpointManager; server: RewardServer }[] = [];

beforeAll(async () => {
  const media = await Media.create();
  for (let i = 0; i < 2; i++) {
    const { manager } = await embeddedManager();
    const server = await RewardServer.start({
      service: manager,
      checkpoints: manager,
      adminToken: ADMIN,
      token: TOKEN,
      media,
      log: silentLogger(),
      artifactRoot,
    });
    servers.push({ manager, server });
  }
});

afterAll(async () => {
  for (const s of servers) {
    await s.server.close();
    await s.manager.close();
  }
  rmSync(artifactRoot, { recursive: true, force: true });
});

const url = (i: number): string => servers[i]?.server.url ?? '';

async function swap(i: number, checkpoint: string): Promise<void> {
  const admin = await RewardServerClient.connect(url(i), { token: TOKEN });
  try {
    await within(admin.loadCheckpoint({ checkpoint }, { adminToken: ADMIN }), `the swap of server ${i}`);
  } finally {
    await admin.close();
  }
}

const pool = (versionSkew: VersionSkewPolicy): Promise<RewardClientPool> =>
  RewardClientPool.create({ urls: [url(0), url(1)], token: TOKEN, versionSkew, versionWaitMs: 30_000 });

/** Waits until the pool has heard that server `i` serves `version`. */
async function sees(p: RewardClientPool, i: number, version: string): Promise<void> {
  for (let k = 0; k < 400 && p.versions().get(url(i)) !== version; k++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(p.versions().get(url(i))).toBe(version);
}

describe('replicas serving different RM versions', () => {
  it('newest routes only to the swapped replica, any to both, wait holds judgments until the replicas agree', async () => {
    const { prompt, videos } = worldPair(3);
    const newest = await pool('newest');
    const any = await pool('any');
    const waiting = await pool('wait');
    try {
      // Before any swap both replicas serve rm-v1 and take work.
      const before = await Promise.all(Array.from({ length: 6 }, () => newest.judge({ prompt, mode: 'pairwise', videos })));
      expect(new Set(before.map((v) => v.replica))).toEqual(new Set([url(0), url(1)]));

      await swap(1, RM_V2);
      for (const p of [newest, any, waiting]) await sees(p, 1, 'rm-v2');

      const routed = await Promise.all(Array.from({ length: 6 }, () => newest.judge({ prompt, mode: 'pairwise', videos })));
      expect(routed.map((v) => v.replica)).toEqual(Array.from({ length: 6 }, () => url(1)));
      expect(routed.every((v) => v.verdict.rmVersion === 'rm-v2')).toBe(true);

      const spread = await Promise.all(Array.from({ length: 6 }, () => any.judge({ prompt, mode: 'pairwise', videos })));
      expect(new Set(spread.map((v) => v.verdict.rmVersion))).toEqual(new Set(['rm-v1', 'rm-v2']));

      let settled = false;
      const held = waiting.judge({ prompt, mode: 'pairwise', videos }).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      await swap(0, RM_V2);
      const verdict = await within(held, 'the held judgment after the replicas agree');
      expect(verdict.verdict.rmVersion).toBe('rm-v2');
    } finally {
      await Promise.all([newest.close(), any.close(), waiting.close()]);
    }
  });
});
