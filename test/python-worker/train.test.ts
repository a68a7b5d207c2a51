/**
 * `vr-grpo train --generator ws://…` against the PyTorch reference worker (workers/python), real processes on loopback:
 * a few steps with videos by reference, on-policy ratios of 1 at every update, an update that moves the policy (its
 * digest changes, the worker counts the updates), and a checkpoint that records the worker's saved state.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { RemoteGenerator } from '../../src/generator/remote/index.js';
import { CliChildren, jsonLines } from '../cli/child.js';
import { PYTHON_MISSING, skipPython, startPythonWorker, type PythonWorker } from './python.js';

const SKIP = skipPython('train against the Python worker');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-py-train-')));
const children = new CliChildren();
let worker: PythonWorker | null = null;

afterAll(async () => {
  await children.killAll();
  await worker?.stop();
  rmSync(base, { recursive: true, force: true });
});

async function policyOf(url: string): Promise<{ digest: string | null; updates: number | null }> {
  const g = await RemoteGenerator.connect(url, { timeoutMs: 60_000 });
  try {
    const status = await g.status();
    return { digest: status.policyDigest, updates: status.policyUpdates };
  } finally {
    await g.close();
  }
}

describe.skipIf(SKIP)('vr-grpo train against the Python reference worker', () => {
  it('runs steps by reference with on-policy ratios of 1, moves the policy, and checkpoints the worker state', { timeout: 300_000 }, async () => {
    expect(PYTHON_MISSING, `the Python worker cannot run under CI: ${PYTHON_MISSING ?? ''}`).toBeUndefined();
    const artifactRoot = join(base, 'artifacts');
    const stateRoot = join(base, 'state');
    for (const dir of [artifactRoot, stateRoot]) mkdirSyncSafe(dir);
    worker = await startPythonWorker({ artifactRoot, stateRoot });
    const before = await policyOf(worker.url);
    expect(before.digest).toMatch(/^[0-9a-f]{64}$/);
    const config = join(base, 'train.yaml');
    writeFileSync(
      config,
      [
        'world: { version: 1, frames: 24 }',
        `generator: { worker: { url: ${JSON.stringify(worker.url)}, delivery: reference, judgeCopy: { frameCount: 8, width: 64, height: 64 }, timeoutMs: 60000 } }`,
        `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))} }`,
        'training: { steps: 3, promptsPerStep: 2, groupSize: 4, evalEvery: 0, evalPrompts: 8, checkpointEvery: 3, videosEvery: 0, tracesEvery: 0 }',
        'reward: { mode: pointwise, localServers: 1 }',
        'monitoring: { http: { enabled: false }, drift: { anchors: { every: 0 } } }',
        '',
      ].join('\n'),
    );
    const runDir = join(base, 'run');
    const train = children.start(['train', '--config', config, '--run-dir', runDir]);
    expect(await train.exited, train.output()).toBe(0);
    const steps = jsonLines(join(runDir, 'metrics.jsonl'));
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of steps) {
      // Log-probabilities recomputed under the policy that sampled: the first pass's ratio is 1.
      expect(r.onPolicyMaxRatioDeviation as number, `step ${String(r.step)}`).toBeLessThanOrEqual(1e-5);
      expect(r.gradNorm, `step ${String(r.step)} updated`).not.toBeNull();
    }
    const after = await policyOf(worker.url);
    expect(after.updates).toBe(3);
    expect(after.digest).not.toBe(before.digest);
    const checkpoint = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'step-000003', 'coordinator.json'), 'utf8')) as {
      generator?: { ref: string; policyUpdates: number; policyDigest: string };
    };
    expect(checkpoint.generator).toMatchObject({ policyUpdates: 3, policyDigest: after.digest });
  });
});

function mkdirSyncSafe(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
