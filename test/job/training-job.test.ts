/**
 * TrainingJob builds a run from a config and closes what it built: a short seeded run (world v1, pointwise) against a
 * real local reward server, with in-memory monitoring, and a judge pool it was given and must leave open.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { PROJECT_ROOT, loadConfig } from '../../src/config/index.js';
import { startLocalRewardServer, type LocalRewardServer } from '../../src/coordinator/local-reward-server.js';
import { TrainingJob } from '../../src/job/index.js';
import { RewardClientPool } from '../../src/reward-client/pool.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { v1Config } from '../world-v1.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-job-'));
let server: LocalRewardServer;
let pool: RewardClientPool;

beforeAll(async () => {
  await chooseTensorBackend('auto');
  server = await startLocalRewardServer({ configPath: join(PROJECT_ROOT, 'configs', 'world-v1.yaml'), artifactRoot: root, log: silentLogger() });
  pool = await RewardClientPool.create({ urls: [server.url], token: server.token });
}, 120_000);
afterAll(async () => {
  await pool.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('TrainingJob', () => {
  it('runs the configured steps with in-memory metrics, and closes what it built but not the pool it was given', async () => {
    const config = v1Config({
      training: { steps: 2, promptsPerStep: 2, groupSize: 2, evalEvery: 0, evalPrompts: 8, checkpointEvery: 2, videosEvery: 0, tracesEvery: 0 },
      monitoring: { drift: { anchors: { every: 0 } } },
    });
    const seen: number[] = [];
    const runDir = join(root, 'run');
    const job = await TrainingJob.create({
      config,
      runDir,
      log: silentLogger(),
      generatorUrl: null,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'in-memory' },
      onStep: (s) => seen.push(s.step),
    });
    expect(job.steps).toBe(2);
    expect(job.monitoring).toBeNull();
    const summary = await job.run();
    await job.close();
    await job.close(); // idempotent
    expect(summary.steps).toBe(2);
    expect(summary.failedJudgments).toBe(0);
    expect(seen).toEqual([0, 1, 2]);
    expect(existsSync(join(runDir, 'metrics.jsonl'))).toBe(true);
    const scrape = (await job.metrics?.exposition())?.body ?? '';
    expect(scrape).toMatch(/^vrgrpo_step 2$/m);
    // The given pool is still open: it judges after the job closed.
    expect(pool.versions().size).toBeGreaterThan(0);
    const again = await TrainingJob.create({
      config: v1Config({
        training: { steps: 3, evalEvery: 0, promptsPerStep: 2, groupSize: 2, evalPrompts: 8, checkpointEvery: 2, videosEvery: 0, tracesEvery: 0 },
      }),
      runDir,
      log: silentLogger(),
      resume: true,
      generatorUrl: null,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'off' },
    });
    try {
      // Resumed from the checkpoint at step 2.
      expect(again.coordinator.startStep).toBe(3);
      expect(again.metrics).toBeNull();
      const resumed = await again.run();
      expect(resumed.firstStep).toBe(3);
      expect(resumed.steps).toBe(1);
    } finally {
      await again.close();
    }
  }, 300_000);

  it('audits each step with a checkpoint auditor on a local reward server of its own, started without the planted hack', async () => {
    // The config file plants a hack in the training judge; the auditor's server reads the same file and must not get it.
    const dir = join(root, 'audited');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'train.yaml');
    writeFileSync(
      file,
      [
        `world: { version: 1, frames: 24 }`,
        `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
        `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))}, plantedHack: { defect: flicker, bonus: 0.5 } }`,
        `reward: { mode: pointwise }`,
        `training: { steps: 2, promptsPerStep: 2, groupSize: 2, evalEvery: 0, evalPrompts: 8, checkpointEvery: 2, videosEvery: 0, tracesEvery: 0 }`,
        `monitoring: { drift: { anchors: { every: 0 } }, audit: { auditors: [{ name: rm-v1, checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v1'))} }], fraction: 0.5 } }`,
        '',
      ].join('\n'),
    );
    const job = await TrainingJob.create({
      config: loadConfig(file),
      runDir: join(dir, 'run'),
      log: silentLogger(),
      generatorUrl: null,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'in-memory' },
    });
    try {
      await job.run();
    } finally {
      await job.close();
    }
    const events = readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; step?: number; groups?: number; auditors?: Record<string, { score: number; rmVersions: string[] }> });
    const audits = events.filter((e) => e.event === 'audit');
    expect(audits.map((a) => a.step)).toEqual([1, 2]);
    for (const a of audits) {
      expect(a.groups).toBe(1);
      expect(a.auditors?.['rm-v1']?.rmVersions).toEqual(['rm-v1']);
      expect(a.auditors?.['rm-v1']?.score).toBeGreaterThan(0);
    }
    const scrape = (await job.metrics?.exposition())?.body ?? '';
    expect(scrape).toMatch(/^vrgrpo_audit_score\{auditor="rm-v1"\} [0-9.]+$/m);
  }, 180_000);
});
