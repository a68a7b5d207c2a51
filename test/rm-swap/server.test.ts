/**
 * Admin commands over a real loopback reward server whose judge is the checkpoint manager over real ONNX sessions:
 * swaps without (or with a wrong) admin token are refused with ADMIN_FORBIDDEN; a judgment running during the
 * rm-v1 → rm-v2 swap finishes on rm-v1 while new ones get rm-v2; every client hears `version_changed` (the pool keeps
 * `versions()` current and calls its listener); rollback; a rejected load over the wire; checkpoint_status.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { silentLogger } from '../../src/common/logger.js';
import { Media } from '../../src/media/index.js';
import { parseServerMessage, type ServerMessage, type VerdictMessage } from '../../src/protocol/index.js';
import { RewardClientPool, RewardServerClient, type VersionChange } from '../../src/reward-client/index.js';
import { CheckpointManager, RewardServer, embeddedServiceFactory } from '../../src/reward-server/index.js';
import { CheckpointRoot, RM_V1, RM_V2 } from './fixtures.js';
import { rawText } from '../reward-server/helpers.js';
import { Holder, ServiceLog, rejectionCode, within, worldPair } from './helpers.js';

const TOKEN = 'tok-judge';
const ADMIN = 'tok-admin';

let media: Media;
let artifactRoot: string;
let checkpoints: CheckpointRoot;
const holder = new Holder();
const services = new ServiceLog();
let manager: CheckpointManager;
let server: RewardServer;

beforeAll(async () => {
  media = await Media.create();
  artifactRoot = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-rm-server-')));
  checkpoints = new CheckpointRoot();
  manager = await CheckpointManager.create({
    factory: services.wrap(embeddedServiceFactory(), (s) => holder.decorate(s)),
    initial: { kind: 'path', path: RM_V1 },
    log: silentLogger(),
    canary: { pairs: 3, pointwise: 1 },
  });
  server = await RewardServer.start({ service: manager, checkpoints: manager, adminToken: ADMIN, token: TOKEN, media, log: silentLogger(), artifactRoot });
});

afterAll(async () => {
  await server.close();
  await manager.close();
  rmSync(artifactRoot, { recursive: true, force: true });
  checkpoints.remove();
});

/** Sends one raw text message on a fresh connection and returns the first answer that is not the hello. */
async function rawAnswer(url: string, message: unknown): Promise<ServerMessage> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  try {
    return await within(
      new Promise<ServerMessage>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data: RawData) => {
          const parsed = parseServerMessage(rawText(data));
          if (!parsed.ok) reject(new Error(parsed.message));
          else if (parsed.message.type === 'hello') ws.send(JSON.stringify(message));
          else resolve(parsed.message);
        });
      }),
      'a raw answer',
    );
  } finally {
    ws.terminate();
  }
}

