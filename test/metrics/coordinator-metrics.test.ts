/**
 * CoordinatorMetrics: fed by a real short coordinator run (embedded generator, fake judge) through `onStep`, its
 * exposition passes `promtool check metrics` and carries the values of metrics.jsonl; plus the pieces a run does not
 * exercise (RM versions per server, drift gauges and trips, the sliding hallucination window, bad records).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import { worldRun } from '../../src/job/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { CoordinatorMetrics } from '../../src/metrics/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { SKIP_PROMTOOL, expectPromtoolCleanMetrics, parseExposition, sampleSum, sampleValue, type Sample } from './helpers.js';
import { v1Config } from '../world-v1.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-coord-metrics-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function scrape(m: CoordinatorMetrics): Promise<{ text: string; samples: Sample[] }> {
  const { body } = await m.exposition();
  return { text: body, samples: parseExposition(body) };
}

/** A step record shaped like the coordinator's (src/coordinator/coordinator.ts `metrics()`). */
function record(step: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    step,
    prompts: 2,
    videos: 8,
    reward: { combined: 0.6, TA: 0.5, MQ: 0.7, VQ: 0.8, overall: 0.55 },
    rewardStd: { combined: 0.2, TA: 0.25, MQ: 0.1, VQ: 0.05, overall: 0.3 },
    goldAccuracy: 0.7,
    goldQuality: 0.8,
    advantageAbsMean: 0.9,
    zeroStdRatio: 0.5,
    maskedVideos: 1,
    droppedGroups: 0,
    judgments: 12,
    failedJudgments: 2,
    failuresByCode: { JUDGE_FAILED: 1, OVERLOADED: 1 },
    framesViewedPerJudgment: 9.5,
    toolCallsPerJudgment: 1.5,
    hallucinations: { unseen_frame_reference: 3, order_flip: 1 },
    rmVersions: ['rm-v2'],
    kl: 0.01,
    approxKl: 0.001,
    policyLoss: -0.02,
    clipFracHigh: 0.1,
    clipFracLow: 0.05,
    ratioMean: 1,
    ratioStd: 0.01,
    onPolicyMaxRatioDeviation: 0,
    gradNorm: 0.3,
    timing: { generateMs: 1500, judgeMs: 250, updateMs: 40 },
    ...overrides,
  };
}

describe('a real short coordinator run', () => {
  let metrics: CoordinatorMetrics;
  let rows: Record<string, unknown>[];
  const dir = join(root, 'run');

  beforeAll(async () => {
    await chooseTensorBackend('auto');
    const config = v1Config({
      reward: { mode: 'pairwise' },
      training: {
        groupSize: 4,
        promptsPerStep: 2,
        steps: 2,
        evalEvery: 0,
        evalPrompts: 8,
        checkpointEvery: 2,
        videosEvery: 0,
        tracesEvery: 0,
        pipelineStaleness: 0,
      },
    });
    const generator = await EmbeddedGenerator.create({
      config,
      trainer: constantTrainerOptionsFrom(config),
    });
    metrics = new CoordinatorMetrics();
    // Judgment 3 of each step fails, so failures by code and masked counts have something to show.
    const judge = new FakeJudge((call) => call % 12 === 3);
    try {
      const coordinator = await Coordinator.create({
        config,
        runDir: dir,
        generator,
        ...worldRun(config, generator),
        judge,
        log: silentLogger(),
        onStep: (m) => metrics.recordStep(m),
      });
      await coordinator.runLoop();
      metrics.runFinished();
    } finally {
      await generator.close();
    }
    rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  });

  it.skipIf(SKIP_PROMTOOL)('passes promtool check metrics', async () => {
    await expectPromtoolCleanMetrics((await scrape(metrics)).text);
  });

  it('carries the values the run wrote to metrics.jsonl', async () => {
    const { samples } = await scrape(metrics);
    const steps = rows.filter((r) => (r.step as number) > 0);
    expect(steps).toHaveLength(2);
    const last = steps[1] ?? {};
    const sum = (k: string): number => steps.reduce((s, r) => s + (r[k] as number), 0);
    expect(sampleValue(samples, 'vrgrpo_step')).toBe(2);
    expect(sampleValue(samples, 'vrgrpo_run_active')).toBe(0);
    expect(sampleValue(samples, 'vrgrpo_reward_mean', { dimension: 'combined' })).toBeCloseTo((last.reward as Record<string, number>).combined ?? NaN, 12);
    expect(sampleValue(samples, 'vrgrpo_reward_std', { dimension: 'TA' })).toBeCloseTo((last.rewardStd as Record<string, number>).TA ?? NaN, 12);
    expect(sampleValue(samples, 'vrgrpo_gold_accuracy')).toBeCloseTo(last.goldAccuracy as number, 12);
    expect(sampleValue(samples, 'vrgrpo_policy_grad_norm')).toBeCloseTo(last.gradNorm as number, 12);
    expect(sampleValue(samples, 'vrgrpo_policy_kl')).toBeCloseTo(last.kl as number, 12);
    expect(sampleValue(samples, 'vrgrpo_judgments_total', { outcome: 'ok' }) + sampleValue(samples, 'vrgrpo_judgments_total', { outcome: 'failed' })).toBe(
      sum('judgments'),
    );
    expect(sampleValue(samples, 'vrgrpo_judgments_total', { outcome: 'failed' })).toBe(sum('failedJudgments'));
    expect(sum('failedJudgments')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'vrgrpo_judgment_failures_total', { code: 'JUDGE_FAILED' })).toBe(sum('failedJudgments'));
    expect(sampleValue(samples, 'vrgrpo_videos_total')).toBe(sum('videos'));
    expect(sampleValue(samples, 'vrgrpo_masked_videos_total', { reason: 'no_successful_judgment' })).toBe(sum('maskedVideos'));
    expect(sampleValue(samples, 'vrgrpo_steps_total', { outcome: 'updated' })).toBe(2);
    // Stage durations: one observation per step and stage, in seconds.
    expect(sampleValue(samples, 'vrgrpo_stage_duration_seconds_count', { stage: 'judge' })).toBe(2);
    const judgeSeconds = steps.reduce((s, r) => s + (r.timing as { judgeMs: number }).judgeMs, 0) / 1000;
    expect(sampleValue(samples, 'vrgrpo_stage_duration_seconds_sum', { stage: 'judge' })).toBeCloseTo(judgeSeconds, 9);
    expect(sampleValue(samples, 'vrgrpo_verdict_rm_version_info', { rm_version: 'fake-v1' })).toBe(1);
    expect(sampleValue(samples, 'vrgrpo_hallucination_window_judgments')).toBe(sum('judgments') - sum('failedJudgments'));
    const now = Date.now() / 1000;
    expect(sampleValue(samples, 'vrgrpo_last_step_timestamp_seconds')).toBeGreaterThan(now - 600);
    expect(sampleValue(samples, 'vrgrpo_last_step_timestamp_seconds')).toBeLessThanOrEqual(now);
  });

  it('uses its own registry, never the global default', () => {
    expect(globalRegistry.getMetricsAsArray()).toEqual([]);
    expect(metrics.registry).not.toBe(globalRegistry);
  });
});

