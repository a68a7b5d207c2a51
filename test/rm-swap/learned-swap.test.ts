/**
 * A learned-judge checkpoint (written by the judge-training stages) hot-swapped into a running reward server: the
 * embedded service factory recognises its format, the checkpoint manager canaries it, new judgments carry its version
 * and are VR-Thinker turns of the learned reasoner (tool calls included); a tampered policy file or a tampered
 * perception copy is refused with MODEL_INVALID and changes nothing; rollback returns to the perception checkpoint.
 * Real loopback WebSocket server, real ONNX sessions (perception and policy).
 */
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PolicyNet } from '../../src/judge-training/policy-net.js';
import { parseTurn } from '../../src/judge/format.js';
import { saveStageCheckpoint, perceptionRef } from '../../src/judge-training/index.js';
import { Media } from '../../src/media/index.js';
import type { VerdictMessage } from '../../src/protocol/index.js';
import { RewardServerClient } from '../../src/reward-client/index.js';
import { CheckpointManager, RewardServer, embeddedServiceFactory } from '../../src/reward-server/index.js';
import { tf } from '../../src/tensor/index.js';
import { RM_V2 } from './fixtures.js';
import { rejectionCode, within, worldPair } from './helpers.js';

const TOKEN = 'tok-judge';
const ADMIN = 'tok-admin';

let root: string;
let media: Media;
let manager: CheckpointManager;
let server: RewardServer;
const learned = (): string => join(root, 'judge-looker');

/** Sends the pair as inline raw videos and judges it (pairwise, with the trace). */
async function judgePair(client: RewardServerClient, id: string): Promise<VerdictMessage> {
  const { prompt, videos } = worldPair(11);
  await Promise.all(videos.map((v, i) => client.sendInlineVideo(`${id}-v${i}`, v)));
  return client.judge({ id, prompt, mode: 'pairwise', videos: videos.map((_, i) => ({ inline: `${id}-v${i}` })), options: { trace: true } });
}

beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-learned-swap-')));
  // A policy that looks closer on its first turn (act bias toward select), so served judgments make tool calls.
  const net = PolicyNet.create({ hidden: [16] }, 3);
  try {
    net.vars.get('head_act.bias')?.assign(tf.tensor1d([4, 0]));
    saveStageCheckpoint(learned(), {
      stage: 'grpo',
      version: 'judge-looker-v1',
      net,
      answerMode: 'per-dimension',
      maxToolCalls: 3,
      perception: perceptionRef(RM_V2),
      parent: null,
      training: {},
      summary: {},
      metrics: {},
    });
  } finally {
    net.dispose();
  }
  media = await Media.create();
  manager = await CheckpointManager.create({
    factory: embeddedServiceFactory(),
    initial: { kind: 'path', path: RM_V2 },
    log: silentLogger(),
    canary: { pairs: 2, pointwise: 1 },
  });
  server = await RewardServer.start({
    service: manager,
    checkpoints: manager,
    adminToken: ADMIN,
    token: TOKEN,
    media,
    log: silentLogger(),
    artifactRoot: root,
  });
});

afterAll(async () => {
  await server.close();
  await manager.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a learned-judge checkpoint as a reward-model version', () => {
  it('is refused with MODEL_INVALID when its policy or perception copy was tampered with; the server stays on rm-v2', async () => {
    const client = await RewardServerClient.connect(server.url, { token: TOKEN });
    try {
      const badPolicy = join(root, 'bad-policy');
      cpSync(learned(), badPolicy, { recursive: true });
      const policyFile = join(badPolicy, 'policy.onnx');
      const bytes = readFileSync(policyFile);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
      writeFileSync(policyFile, bytes);
      const p = await rejectionCode(client.loadCheckpoint({ checkpoint: badPolicy }, { adminToken: ADMIN }), 'a tampered policy');
      expect(p.code).toBe('MODEL_INVALID');
      expect(p.message).toMatch(/sha256|size/);

      const badPerception = join(root, 'bad-perception');
      cpSync(learned(), badPerception, { recursive: true });
      const modelFile = join(badPerception, 'perception', 'model.onnx');
      const model = readFileSync(modelFile);
      writeFileSync(modelFile, model.subarray(0, model.length - 100));
      expect((await rejectionCode(client.loadCheckpoint({ checkpoint: badPerception }, { adminToken: ADMIN }), 'a truncated perception copy')).code).toBe(
        'MODEL_INVALID',
      );
      expect((await client.status()).rmVersion).toBe('rm-v2');
      expect(manager.status()).toMatchObject({ swaps: 0, rejections: 2 });
    } finally {
      await client.close();
    }
  });

  it('swaps in after its canary: new judgments are learned VR-Thinker turns with its version; rollback returns to rm-v2', async () => {
    const client = await RewardServerClient.connect(server.url, { token: TOKEN });
    try {
      const before = await judgePair(client, 'before');
      expect(before.rmVersion).toBe('rm-v2');

      const loaded = await within(client.loadCheckpoint({ checkpoint: learned() }, { adminToken: ADMIN }), 'the learned swap', 60_000);
      expect(loaded).toMatchObject({ action: 'load', rmVersion: 'judge-looker-v1', previousVersion: 'rm-v2' });
      expect(loaded.canary).not.toBeNull();
      expect((await client.status()).rmVersion).toBe('judge-looker-v1');

      const v = await judgePair(client, 'after');
      expect(v.rmVersion).toBe('judge-looker-v1');
      expect(v.formatErrors).toBe(0);
      expect(v.toolCalls).toBeGreaterThanOrEqual(1);
      const assistant = (v.turns ?? []).filter((t) => t.role === 'assistant');
      expect(assistant.length).toBe(v.toolCalls + 1);
      // Every assistant turn parses as VR-Thinker text: tool calls with a recommended answer, then the final answer.
      const kinds = assistant.map((t) => parseTurn(t.text, 'pairwise').kind);
      expect(kinds.slice(0, -1).every((k) => k === 'tool_call')).toBe(true);
      expect(kinds.at(-1)).toBe('answer');
      expect(v.answer).toMatchObject({ OA: expect.any(Number) as number, CF: expect.any(Number) as number });

      const back = await within(client.rollback({ adminToken: ADMIN }), 'the rollback', 60_000);
      expect(back).toMatchObject({ action: 'rollback', rmVersion: 'rm-v2', previousVersion: 'judge-looker-v1' });
      const again = await judgePair(client, 'again');
      expect(again.rmVersion).toBe('rm-v2');
      expect(again.answer).toEqual(before.answer);
    } finally {
      await client.close();
    }
  });
});
