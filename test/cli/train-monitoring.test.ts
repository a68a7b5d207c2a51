/**
 * `vr-grpo train` as users run it, shortened: a child process with two local reward servers (real ONNX judge), its
 * HTTP port on a free port. While it trains, `/metrics` is scraped (and must pass `promtool check metrics`), `/healthz`
 * and the dashboard page answer; afterwards the run folder holds the anchor passes, the drift gauges in every step line
 * and the verdicts' RM version. Then `--resume` continues and refills the dashboard from the run folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { SKIP_PROMTOOL, expectDeclaredStepRecords, expectPromtoolCleanMetrics, parseExposition, sampleSum, sampleValue } from '../metrics/helpers.js';
import { CliChildren, dashboardUrl, jsonLines, until, type CliChild } from './child.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-train-mon-'));
const children = new CliChildren();
afterAll(async () => {
  await children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const STEPS = 6;
const configFile = join(dir, 'train.yaml');
writeFileSync(
  configFile,
  [
    // The default world (v2) and judging (pairwise thinking, adaptive plan); paths absolute, as this file is not in configs/.
    `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base-v2'))} }`,
    `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'judge-v2', 'grpo-no-cot-gain'))} }`,
    `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 3, evalPrompts: 16, checkpointEvery: 3, videosEvery: 3, tracesEvery: 3 }`,
    'reward: { localServers: 2 }',
    'monitoring:',
    '  drift: { referenceSteps: 2, recentSteps: 2, anchors: { every: 3, prompts: 2, groupSize: 2 } }',
    '',
  ].join('\n'),
);

/** Starts `vr-grpo train` and resolves once it printed its dashboard URL (bounded). */
async function startTrain(args: readonly string[]): Promise<CliChild & { readonly url: string }> {
  const run = children.start(['train', '--config', configFile, '--metrics-port', '0', ...args]);
  const url = await until('the dashboard URL', 120_000, () => {
    if (run.child.exitCode !== null) throw new Error(`train exited before printing its dashboard URL:\n${run.output()}`);
    return dashboardUrl(run.output());
  });
  return { ...run, url };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

describe('vr-grpo train: live monitoring on its HTTP port', () => {
  const runDir = join(dir, 'run');

  let midRunScrape = '';

  it('serves /metrics, /healthz and the page while it trains; the run folder holds the drift record', async () => {
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
    expect(samples.filter((s) => s.name === 'vrgrpo_reward_server_info' && s.labels.rm_version === 'grpo-no-cot-gain' && s.value === 1)).toHaveLength(2);
    // The anchor pass at the start set the anchor gauges.
    expect(sampleValue(samples, 'vrgrpo_drift_anchor_mean', { dimension: 'TA' })).toBeGreaterThan(0);
    midRunScrape = scrape;

    const events = jsonLines(join(runDir, 'events.jsonl'));
    const anchorSteps = events.filter((e) => e.event === 'anchors').map((e) => e.step);
    expect(anchorSteps).toEqual([0, 3, 6]);
    const lines = jsonLines(join(runDir, 'metrics.jsonl'));
    expectDeclaredStepRecords(lines);
    const steps = lines.filter((r) => (r.step as number) > 0);
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of steps) expect(r.rmVersions).toEqual(['grpo-no-cot-gain']);
    // The summary names the judge and what kind it is.
    expect(run.output()).toMatch(/judge: grpo-no-cot-gain \(learned judge: trained frame-selection policy over its perception model; /);
    // The default judging: pairwise thinking — comparisons that call select_frames and view more than the initial 8 frames.
    expect(steps.reduce((s, r) => s + (r.toolCallsPerJudgment as number), 0) / steps.length).toBeGreaterThan(0.5);
    expect(steps.reduce((s, r) => s + (r.framesViewedPerJudgment as number), 0) / steps.length).toBeGreaterThan(8);
    // PSI needs the reference and recent windows full (2 + 2 steps): from step 4 on, for every dimension.
    const psi = (r: Record<string, unknown>): Record<string, number> => ((r.drift as Record<string, unknown>).psi ?? {}) as Record<string, number>;
    expect(Object.keys(psi(steps[2] ?? {}))).toEqual([]);
    expect(Object.keys(psi(steps[3] ?? {})).sort()).toEqual(['MQ', 'TA', 'VQ', 'combined', 'overall']);
    const anchored = steps.find((r) => r.step === 3)?.anchors as Record<string, unknown> | undefined;
    expect(anchored?.reason).toBe('scheduled');
    expect((anchored?.kendallTau as Record<string, number>).TA).toBeGreaterThan(-1.0001);
  });

  it.skipIf(SKIP_PROMTOOL)('the mid-run scrape passes promtool check metrics', async () => {
    await expectPromtoolCleanMetrics(midRunScrape);
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
    const steps = jsonLines(join(runDir, 'metrics.jsonl')).map((r) => r.step);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
