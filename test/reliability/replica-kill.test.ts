/**
 * A reward-server replica dies mid-run and comes back: three `vr-grpo serve-reward` processes, `vr-grpo train`
 * pooling them; after step 3 one replica is killed with SIGKILL, a few steps later it is restarted on the same port.
 * No group is lost (no failed, masked or dropped judgment), no judgment is counted twice (one pointwise judgment per
 * group, every step), every step is written once, the run finishes, and the events and /metrics show the replica
 * going down and rejoining.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { CliChildren, dashboardUrl, getText, jsonLines, listeningUrl, until, type CliChild } from '../cli/child.js';
import { parseExposition, sampleSum } from '../metrics/helpers.js';

const TOKEN = 'kill-test-token';
const STEPS = 80;
const PROMPTS = 4;
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-replica-kill-')));
const children = new CliChildren();
const env = { VRGRPO_TOKEN: TOKEN };

afterAll(async () => {
  await children.killAll();
  rmSync(base, { recursive: true, force: true });
});

const serveReward = async (port: number): Promise<{ child: CliChild['child']; url: string }> => {
  const s = children.start(['serve-reward', '--port', String(port), '--checkpoint', join(PROJECT_ROOT, 'models', 'rm-v2'), '--artifact-root', base], env); // the world v1 judge
  const url = await until('serve-reward to listen', 90_000, () => {
    if (s.child.exitCode !== null) throw new Error(`serve-reward exited: ${s.output()}`);
    return listeningUrl(s.output());
  });
  return { child: s.child, url };
};

const scrape = async (dashboard: string): Promise<ReturnType<typeof parseExposition> | null> => {
  const text = await getText(`${dashboard}metrics`);
  return text === null ? null : parseExposition(text);
};

describe('a reward-server replica killed mid-run and restarted', () => {
  it('loses no group, counts no judgment twice, and shows the replica leave and rejoin', async () => {
    const replicas = await Promise.all([0, 1, 2].map(() => serveReward(0)));
    const victim = replicas[1];
    if (victim === undefined) throw new Error('no replica');
    const victimPort = Number(new URL(victim.url).port);
    const config = join(base, 'train.yaml');
    writeFileSync(
      config,
      [
        'world: { version: 1, frames: 24 }',
        `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
        `training: { steps: ${STEPS}, promptsPerStep: ${PROMPTS}, groupSize: 4, evalEvery: 0, evalPrompts: 8, checkpointEvery: 100, videosEvery: 0, tracesEvery: 0 }`,
        `reward: { mode: pointwise, servers: ${JSON.stringify(replicas.map((r) => r.url))}, requestTimeoutMs: 20000, maxAttempts: 3 }`,
        'monitoring: { drift: { anchors: { every: 0, prompts: 1, groupSize: 2 } } }',
        '',
      ].join('\n'),
    );
    const runDir = join(base, 'run');
    const train = children.start(['train', '--config', config, '--run-dir', runDir, '--metrics-port', '0'], env);
    const dashboard = await until('the dashboard URL', 90_000, () => dashboardUrl(train.output()));
    const stepOf = async (): Promise<number> => sampleSum((await scrape(dashboard)) ?? [], 'vrgrpo_step');
    const connected = async (): Promise<number | null> => {
      const s = await scrape(dashboard);
      const hit = s?.find((x) => x.name === 'vrgrpo_reward_server_connected' && x.labels.server === victim.url);
      return hit === undefined ? null : hit.value;
    };

    await until('step 3', 120_000, async () => ((await stepOf()) >= 3 ? true : null));
    expect(await connected()).toBe(1);
    victim.child.kill('SIGKILL');
    const killedAt = await stepOf();
    await until('the coordinator to notice the dead replica', 60_000, async () => ((await connected()) === 0 ? true : null));
    await until('three more steps without it', 120_000, async () => ((await stepOf()) >= killedAt + 3 ? true : null));
    expect(train.child.exitCode).toBeNull();
    await serveReward(victimPort);
    await until('the replica to rejoin', 60_000, async () => {
      if (train.child.exitCode !== null) throw new Error(`train ended before the replica rejoined:\n${train.output()}`);
      return (await connected()) === 1 ? true : null;
    });
    expect(await until('train to finish', 240_000, () => (train.child.exitCode === null ? null : train.child.exitCode)), train.output()).toBe(0);

    const steps = jsonLines(join(runDir, 'metrics.jsonl')).filter((r) => (r.step as number) > 0);
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    for (const r of steps) {
      expect(r.judgments).toBe(PROMPTS); // pointwise: one judgment per group — a retried one is not counted twice
      expect(r.failedJudgments).toBe(0);
      expect(r.maskedVideos).toBe(0);
      expect(r.droppedGroups).toBe(0);
    }
    const events = jsonLines(join(runDir, 'events.jsonl'));
    const down = events.findIndex((e) => e.event === 'reward_server_down' && e.server === victim.url);
    const up = events.findIndex((e) => e.event === 'reward_server_up' && e.server === victim.url);
    expect(down).toBeGreaterThanOrEqual(0);
    expect(up).toBeGreaterThan(down);
  }, 600_000);
});