describe('admin commands over the reward server', () => {
  it('refuses swaps without the admin token, with a wrong one, and on a server without one; nothing changes', async () => {
    const client = await RewardServerClient.connect(server.url, { token: TOKEN });
    try {
      const none = await rejectionCode(client.loadCheckpoint({ checkpoint: RM_V2 }), 'a swap without the admin token');
      expect(none).toEqual({ code: 'ADMIN_FORBIDDEN', message: 'load_checkpoint: this command needs the admin token (field adminToken)' });
      expect((await rejectionCode(client.loadCheckpoint({ checkpoint: RM_V2 }, { adminToken: TOKEN }), 'the judge token as admin token')).code).toBe(
        'ADMIN_FORBIDDEN',
      );
      expect((await rejectionCode(client.rollback({ adminToken: 'nope' }), 'rollback with a wrong token')).code).toBe('ADMIN_FORBIDDEN');
      expect((await rejectionCode(client.checkpointStatus(), 'status without a token')).code).toBe('ADMIN_FORBIDDEN');
      expect(await rawAnswer(server.url, { type: 'load_checkpoint', id: 'both', adminToken: ADMIN, checkpoint: RM_V2, model: 'm' })).toMatchObject({
        type: 'error',
        id: 'both',
        code: 'INVALID_REQUEST',
        message: 'checkpoint: give either a checkpoint path or a model/baseUrl, not both',
      });
      expect(await rawAnswer(server.url, { type: 'load_checkpoint', id: 'vlm', adminToken: ADMIN, model: 'qwen' })).toMatchObject({
        type: 'error',
        id: 'vlm',
        code: 'INVALID_REQUEST',
      });
      expect((await client.status()).rmVersion).toBe('rm-v1');
      expect(manager.status()).toMatchObject({ swaps: 0, rejections: 1, lastRejection: { code: 'INVALID_REQUEST' } });
    } finally {
      await client.close();
    }

    const plain = await RewardServer.start({ service: manager, media, log: silentLogger(), artifactRoot });
    try {
      const other = await RewardServerClient.connect(plain.url);
      const disabled = await rejectionCode(other.loadCheckpoint({ checkpoint: RM_V2 }, { adminToken: ADMIN }), 'a swap on a server without admin token');
      expect(disabled.code).toBe('ADMIN_FORBIDDEN');
      expect(disabled.message).toMatch(/admin commands are disabled on this server/);
      await other.close();
    } finally {
      await plain.close();
    }
    expect(manager.rmVersion()).toBe('rm-v1');
  });

  it('rm-v1 → rm-v2 under load: the running judgment ends on rm-v1 after version_changed, new ones get rm-v2; rollback', async () => {
    const seen: string[] = [];
    const changes: VersionChange[] = [];
    const client = await RewardServerClient.connect(server.url, {
      token: TOKEN,
      onVersionChange: (c) => {
        changes.push(c);
        seen.push(`version_changed:${c.rmVersion}`);
      },
    });
    const poolChanges: string[] = [];
    const pool = await RewardClientPool.create({
      urls: [server.url],
      token: TOKEN,
      onVersionChange: (url, v, prev) => poolChanges.push(`${url === server.url ? 'server' : url}:${prev}→${v}`),
    });
    const admin = await RewardServerClient.connect(server.url, { token: TOKEN });
    try {
      expect([client.rmVersion, pool.versions().get(server.url)]).toEqual(['rm-v1', 'rm-v1']);
      const { prompt, videos } = worldPair(11);
      const judge = async (id: string): Promise<VerdictMessage> => {
        await Promise.all(videos.map((v, i) => client.sendInlineVideo(`${id}-v${i}`, v)));
        const verdict = await client.judge({ id, prompt, mode: 'pairwise', videos: videos.map((_, i) => ({ inline: `${id}-v${i}` })) });
        seen.push(`verdict:${id}:${verdict.rmVersion}`);
        return verdict;
      };

      holder.hold('held');
      const held = judge('held');
      await within(holder.whenStarted('held'), 'the held judgment to start');

      const swap = await within(admin.loadCheckpoint({ checkpoint: RM_V2 }, { adminToken: ADMIN }), 'the swap');
      expect(swap).toMatchObject({
        type: 'checkpoint_swapped',
        action: 'load',
        rmVersion: 'rm-v2',
        previousVersion: 'rm-v1',
        canary: { judgments: 4, agreement: 1, goldAccuracy: 1 },
      });
      const fresh = await within(judge('fresh'), 'a judgment after the swap');
      expect(fresh.rmVersion).toBe('rm-v2');
      expect((await within(pool.judge({ prompt, mode: 'pairwise', videos }), 'a pooled judgment')).verdict.rmVersion).toBe('rm-v2');
      expect(changes).toMatchObject([{ rmVersion: 'rm-v2', previousVersion: 'rm-v1', reason: 'load' }]);
      expect([client.rmVersion, pool.versions().get(server.url), (await client.status()).rmVersion]).toEqual(['rm-v2', 'rm-v2', 'rm-v2']);
      expect(poolChanges).toEqual(['server:rm-v1→rm-v2']);
      expect(manager.status()).toMatchObject({ current: { rmVersion: 'rm-v2' }, previous: { rmVersion: 'rm-v1', inFlight: 1 } });

      holder.release('held');
      expect((await within(held, 'the held judgment')).rmVersion).toBe('rm-v1');
      expect(seen).toEqual(['version_changed:rm-v2', 'verdict:fresh:rm-v2', 'verdict:held:rm-v1']);

      const back = await within(admin.rollback({ adminToken: ADMIN }), 'the rollback');
      expect(back).toMatchObject({ type: 'checkpoint_swapped', action: 'rollback', rmVersion: 'rm-v1', previousVersion: 'rm-v2', canary: null });
      expect((await within(judge('after-rollback'), 'a judgment after the rollback')).rmVersion).toBe('rm-v1');
      expect(changes.map((c) => `${c.reason}:${c.rmVersion}`)).toEqual(['load:rm-v2', 'rollback:rm-v1']);
      expect(pool.versions().get(server.url)).toBe('rm-v1');
      expect(poolChanges).toEqual(['server:rm-v1→rm-v2', 'server:rm-v2→rm-v1']);
      expect(services.closed('rm-v2')).toEqual([true]);

      // A corrupt checkpoint over the wire: refused with its code, counted, rm-v1 keeps serving.
      const corrupt = checkpoints.write('corrupt', { version: 'rm-corrupt', model: new Uint8Array(3000).fill(1) });
      const refused = await rejectionCode(admin.loadCheckpoint({ checkpoint: corrupt }, { adminToken: ADMIN }), 'a corrupt checkpoint');
      expect(refused.code).toBe('MODEL_INVALID');
      const status = await admin.checkpointStatus({ adminToken: ADMIN });
      expect(status).toMatchObject({
        type: 'checkpoint_status',
        state: 'serving',
        current: { rmVersion: 'rm-v1', origin: 'initial' },
        previous: null,
        swaps: 1,
        rollbacks: 1,
        rejections: 2,
        lastRejection: { code: 'MODEL_INVALID', source: corrupt, origin: 'admin' },
        watch: null,
      });
      expect(changes).toHaveLength(2);
      // …and on the server's /metrics, by code (the refusals of the earlier test are admission errors, not loads).
      const text = (await server.options.metrics.exposition()).body;
      expect(text).toMatch(/^vrgrpo_rm_checkpoint_rejections_total\{code="MODEL_INVALID"\} 1$/m);
    } finally {
      await Promise.all([client.close(), admin.close(), pool.close()]);
    }
  });
});
