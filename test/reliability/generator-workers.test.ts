/**
 * Several generator workers and checkpoints that agree, with real processes on loopback (every wait bounded):
 * - two `serve-generator` workers shard each step of a `vr-grpo train` run, videos travel by reference (MP4s under
 *   the workers' shared artifact root, read by the local reward server), and the workers stay in step (same policy
 *   digest and update count); released rollouts leave no files behind;
 * - a resume against workers that moved on after the last checkpoint restores them to it (digest checked) and goes on;
 * - a worker that keeps no state and is ahead of the checkpoint is refused with GENERATOR_STATE_LOST.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { ReconnectingGenerator, ShardedGenerator } from '../../src/generator/remote/index.js';
import { CliChildren, jsonLines, listeningUrl, until, type CliChild } from '../cli/child.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-gen-workers-')));
const artifacts = join(base, 'artifacts');
mkdirSync(artifacts);
const children = new CliChildren();

afterAll(async () => {
  await children.killAll();
  rmSync(base, { recursive: true, force: true });
});

function configFile(name: string, worker: string): string {
  const file = join(base, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'world: { version: 1, frames: 24 }',
      `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))}, worker: ${worker} }`,
      `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))} }`,
      'training: { steps: 4, promptsPerStep: 3, groupSize: 4, evalEvery: 0, evalPrompts: 8, checkpointEvery: 2, videosEvery: 2, tracesEvery: 0, pipelineStaleness: 0 }',
      'reward: { mode: pointwise, localServers: 1 }',
      'monitoring: { http: { enabled: false }, drift: { anchors: { every: 0 } } }',
      '',
    ].join('\n'),
  );
  return file;
}

async function startWorker(config: string, extra: readonly string[]): Promise<{ worker: CliChild; url: string }> {
  const worker = children.start(['serve-generator', '--config', config, '--port', '0', ...extra]);
  const url = await until('the worker to listen', 60_000, () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${worker.output()}`);
    return listeningUrl(worker.output());
  });
  return { worker, url };
}

const stepsOf = (runDir: string): number[] => jsonLines(join(runDir, 'metrics.jsonl')).map((r) => r.step as number);
const eventsOf = (runDir: string, kind: string): Record<string, unknown>[] => jsonLines(join(runDir, 'events.jsonl')).filter((e) => e.event === kind);

async function policies(urls: readonly string[]): Promise<{ digest: string | null; updates: number | null }[]> {
  const out: { digest: string | null; updates: number | null }[] = [];
  for (const url of urls) {
    const g = await ReconnectingGenerator.connect(url, { timeoutMs: 60_000 });
    try {
      out.push({ digest: await g.policyDigest(), updates: g.policyUpdates() });
    } finally {
      await g.close();
    }
  }
  return out;
}

/** One more update on the workers outside the run (through a sharded generator, so they stay in step). */
async function extraUpdate(urls: readonly string[]): Promise<void> {
  const workers: ReconnectingGenerator[] = [];
  for (const url of urls) workers.push(await ReconnectingGenerator.connect(url, { timeoutMs: 60_000 }));
  const g = await ShardedGenerator.over(workers, urls);
  try {
    const r = await g.generate({ prompts: ['a red circle moving left fast on a navy background', 'a blue square'], groupSize: 2, seed: 99 });
    await g.update([{ rolloutId: r.rolloutId, advantages: [1, -1, 0.5, -0.5] }]);
  } finally {
    await g.close();
  }
}

// Real processes (two workers with their generator threads, two trains, reward servers) on 2 shared cores.
describe('generator workers: sharding, videos by reference, checkpoints that agree', { timeout: 300_000 }, () => {
  it('two workers shard every step by reference and stay in step; a resume restores them to the checkpoint', async () => {
    const urlsPlaceholder = '__URLS__';
    const w1 = await startWorker(configFile('w', '{}'), ['--state-dir', join(base, 'state-1'), '--artifact-root', artifacts]);
    const w2 = await startWorker(configFile('w', '{}'), ['--state-dir', join(base, 'state-2'), '--artifact-root', artifacts]);
    const urls = [w1.url, w2.url];
    const config = configFile(
      'run',
      `{ urls: ${urlsPlaceholder}, delivery: reference, judgeCopy: { frameCount: 8, width: 32, height: 32 }, timeoutMs: 60000 }`,
    );
    writeFileSync(config, readFileSync(config, 'utf8').replace(urlsPlaceholder, JSON.stringify(urls)));
    const runDir = join(base, 'run');
    const train = children.start(['train', '--config', config, '--run-dir', runDir]);
    expect(await train.exited, train.output()).toBe(0);
    expect(stepsOf(runDir)).toEqual([1, 2, 3, 4]);
    const after = await policies(urls);
    expect(after[0]?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(after[1]).toEqual(after[0]);
    expect(after[0]?.updates).toBe(4);
    // Every rollout was released after its update: no video files are left under the shared root.
    const rollouts = join(artifacts, 'rollouts');
    expect(existsSync(rollouts) ? readdirSync(rollouts) : []).toEqual([]);
    // The sampled group's MP4s were copied into the run (by reference, nothing was decoded for them but the strips).
    const kept = readdirSync(join(runDir, 'videos', 'step-000002'));
    expect(kept.filter((f) => f.endsWith('.mp4') && !f.endsWith('.judge.mp4')).length).toBe(4);
    expect(kept.filter((f) => f.endsWith('.judge.mp4')).length).toBe(4);
    const checkpoint = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'step-000004', 'coordinator.json'), 'utf8')) as {
      generator?: { ref: string; policyUpdates: number; policyDigest: string };
    };
    expect(checkpoint.generator).toMatchObject({ policyUpdates: 4, policyDigest: after[0]?.digest });
    expect(JSON.parse(checkpoint.generator?.ref ?? 'null')).toHaveLength(2);

    // The workers move on after the checkpoint; a resume puts them back to it and continues from there.
    await extraUpdate(urls);
    const ahead = await policies(urls);
    expect(ahead[0]?.updates).toBe(5);
    expect(ahead[0]?.digest).not.toBe(after[0]?.digest);
    const resumed = children.start(['train', '--config', config, '--resume', runDir, '--steps', '6']);
    expect(await resumed.exited, resumed.output()).toBe(0);
    expect(eventsOf(runDir, 'generator_restored').at(-1)).toMatchObject({ step: 4, policyUpdates: 4, policyDigest: after[0]?.digest });
    expect(stepsOf(runDir)).toEqual([1, 2, 3, 4, 5, 6]);
    const final = await policies(urls);
    expect(final[1]).toEqual(final[0]);
    expect(final[0]?.updates).toBe(6);
  });

  it('a worker without state that is ahead of the checkpoint is refused with GENERATOR_STATE_LOST', async () => {
    const { url } = await startWorker(configFile('plain', '{}'), []);
    const config = configFile('plain-run', `{ url: ${JSON.stringify(url)}, timeoutMs: 60000 }`);
    const runDir = join(base, 'run-plain');
    const train = children.start(['train', '--config', config, '--run-dir', runDir, '--steps', '2']);
    expect(await train.exited, train.output()).toBe(0);
    await extraUpdate([url]);
    const resumed = children.start(['train', '--config', config, '--resume', runDir, '--steps', '4']);
    expect(await resumed.exited, resumed.output()).toBe(1);
    expect(resumed.output()).toMatch(/GENERATOR_STATE_LOST.*after 3 update\(s\), the checkpoint of step 2 after 2/);
    expect(stepsOf(runDir)).toEqual([1, 2]);
  });
});