describe('CoordinatorMetrics pieces', () => {
  let piecesText = '';

  it('records a step, rewards per video, held-out accuracy and the step-0 record', async () => {
    let now = 1_700_000_000_000;
    const m = new CoordinatorMetrics({ now: () => now });
    expect(sampleValue((await scrape(m)).samples, 'vrgrpo_last_step_timestamp_seconds')).toBe(1_700_000_000);
    m.recordStep({
      step: 0,
      heldOutGoldAccuracy: 0.42,
      heldOut: { split: 'heldout', prompts: 50, accuracy: 0.42, allCorrect: 0.1, perAttribute: { color: 0.5 }, quality: 0.8 },
    });
    now += 5_000;
    m.recordStep(record(1));
    m.recordRewards({ combined: [0.1, 0.95, NaN], TA: [0, 1] });
    const { samples, text } = await scrape(m);
    expect(sampleValue(samples, 'vrgrpo_heldout_gold_accuracy')).toBe(0.42);
    expect(sampleValue(samples, 'vrgrpo_last_step_timestamp_seconds')).toBe(1_700_000_005);
    expect(sampleValue(samples, 'vrgrpo_step')).toBe(1);
    expect(sampleValue(samples, 'vrgrpo_policy_clip_fraction', { side: 'low' })).toBe(0.05);
    expect(sampleValue(samples, 'vrgrpo_stage_duration_seconds_sum', { stage: 'generate' })).toBe(1.5);
    expect(sampleValue(samples, 'vrgrpo_judgments_total', { outcome: 'ok' })).toBe(10);
    expect(sampleValue(samples, 'vrgrpo_judgment_failures_total', { code: 'OVERLOADED' })).toBe(1);
    expect(sampleValue(samples, 'vrgrpo_hallucinations_total', { kind: 'unseen_frame_reference' })).toBe(3);
    expect(sampleValue(samples, 'vrgrpo_hallucinations_per_judgment', { kind: 'unseen_frame_reference' })).toBeCloseTo(0.3, 12);
    expect(sampleValue(samples, 'vrgrpo_hallucinations_per_judgment', { kind: 'audit_disagreement' })).toBe(0);
    // NaN (masked) rewards are not observed.
    expect(sampleValue(samples, 'vrgrpo_reward_count', { dimension: 'combined' })).toBe(2);
    expect(sampleValue(samples, 'vrgrpo_reward_bucket', { dimension: 'combined', le: '0.1' })).toBe(1);
    expect(sampleValue(samples, 'vrgrpo_reward_bucket', { dimension: 'TA', le: '0' })).toBe(1);
    piecesText = text;
  });

  it.skipIf(SKIP_PROMTOOL)('that exposition passes promtool check metrics', async () => {
    await expectPromtoolCleanMetrics(piecesText);
  });

  it('keeps the hallucination rate over the last N judgments only', async () => {
    const m = new CoordinatorMetrics({ hallucinationWindow: 20 });
    m.recordStep(record(1, { judgments: 10, failedJudgments: 0, failuresByCode: {}, hallucinations: { order_flip: 10 } }));
    m.recordStep(record(2, { judgments: 10, failedJudgments: 0, failuresByCode: {}, hallucinations: {} }));
    let s = (await scrape(m)).samples;
    expect(sampleValue(s, 'vrgrpo_hallucinations_per_judgment', { kind: 'order_flip' })).toBeCloseTo(0.5, 12);
    m.recordStep(record(3, { judgments: 10, failedJudgments: 0, failuresByCode: {}, hallucinations: {} }));
    s = (await scrape(m)).samples;
    expect(sampleValue(s, 'vrgrpo_hallucinations_per_judgment', { kind: 'order_flip' })).toBe(0);
    expect(sampleValue(s, 'vrgrpo_hallucination_window_judgments')).toBe(20);
    expect(sampleValue(s, 'vrgrpo_hallucinations_total', { kind: 'order_flip' })).toBe(10);
  });

  it('tracks the RM version of each reward server and counts swaps (no credentials in labels)', async () => {
    const m = new CoordinatorMetrics();
    m.setRmVersions(
      new Map([
        ['ws://user:secret@10.0.0.1:9470/?token=x', 'rm-v1'],
        ['ws://10.0.0.2:9470', null],
      ]),
    );
    m.setRmVersions(
      new Map([
        ['ws://user:secret@10.0.0.1:9470/?token=x', 'rm-v1'],
        ['ws://10.0.0.2:9470', 'rm-v1'],
      ]),
    );
    m.setRmVersions(
      new Map([
        ['ws://user:secret@10.0.0.1:9470/?token=x', 'rm-v2'],
        ['ws://10.0.0.2:9470', 'rm-v1'],
      ]),
    );
    const { samples, text } = await scrape(m);
    expect(text).not.toContain('secret');
    expect(text).not.toContain('token');
    expect(sampleValue(samples, 'vrgrpo_reward_server_info', { server: 'ws://10.0.0.1:9470' })).toBe(1);
    expect(
      samples
        .filter((s) => s.name === 'vrgrpo_reward_server_info')
        .map((s) => `${s.labels.server} ${s.labels.rm_version}`)
        .sort(),
    ).toEqual(['ws://10.0.0.1:9470 rm-v2', 'ws://10.0.0.2:9470 rm-v1']);
    expect(sampleValue(samples, 'vrgrpo_reward_server_rm_changes_total', { server: 'ws://10.0.0.1:9470' })).toBe(1);
    expect(sampleValue(samples, 'vrgrpo_reward_server_rm_changes_total', { server: 'ws://10.0.0.2:9470' })).toBe(0);
  });

  it('exports drift gauges and trip counters with bounded names and dimensions', async () => {
    const m = new CoordinatorMetrics();
    m.setDriftGauge('psi', 0.31);
    m.setDriftGauge('anchor_kendall_tau', 0.8, { dimension: 'TA' });
    m.setDriftGauge('proxy_gold_divergence', 0.12);
    m.driftTripped('psi');
    m.driftTripped('psi');
    const { samples } = await scrape(m);
    expect(sampleValue(samples, 'vrgrpo_drift_psi', { dimension: 'combined' })).toBe(0.31);
    expect(sampleValue(samples, 'vrgrpo_drift_anchor_kendall_tau', { dimension: 'TA' })).toBe(0.8);
    expect(sampleValue(samples, 'vrgrpo_drift_proxy_gold_divergence')).toBe(0.12);
    expect(sampleValue(samples, 'vrgrpo_drift_trips_total', { detector: 'psi' })).toBe(2);
    expect(sampleValue(samples, 'vrgrpo_drift_trips_total', { detector: 'page_hinkley' })).toBe(0);
    expect(sampleSum(samples, 'vrgrpo_drift_trips_total')).toBe(2);
    expect(() => m.setDriftGauge('nope' as 'psi', 1)).toThrow(/unknown drift gauge/);
    expect(() => m.setDriftGauge('psi', 1, { dimension: 'prompt text' as 'TA' })).toThrow(/unknown dimension/);
    expect(() => m.driftTripped('anchor_mean' as 'psi')).toThrow(/unknown drift detector/);
  });

  it('refuses records with a wrong type or an unbounded label value, naming the field', () => {
    const m = new CoordinatorMetrics();
    const refused = (r: Record<string, unknown>): string => {
      try {
        m.recordStep(r);
      } catch (e) {
        if (isVrGrpoError(e, 'INVALID_ARGUMENT')) return e.message;
        throw e;
      }
      return 'accepted';
    };
    expect(refused(record(1, { reward: { combined: 0.5, 'a red ball': 0.3 } }))).toMatch(/^reward/);
    expect(refused(record(1, { hallucinations: { made_up: 1 } }))).toMatch(/^hallucinations/);
    expect(refused(record(1, { failuresByCode: { 'not a code': 1 } }))).toMatch(/^failuresByCode/);
    expect(refused(record(1, { timing: { judgeMs: 'slow' } }))).toMatch(/^timing\.judgeMs/);
    expect(refused({ reward: {} })).toMatch(/^step/);
    expect(refused(record(1))).toBe('accepted');
  });
});
