/**
 * `vr-grpo check-generator`: the conformance harness (src/generator/conformance) against real workers — a
 * `serve-generator` child process (with a state folder, so the state checks run, and an artifact root when the command
 * has one) and the Python reference worker (skipped with a warning where /usr/bin/python3 lacks torch, websockets or
 * numpy, except under CI) — and against deliberately broken in-process workers, whose faults the matching check fails.
 * The CLI runs once as a child process per outcome (exit 0 on a good worker, 1 on a broken one).
 */
import { spawn, spawnSync } from 'node:child_process';
import { PYTHON_MISSING, skipPython, startPythonWorker } from '../python-worker/python.js';

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import type { UpdateStats } from '../../src/generator/flow-grpo-trainer.js';
import { runConformance, type ConformanceReport } from '../../src/generator/conformance/index.js';
import type { GenerateRequest, GenerateResult, RolloutAdvantages, TrainableGenerator } from '../../src/generator/generator.js';
import { ChildProcess } from './child.js';
import { startWorker, within } from './helpers.js';
import { ScriptedGenerator } from './scripted-generator.js';

const CLI = join(PROJECT_ROOT, 'bin', 'vr-grpo.js');
/** Bound of one conformance run against a real worker (≈ 10 s on 2 cores). */
const RUN_MS = 60_000;
const CHECK_MS = 30_000;

const SKIP_PYTHON = skipPython('check-generator against the Python worker');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function statusOf(report: ConformanceReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.status]));
}

/** Every check that ran passed; the failures' reasons in the message. */
function expectNoFailures(report: ConformanceReport): void {
  const failures = report.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.reason}`);
  expect(failures).toEqual([]);
  expect(report.cleanupErrors).toEqual([]);
}

/** `node bin/vr-grpo.js check-generator …` to completion (killed after RUN_MS): exit code and stdout. */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'check-generator', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A scripted generator with faults: a `generate` that ignores the seed, an update off-policy by 0.5. */
class BrokenGenerator implements TrainableGenerator {
  readonly name = 'broken';
  readonly #inner = new ScriptedGenerator();
  generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.#inner.generate({ ...request, seed: 0 });
  }
  async update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    return { ...(await this.#inner.update(rollouts)), onPolicyMaxRatioDeviation: 0.5 };
  }
  discard(rolloutIds: readonly string[]): Promise<void> {
    return this.#inner.discard(rolloutIds);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

describe('vr-grpo check-generator', () => {
  it('passes every check it runs against serve-generator with a state folder and a token, as a library and as the CLI', async () => {
    const token = 'check-generator-token';
    const stateDir = await tempDir('vrgrpo-check-state-');
    const help = spawnSync(process.execPath, [CLI, 'serve-generator', '--help'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
    const artifactArgs = help.stdout.includes('--artifact-root') ? ['--artifact-root', await tempDir('vrgrpo-check-art-')] : [];
    const child = ChildProcess.spawn([CLI, 'serve-generator', '--port', '0', '--state-dir', stateDir, ...artifactArgs], {
      VRGRPO_LOG_LEVEL: 'warn',
      VRGRPO_GENERATOR_TOKEN: token,
    });
    cleanups.push(() => child.reap());
    const url = await child.line(/^listening (ws:\/\/127\.0\.0\.1:\d+)$/m, 60_000);

    const report = await within(runConformance({ url, token, checkTimeoutMs: CHECK_MS }), 'the conformance run', RUN_MS);
    expectNoFailures(report);
    const status = statusOf(report);
    expect([status['save-restore'], status.replay, status['on-policy-ratio'], status['ping-while-busy']]).toEqual(['pass', 'pass', 'pass', 'pass']);
    if (artifactArgs.length > 0) expect(status['reference-delivery']).toBe('pass');
    expect(report.stateRestored).toBe(true);

    const cli = await runCli([url, '--json', '--timeout-ms', String(CHECK_MS)], { VRGRPO_GENERATOR_TOKEN: token });
    expect(cli.code, cli.stderr.slice(-2000)).toBe(0);
    const fromCli = JSON.parse(cli.stdout) as ConformanceReport;
    expect(fromCli.failed).toBe(0);
    expect(fromCli.results.map((r) => r.id)).toEqual(report.results.map((r) => r.id));
  }, 150_000);

  it('fails the determinism and on-policy checks of a worker that ignores the seed and is off-policy; the CLI exits 1', async () => {
    const generator = new BrokenGenerator();
    const server = await startWorker({ generator });
    cleanups.push(() => server.close());

    const report = await within(runConformance({ url: server.url, checkTimeoutMs: 10_000 }), 'the conformance run', RUN_MS);
    const status = statusOf(report);
    expect(status.determinism).toBe('fail');
    expect(report.results.find((r) => r.id === 'determinism')?.reason).toMatch(/seed is ignored/);
    expect(status['on-policy-ratio']).toBe('fail');
    expect(report.results.find((r) => r.id === 'on-policy-ratio')?.reason).toMatch(/onPolicyMaxRatioDeviation 0\.5/);
    // What the scripted generator does right still passes; what it lacks is skipped.
    expect([status.handshake, status.shape, status['bad-messages'], status['bad-handles']]).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect([status['save-restore'], status.replay, status['reference-delivery']]).toEqual(['skip', 'skip', 'skip']);

    const cli = await runCli([server.url, '--timeout-ms', '10000']);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^determinism\s+FAIL\b/m);
    expect(cli.stdout).toMatch(/^on-policy-ratio\s+FAIL\b/m);
    expect(cli.stderr).toMatch(/conformance check\(s\) failed: .*determinism/);
  }, 60_000);

  it.skipIf(SKIP_PYTHON)(
    'passes every check against the Python reference worker (reference delivery, state, replay)',
    async () => {
      expect(PYTHON_MISSING, `the Python worker cannot run under CI: ${PYTHON_MISSING ?? ''}`).toBeUndefined();
      const artifactRoot = await tempDir('vrgrpo-check-py-art-');
      const stateRoot = await tempDir('vrgrpo-check-py-state-');
      const { url, stop } = await startPythonWorker({ artifactRoot, stateRoot });
      cleanups.push(stop);

      const report = await within(runConformance({ url, checkTimeoutMs: CHECK_MS }), 'the conformance run', RUN_MS);
      expectNoFailures(report);
      expect(report.skipped).toBe(0);
      expect(report.stateRestored).toBe(true);
    },
    120_000,
  );
});
