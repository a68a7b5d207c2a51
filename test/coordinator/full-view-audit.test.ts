/**
 * The full-view audit of clips longer than one view (src/coordinator/audit-monitor.ts): the training judge re-judges
 * the audited videos in interleaved views (`initialView`) that together show every frame, and each video scores its
 * lowest view — a defect in frames one view leaves out still counts.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { AuditMonitor, type AuditStepSummary, type TrainingAudit } from '../../src/coordinator/audit-monitor.js';
import type { GroupRewards, JudgeClient, RewardSettings } from '../../src/coordinator/reward-collector.js';
import { rewardSettingsFromConfig } from '../../src/coordinator/reward-collector.js';
import type { RawVideo } from '../../src/media/index.js';
import { CoordinatorMetrics } from '../../src/metrics/index.js';
import { parseStepRecord } from '../../src/metrics/step-record.js';
import type { PoolJudgeRequest, PooledVerdict } from '../../src/reward-client/pool.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';

/** A `frames`-frame 2×2 clip; `bad` frames are dark (a defect a view either shows or not). */
const clip = (frames: number, bad: readonly number[] = []): RawVideo => {
  const data = new Uint8Array(frames * 12).fill(200);
  for (const f of bad) data.fill(0, f * 12, (f + 1) * 12);
  return { width: 2, height: 2, frameCount: frames, fps: 8, data };
};

/** Pointwise: the score is the darkest initial frame's brightness / 255 (a judge that penalises what it sees). */
class DarkFrameJudge implements JudgeClient {
  readonly views: (PoolJudgeRequest['options'] & object)['initialView'][] = [];
  readonly #fake = new FakeJudge();
  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const r = await this.#fake.judge(request);
    const o = request.options ?? {};
    this.views.push(o.initialView);
    const view = o.initialView ?? { index: 0, of: 1 };
    const scores = request.videos.map((video) => {
      const v = video as RawVideo;
      let darkest = 255;
      for (let f = view.index; f < v.frameCount; f += view.of) darkest = Math.min(darkest, v.data[f * 12] ?? 255);
      const s = darkest / 255;
      return { TA: s, MQ: s, VQ: s, overall: s };
    });
    return { ...r, verdict: { ...r.verdict, scores } };
  }
}

async function audit(frames: number, bad: readonly number[]): Promise<{ judge: DarkFrameJudge; summary: AuditStepSummary | null }> {
  const config = v1Config({ monitoring: { audit: { fullView: { enabled: true, initialFrames: 32 }, fraction: 1 } } });
  const settings: RewardSettings = { ...rewardSettingsFromConfig(config), mode: 'pointwise', weights: { TA: 0, MQ: 0, VQ: 0, overall: 1 } };
  const judge = new DarkFrameJudge();
  let summary: AuditStepSummary | null = null;
  const monitor = new AuditMonitor({ config, judge, auditors: new Map(), settings, metrics: null, log: silentLogger(), onReport: (r) => (summary = r) });
  await monitor.start({ firstStep: 1, restored: null, event: () => undefined });
  const videos = [clip(frames, bad), clip(frames)];
  const groups = [{ rewards: [1, 1], rmVersions: ['fake-v1'] } as unknown as GroupRewards];
  await monitor.beforeUpdate({ step: 1, prompts: ['p'], videos: [videos], groups });
  await monitor.observeStep({ step: 1, metrics: { step: 1 }, rewardsByDimension: {}, rmVersions: ['fake-v1'] });
  return { judge, summary };
}

describe('full-view audit', () => {
  it('judges a 48-frame clip in 2 interleaved views and keeps the lowest: a defect in an odd frame counts', async () => {
    const { judge, summary } = await audit(48, [7]);
    expect(judge.views.map((v) => (v === undefined ? null : `${v.index}/${v.of}`)).sort()).toEqual(['0/2', '1/2']);
    // Video 1's dark frame 7 is only in view 1; its score is that view's (0), video 2 scores 200/255 in both.
    expect(summary?.fullView?.score).toBeCloseTo((0 + 200 / 255) / 2, 6);
    expect(summary?.fullView?.videos).toBe(2);
  });

  it('judges a clip that fits one view once, as before', async () => {
    const { judge, summary } = await audit(24, [7]);
    expect(judge.views).toEqual([undefined]);
    expect(summary?.fullView?.score).toBeCloseTo((0 + 200 / 255) / 2, 6);
  });
});

/**
 * `steps` audited steps of `groups` groups whose training rewards are `rewards`; a dark frame in video 1 (the full view
 * and a dark-frame auditor see it). Records the events, the guard's decisions and what the monitor offers for training.
 */
