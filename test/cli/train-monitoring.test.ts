/**
 * `vr-grpo train` as users run it, shortened: a child process with two local reward servers (real ONNX judge), its
 * HTTP port on a free port. While it trains, `/metrics` is scraped (and must pass `promtool check metrics`), `/healthz`
 * and the dashboard page answer; afterwards the run folder holds the anchor passes, the drift gauges in every step line
 * and the verdicts' RM version. Then `--resume` continues and refills the dashboard from the run folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { SKIP_PROMTOOL, parseExposition, runPromtool, sampleSum, sampleValue } from '../metrics/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-train-mon-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const STEPS = 6;
const configFile = join(dir, 'train.yaml');
writeFileSync(
  configFile,
  [
    `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
    `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))} }`,
    `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 3, evalPrompts: 16, checkpointEvery: 3, videosEvery: 3, tracesEvery: 3 }`,
    'reward: { localServers: 2 }',
    'monitoring:',
    '  drift: { referenceSteps: 2, recentSteps: 2, anchors: { every: 3, prompts: 2, groupSize: 2 } }',
    '',
  ].join('\n'),
);

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `vr-grpo train` and resolves with the dashboard URL it prints (bounded). */
function startTrain(args: readonly string[]): Promise<Started> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'train', '--config', configFile, '--metrics-port', '0', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, VRGRPO_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  void exited.then(() => clearTimeout(timer));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /dashboard (http:\/\/\S+\/) /.exec(out);
      if (m?.[1] !== undefined) {
        clearInterval(poll);
        resolve({ child, url: m[1], output: () => out, exited });
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      reject(new Error(`train exited (${String(code)}) before printing its dashboard URL:\n${out}`));
    });
  });
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

const lines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('vr-grpo train: live monitoring on its HTTP port', () => {
  const runDir = join(dir, 'run');

  it('serves /metrics (promtool-clean), /healthz and the page while it trains; the run folder holds the drift record', async () => {
    const run = await startTrain(['--run-dir', runDir]);
    // Mid-run: a scrape after step 2 (bounded: 600 polls of 100 ms).
    let scrape = '';
    for (let i = 0; i < 600; i++) {
      const r = await get(`${run.url}metrics`).catch(() => null);
      if (r !== null && r.status === 200 && /^vrgrpo_step ([2-9]|\d\d)/m.test(r.text)) {
        scrape = r.text;
        break;
      }
      if (run.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(scrape, run.output()).not.toBe('');
    const health = await get(`${run.url}healthz`);
    expect(health.status).toBe(200);
    const page = await get(run.url);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    expect(await run.exited, run.output()).toBe(0);

    const samples = parseExposition(scrape);
    expect(sampleValue(samples, 'vrgrpo_run_active')).toBe(1);
    expect(sampleSum(samples, 'vrgrpo_reward_count', { dimension: 'combined' })).toBeGreaterThanOrEqual(2 * 16);
    // Both local reward servers are known, each with its RM version.
    expect(samples.filter((s) => s.name === 'vrgrpo_reward_server_info' && s.labels.rm_version === 'rm-v2' && s.value === 1)).toHaveLength(2);
    // The anchor pass at the start set the anchor gauges.
    expect(sampleValue(samples, 'vrgrpo_drift_anchor_mean', { dimension: 'TA' })).toBeGreaterThan(0);
    if (!SKIP_PROMTOOL) {
      const check = await runPromtool(['check', 'metrics'], { stdin: scrape });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.code).toBe(0);
    }

    const events = lines(join(runDir, 'events.jsonl'));
    const anchorSteps = events.filter((e) => e.event === 'anchors').map((e) => e.step);
    expect(anchorSteps).toEqual([0, 3, 6]);
    const steps = lines(join(runDir, 'metrics.jsonl')).filter((r) => (r.step as number) > 0);
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of steps) expect(r.rmVersions).toEqual(['rm-v2']);
    // PSI needs the reference and recent windows full (2 + 2 steps): from step 4 on, for every dimension.
    const psi = (r: Record<string, unknown>): Record<string, number> => ((r.drift as Record<string, unknown>).psi ?? {}) as Record<string, number>;
    expect(Object.keys(psi(steps[2] ?? {}))).toEqual([]);
    expect(Object.keys(psi(steps[3] ?? {})).sort()).toEqual(['MQ', 'TA', 'VQ', 'combined', 'overall']);
    const anchored = steps.find((r) => r.step === 3)?.anchors as Record<string, unknown> | undefined;
    expect(anchored?.reason).toBe('scheduled');
    expect((anchored?.kendallTau as Record<string, number>).TA).toBeGreaterThan(-1.0001);
  });

  it('--resume continues the run and the dashboard shows the steps from before the restart', async () => {
    const run = await startTrain(['--resume', runDir, '--steps', String(STEPS + 2)]);
    let history: { steps: { step: number }[] } | null = null;
    for (let i = 0; i < 600 && history === null; i++) {
      const r = await get(`${run.url}api/history`).catch(() => null);
      if (r !== null && r.status === 200) {
        const body = JSON.parse(r.text) as { steps: { step: number }[] };
        if (body.steps.some((s) => s.step === STEPS)) history = body;
      }
      if (history === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(history?.steps.map((s) => s.step).slice(0, STEPS + 1)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await run.exited, run.output()).toBe(0);
    const steps = lines(join(runDir, 'metrics.jsonl')).map((r) => r.step);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
