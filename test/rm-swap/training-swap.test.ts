/**
 * A hot swap during a real training run, as users do it: `vr-grpo serve-reward` (rm-v1, admin token) and `vr-grpo
 * train` against it as child processes; once training has passed step 3, `vr-grpo rm swap --checkpoint models/rm-v2`.
 * The run must finish with no failed or dropped judgments, every step's verdicts from one RM version (rm-v1 first,
 * rm-v2 after), an `rm_version_change` event, the anchors re-judged on rm-v2 at once with the drift between the
 * versions (mean shift, Kendall τ), and the new version on the coordinator's /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { parseExposition, sampleSum, sampleValue } from '../metrics/helpers.js';
import { within } from './helpers.js';

const BIN = join(PROJECT_ROOT, 'bin', 'vr-grpo.js');
const TOKEN = 'swap-judge-token';
const ADMIN = 'swap-admin-token';
const STEPS = 30;
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-train-swap-')));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await within(exited, 'a child to exit', 20_000).catch(() => c.kill('SIGKILL'));
  }
  rmSync(base, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const { VRGRPO_ADMIN_TOKEN: _admin, ...rest } = process.env;
  return { ...rest, VRGRPO_TOKEN: TOKEN, VRGRPO_LOG_LEVEL: 'warn', ...extra };
};

/** Spawns `vr-grpo <args>`; `output()` is everything it printed so far. */
function start(args: readonly string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Polls `read` every 50 ms until it returns a value (bounded by `ms`). */
async function until<T>(what: string, ms: number, read: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await read();
    if (v !== null) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const scrape = (url: string): Promise<string | null> =>
  fetch(`${url}metrics`)
    .then((r) => (r.ok ? r.text() : null))
    .catch(() => null);

const lines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('an RM swap in the middle of a real training run', () => {
  it('switches rm-v1 → rm-v2 through the CLI with no failed judgment, no mixed group, and a drift report', async () => {
    const server = start(['serve-reward', '--port', '0', '--checkpoint', 'models/rm-v1', '--artifact-root', base], { VRGRPO_ADMIN_TOKEN: ADMIN });
    const url = await until('serve-reward to listen', 90_000, () => /^listening (ws:\/\/\S+)$/m.exec(server.output())?.[1] ?? null);

    const config = join(base, 'train.yaml');
    writeFileSync(
      config,
      [
        `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
        `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 0, evalPrompts: 16, checkpointEvery: 100, videosEvery: 0, tracesEvery: 0 }`,
        `reward: { servers: [${JSON.stringify(url)}] }`,
        'monitoring:',
        '  drift: { anchors: { every: 0, prompts: 2, groupSize: 4 } }',
        '',
      ].join('\n'),
    );
    const runDir = join(base, 'run');
    const train = start(['train', '--config', config, '--run-dir', runDir, '--metrics-port', '0']);
    const dashboard = await until('the dashboard URL', 90_000, () => /dashboard (http:\/\/\S+\/) /.exec(train.output())?.[1] ?? null);
    const swapStep = await until('training to pass step 3', 120_000, async () => {
      const text = await scrape(dashboard);
      const step = text === null ? NaN : sampleValue(parseExposition(text), 'vrgrpo_step');
      return step >= 3 ? step : null;
    });
    expect(swapStep).toBeLessThan(STEPS);

    const swap = start(['rm', 'swap', '--server', url, '--checkpoint', 'models/rm-v2'], { VRGRPO_ADMIN_TOKEN: ADMIN });
    expect(await within(swap.exited, 'rm swap', 60_000), swap.output()).toBe(0);
    expect(JSON.parse(swap.output())).toMatchObject({ type: 'checkpoint_swapped', rmVersion: 'rm-v2', previousVersion: 'rm-v1' });
    // The coordinator's /metrics follows: the server's version, then verdicts of rm-v2.
    const after = await until('rm-v2 on the coordinator /metrics', 120_000, async () => {
      if (train.child.exitCode !== null) throw new Error(`train ended before /metrics showed rm-v2:\n${train.output()}`);
      const text = await scrape(dashboard);
      if (text === null) return null;
      const s = parseExposition(text);
      return sampleSum(s, 'vrgrpo_verdict_rm_version_info', { rm_version: 'rm-v2' }) === 1 ? s : null;
    });
    expect(after.filter((x) => x.name === 'vrgrpo_reward_server_info' && x.labels.rm_version === 'rm-v2')).toHaveLength(1);
    expect(sampleValue(after, 'vrgrpo_reward_server_rm_changes_total')).toBe(1);

    expect(await within(train.exited, 'train to finish', 240_000), train.output()).toBe(0);
    const steps = lines(join(runDir, 'metrics.jsonl')).filter((r) => (r.step as number) > 0);
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    for (const r of steps) {
      expect(r.failedJudgments).toBe(0);
      expect(r.droppedGroups).toBe(0);
      expect(r.maskedVideos).toBe(0);
      expect((r.rmVersions as string[]).length).toBe(1); // one version per step, so per group
    }
    const versions = steps.map((r) => (r.rmVersions as string[])[0]);
    const firstV2 = versions.indexOf('rm-v2');
    expect(firstV2).toBeGreaterThan(0);
    expect(versions.slice(0, firstV2).every((v) => v === 'rm-v1')).toBe(true);
    expect(versions.slice(firstV2).every((v) => v === 'rm-v2')).toBe(true);

    const events = lines(join(runDir, 'events.jsonl'));
    const change = events.find((e) => e.event === 'rm_version_change');
    expect(change).toMatchObject({ step: firstV2 + 1, from: ['rm-v1'], to: ['rm-v2'] });
    const anchors = events.filter((e) => e.event === 'anchors');
    expect(anchors.map((e) => e.reason)).toEqual(['start', 'rm_version_change']);
    const report = anchors[1] as { rmVersions: string[]; failedJudgments: number; sincePrevious: { rmVersions: string[]; meanShift: Record<string, number>; kendallTau: Record<string, number> } };
    expect(report.rmVersions).toEqual(['rm-v2']);
    expect(report.failedJudgments).toBe(0);
    expect(report.sincePrevious.rmVersions).toEqual(['rm-v1']);
    for (const d of ['combined', 'TA', 'MQ', 'VQ', 'overall']) {
      expect(Number.isFinite(report.sincePrevious.meanShift[d])).toBe(true);
      expect(report.sincePrevious.kendallTau[d]).toBeGreaterThanOrEqual(-1);
    }
    // The step line of the change carries the same report for the dashboard.
    expect((steps[firstV2]?.anchors as { reason: string } | undefined)?.reason).toBe('rm_version_change');
  }, 360_000);
});