async function runAudits(
  config: ReturnType<typeof v1Config>,
  steps: number,
  rewards: readonly number[],
  options: { mode?: 'pointwise' | 'pairwise'; groups?: number; auditors?: ReadonlyMap<string, JudgeClient>; restored?: unknown } = {},
) {
  const settings: RewardSettings = { ...rewardSettingsFromConfig(config), mode: options.mode ?? 'pointwise', weights: { TA: 0, MQ: 0, VQ: 0, overall: 1 } };
  const metrics = new CoordinatorMetrics();
  const events: { name: string; fields: Record<string, unknown> }[] = [];
  const decisions: string[] = [];
  const training = new Map<number, TrainingAudit>();
  const monitor = new AuditMonitor({ config, judge: new DarkFrameJudge(), auditors: options.auditors ?? new Map(), settings, metrics, log: silentLogger() });
  await monitor.start({ firstStep: 1, restored: options.restored ?? null, event: (name, fields) => events.push({ name, fields }) });
  const n = options.groups ?? 1;
  for (let step = 1; step <= steps; step++) {
    const groups = Array.from({ length: n }, () => ({ rewards, rmVersions: ['fake-v1'] }) as unknown as GroupRewards);
    const videos = Array.from({ length: n }, () => [clip(24, [3]), clip(24)]);
    await monitor.beforeUpdate({ step, prompts: groups.map(() => 'p'), videos, groups });
    const offered = monitor.trainingAudit(step);
    if (offered !== null) training.set(step, offered);
    const fields = await monitor.observeStep({ step, metrics: { step }, rewardsByDimension: {}, rmVersions: ['fake-v1'] });
    // The step line carries the audit (and its full-view gap) as the coordinator writes it.
    metrics.recordStep(parseStepRecord({ step, ...fields }));
    const decision = monitor.guardDecision();
    if (decision !== null) decisions.push(`${decision.detector}@${decision.step}:${decision.action}`);
  }
  const trips = events.filter((e) => e.name === 'drift').map((e) => `${String(e.fields.detector)}@${String(e.fields.step)}`);
  return { events, trips, decisions, training, state: monitor.checkpointState(), scrape: (await metrics.exposition()).body };
}

describe('full-view gap detector', () => {
  async function run(steps: number, rewards: readonly number[], mode: 'pointwise' | 'pairwise' = 'pointwise') {
    const config = v1Config({ monitoring: { audit: { fullView: { enabled: true, initialFrames: 32 }, fraction: 1 } } });
    return runAudits(config, steps, rewards, { mode });
  }

  it('trips when the training rewards stay above the full view of the same videos, once the window is full', async () => {
    // The training judge paid 1 for both; the full view sees video 1's dark frame (0) and video 2 at 200/255.
    const r = await run(12, [1, 1]);
    expect(r.trips).toEqual(['proxy_fullview_gap@10']);
    const audits = r.events.filter((e) => e.name === 'audit');
    expect(audits[0]?.fields.fullViewGap).toBeCloseTo(1 - (0 + 200 / 255) / 2, 3);
    expect(r.scrape).toMatch(/vrgrpo_drift_trips_total\{detector="proxy_fullview_gap"\} 1/);
    expect(r.scrape).toMatch(/vrgrpo_drift_proxy_fullview_gap\{[^}]*\} 100/);
    // The guard (warn, persistence 2) confirms it while it still fires, named by the full-view detector.
    expect(r.decisions).toEqual(['proxy_fullview_gap@11:switch-to-auditors']);
  });

  it('stays quiet when the thinking rewards equal the full view, and is off for pairwise rewards', async () => {
    const same = await run(12, [0, 200 / 255]);
    expect(same.trips).toEqual([]);
    expect(same.decisions).toEqual([]);
    const pairwise = await run(12, [1, 1], 'pairwise');
    expect(pairwise.trips).toEqual([]);
    expect(pairwise.events.filter((e) => e.name === 'audit').every((e) => e.fields.fullViewGapT === undefined)).toBe(true);
  });
});

describe("the guard's conservative action in the audit monitor", () => {
  const withGuard = (action: 'conservative' | 'switch-to-auditors') =>
    v1Config({ monitoring: { audit: { fullView: { enabled: true, initialFrames: 32 }, fraction: 0.5 } }, guard: { mode: 'act', action } });
  const config = withGuard('conservative');
  const auditors = new Map<string, JudgeClient>([['dark', new DarkFrameJudge()]]);

  it('after the guard acts, judges every group of every step with every audit judge, for training', async () => {
    // Two groups, half audited; the training judge pays 1 for both videos, the audit judges see video 1's dark frame.
    const r = await runAudits(config, 13, [1, 1], { groups: 2, auditors });
    expect(r.decisions).toEqual(['proxy_fullview_gap@11:conservative']);
    // Before the action nothing is offered for training; from the next step on, every group by each judge.
    expect([...r.training.keys()]).toEqual([12, 13]);
    const t = r.training.get(12);
    expect(t?.judges).toEqual(['dark', 'full_view']);
    expect(t?.groups).toHaveLength(2);
    for (const group of t?.groups ?? []) for (const scores of group) expect(scores).toEqual([0, 200 / 255]);
    // The audit itself still samples half the groups.
    expect(r.events.filter((e) => e.name === 'audit').every((e) => e.fields.groups === 1)).toBe(true);
    expect(t?.rule).toBe('worst-case');
    expect(r.state).toMatchObject({ trainOn: 'worst-case' });
  });

  it('switch-to-auditors offers the same scores with the held-out rule', async () => {
    const switched = withGuard('switch-to-auditors');
    const r = await runAudits(switched, 12, [1, 1], { groups: 2, auditors });
    expect(r.decisions).toEqual(['proxy_fullview_gap@11:switch-to-auditors']);
    expect(r.training.get(12)?.rule).toBe('held-out');
    expect(r.state).toMatchObject({ trainOn: 'held-out' });
  });

  it('keeps training on the audit judges after a resume', async () => {
    const first = await runAudits(config, 12, [1, 1], { groups: 2, auditors });
    const resumed = await runAudits(config, 1, [1, 1], { groups: 2, auditors, restored: first.state });
    expect(resumed.training.get(1)?.groups).toHaveLength(2);
    const fresh = await runAudits(config, 1, [1, 1], { groups: 2, auditors });
    expect(fresh.training.size).toBe(0);
  });
});
