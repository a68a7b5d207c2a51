/**
 * A hot swap during a real training run, as users do it: `vr-grpo serve-reward` (rm-v1, admin token) and `vr-grpo
 * train` against it as child processes; once training has passed step 3, `vr-grpo rm swap --checkpoint models/rm-v2`.
 * The run must finish with no failed or dropped judgments, every group's rewards from one RM version (rm-v1 first,
 * rm-v2 after), one `rm_version_change` event, the anchors re-judged on rm-v2 at once with the drift between the
 * versions (mean shift, Kendall τ), and the new version on the coordinator's /metrics.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { CliChildren, dashboardUrl, getText, jsonLines, listeningUrl, until } from '../cli/child.js';
import { expectDeclaredStepRecords, parseExposition, sampleSum, sampleValue } from '../metrics/helpers.js';
import { within } from './helpers.js';

const TOKEN = 'swap-judge-token';
const ADMIN = 'swap-admin-token';
const STEPS = 30;
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-train-swap-')));
const children = new CliChildren();

afterAll(async () => {
  await children.killAll();
  rmSync(base, { recursive: true, force: true });
});

/** The judging token for every child, and no admin token unless given (so a swap without one is really without). */
const start = (args: readonly string[], extra: Record<string, string> = {}): ReturnType<CliChildren['start']> =>
  children.start(args, { VRGRPO_ADMIN_TOKEN: undefined, VRGRPO_TOKEN: TOKEN, ...extra });

const scrape = (url: string): Promise<string | null> => getText(`${url}metrics`);

describe('an RM swap in the middle of a real training run', () => {
  it('switches rm-v1 → rm-v2 through the CLI with no failed judgment, no mixed group, and a drift report', async () => {
    const server = start(['serve-reward', '--port', '0', '--checkpoint', 'models/rm-v1', '--artifact-root', base], { VRGRPO_ADMIN_TOKEN: ADMIN });
    const url = await until('serve-reward to listen', 90_000, () => listeningUrl(server.output()));

    const config = join(base, 'train.yaml');
    writeFileSync(
      config,
      [
        'world: { version: 1, frames: 24 }', // world v1 (24 frames) and its base, with pointwise rewards, as when this test was written
        `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
        `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 0, evalPrompts: 16, checkpointEvery: 100, videosEvery: 0, tracesEvery: 0 }`,
        `reward: { mode: pointwise, servers: [${JSON.stringify(url)}] }`,
        'monitoring:',
        '  drift: { anchors: { every: 0, prompts: 2, groupSize: 4 } }',
        '',
      ].join('\n'),
    );
    const runDir = join(base, 'run');
    const train = start(['train', '--config', config, '--run-dir', runDir, '--metrics-port', '0']);
    const dashboard = await until('the dashboard URL', 90_000, () => dashboardUrl(train.output()));
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
    const lines = jsonLines(join(runDir, 'metrics.jsonl'));
    expectDeclaredStepRecords(lines);
    const steps = lines.filter((r) => (r.step as number) > 0);
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    for (const r of steps) {
      expect(r.failedJudgments).toBe(0);
      expect(r.droppedGroups).toBe(0);
      expect(r.maskedVideos).toBe(0);
      // One RM version behind every group (groups of the step the swap lands in may differ from each other).
      expect((r.groupRmVersions as string[]).every((v) => v === 'rm-v1' || v === 'rm-v2')).toBe(true);
    }
    // In step order, every group before the swap on rm-v1, every group after it on rm-v2.
    const groups = steps.flatMap((r) => r.groupRmVersions as string[]);
    const firstGroupV2 = groups.indexOf('rm-v2');
    expect(firstGroupV2).toBeGreaterThan(0);
    expect(groups.slice(0, firstGroupV2).every((v) => v === 'rm-v1')).toBe(true);
    const firstV2 = steps.findIndex((r) => (r.rmVersions as string[]).includes('rm-v2'));
    expect(steps.slice(firstV2 + 1).every((r) => (r.groupRmVersions as string[]).every((v) => v === 'rm-v2'))).toBe(true);
    expect(steps.slice(0, firstV2).every((r) => (r.groupRmVersions as string[]).every((v) => v === 'rm-v1'))).toBe(true);

    const events = jsonLines(join(runDir, 'events.jsonl'));
    const change = events.find((e) => e.event === 'rm_version_change');
    expect(change).toMatchObject({ step: firstV2 + 1, from: ['rm-v1'] });
    expect((change?.to as string[]).includes('rm-v2')).toBe(true);
    expect(events.filter((e) => e.event === 'rm_version_change')).toHaveLength(1);
    const anchors = events.filter((e) => e.event === 'anchors');
    expect(anchors.map((e) => e.reason)).toEqual(['start', 'rm_version_change']);
    const report = anchors[1] as {
      rmVersions: string[];
      failedJudgments: number;
      sincePrevious: { rmVersions: string[]; meanShift: Record<string, number>; kendallTau: Record<string, number> };
    };
    expect(report.rmVersions).toEqual(['rm-v2']);
    expect(report.failedJudgments).toBe(0);
    expect(report.sincePrevious.rmVersions).toEqual(['rm-v1']);
    for (const d of ['combined', 'TA', 'MQ', 'VQ', 'overall']) {
      expect(Number.isFinite(report.sincePrevious.meanShift[d])).toBe(true);
      expect(report.sincePrevious.kendallTau[d]).toBeGreaterThanOrEqual(-1);
    }
    // The swap is calibrated (the default) on the anchors and on the recent groups rm-v2 shadow-scored: the newest
    // group of each recent prompt (capacity 8, the run's 4-prompt steps), all points of one global map (no per-prompt
    // fits by default).
    const calibrations = events.filter((e) => e.event === 'reward_calibration');
    expect(calibrations).toHaveLength(1);
    const calibration = calibrations[0] as {
      applied: boolean;
      anchors: number;
      shadowGroups: number;
      promptFits: number;
      shadow: { groups: number; skipped: number };
    };
    expect(calibration).toMatchObject({ applied: true, anchors: 8 });
    expect(calibration.shadow.groups).toBeGreaterThanOrEqual(4);
    expect(calibration.shadow.groups + calibration.shadow.skipped).toBeLessThanOrEqual(8);
    expect(calibration.shadowGroups).toBe(calibration.shadow.groups);
    expect(calibration.promptFits).toBe(0);
    // The step line of the change carries the same report for the dashboard.
    expect((steps[firstV2]?.anchors as { reason: string } | undefined)?.reason).toBe('rm_version_change');
  }, 360_000);
});
