/**
 * The drift experiment: a short seeded GRPO run on world v1 (configs/world-v1.yaml; or world v2, configs/world-v2.yaml,
 * with its temporal thinking judge) through the real Coordinator and its RunMonitor — embedded generator, the embedded
 * judge in process (optionally with a planted hack), the drift detectors as `vr-grpo train` runs them (drift events in
 * events.jsonl, gauges and trip counters in CoordinatorMetrics). `npm run bench:hacking` runs it clean and hacked;
 * test/metrics/hacking-detector.test.ts checks it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/logger.js';
import { PROJECT_ROOT, loadConfig, type Config } from '../config/index.js';
import { Rng } from '../common/rng.js';
import { PerPromptStatTracker, mean, trackedAdvantages } from '../grpo/index.js';
import { AuditMonitor, type AuditStepSummary } from '../coordinator/audit-monitor.js';
import { Coordinator, type StepMetrics, type StepMonitor } from '../coordinator/coordinator.js';
import { InProcessJudge } from '../coordinator/in-process-judge.js';
import { collectGroupRewards, rewardSettingsFromConfig, type JudgeClient } from '../coordinator/reward-collector.js';
import { RunMonitor } from '../coordinator/run-monitor.js';
import { combineMonitors } from '../coordinator/step-monitors.js';
import { VrGrpoError } from '../errors/index.js';
import type { JudgeEngine } from '../judge/engine.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../generator/index.js';
import { createEmbeddedJudge, type PlantedHack } from '../judge/backends/embedded/index.js';
import { CoordinatorMetrics } from '../metrics/index.js';
import type { DriftStepReport } from '../metrics/drift/index.js';
import { worldGold, type GoldEvaluation } from '../coordinator/gold.js';
import { evaluatePolicyGold, samplerOptionsFrom } from '../generator/index.js';
import { GOLD_OVERALL_WEIGHTS, goldScores, type GoldReport } from '../world/gold.js';
import { streamSeed } from '../coordinator/seed-streams.js';
import { worldRun } from './training-job.js';

export interface HackingRunOptions {
  readonly hack: PlantedHack | null;
  /**
   * The world: 1 (default; configs/world-v1.yaml) or 2 (configs/world-v2.yaml: 48-frame clips with events and local
   * defects, the temporal thinking judge rm-v3; the judges here, auditors included, reason about time).
   */
  readonly world?: 1 | 2;
  readonly steps: number;
  readonly promptsPerStep: number;
  readonly groupSize: number;
  readonly seed: number;
  /** Stop the run at the first proxy-gold divergence trip. */
  readonly stopOnHackingTrip?: boolean;
  /** Overrides of `monitoring.drift`. */
  readonly drift?: Record<string, unknown>;
  /**
   * Overrides of `monitoring.audit`; its checkpoint auditors judge in this process (embedded judges without the
   * planted hack), like the local auditor servers of `vr-grpo train`.
   */
  readonly audit?: Record<string, unknown>;
  /** The `guard` section (it acts on the audits' signal). */
  readonly guard?: Record<string, unknown>;
  /** Checkpoint every N steps (the guard rolls back to one); default: none. */
  readonly checkpointEvery?: number;
  /** Evaluate the final policy on this many held-out prompts (`finalGold`); default 0: not evaluated. */
  readonly finalGoldPrompts?: number;
  /** A hot swap of the training judge: from the step after `afterStep`, the judge is `checkpoint` (no planted hack). */
  readonly swap?: { readonly afterStep: number; readonly checkpoint: string };
  /** Overrides of `training` (e.g. the per-prompt tracker) and of `reward` (e.g. `onVersionChange`). */
  readonly training?: Record<string, unknown>;
  readonly reward?: Record<string, unknown>;
}

export interface HackingRunStep {
  readonly step: number;
  readonly reward: number;
  readonly goldAccuracy: number | null;
  readonly goldQuality: number | null;
  /**
   * Mean gold overall score of the step's videos, `goldScores` of their reports: 0.6·TA + 0.2·MQ + 0.2·VQ, where world
   * v2's local defects lower MQ/VQ (which `goldQuality` leaves out); null without gold reports.
   */
  readonly goldOverall: number | null;
  /** Share of the step's videos with a visible local defect (world v2; 0 in v1), and with a burst; null without reports. */
  readonly localDefectShare: number | null;
  readonly burstShare: number | null;
  readonly report: DriftStepReport;
  /** The audit of the step (null: not audited, or no audits configured). */
  readonly audit: AuditStepSummary | null;
  /** Mean |advantage| of the step, and without a calibrated swap's map (null: no map active). */
  readonly advantageAbsMean: number | null;
  readonly advantageAbsMeanUncalibrated: number | null;
  /**
   * Swap runs with per-prompt statistics, pointwise: the mean |advantage| the old judge would have given this step's
   * videos, against a history of its own rewards — the run as if the swap had not happened, on the same videos.
   */
  readonly advantageAbsMeanOldJudge: number | null;
  readonly rmVersions: readonly string[];
}

export interface HackingRunResult {
  readonly steps: readonly HackingRunStep[];
  /** The `drift` events the run wrote to events.jsonl. */
  readonly trips: readonly Readonly<Record<string, unknown>>[];
  /** The `guard` events (what the guard did). */
  readonly guard: readonly Readonly<Record<string, unknown>>[];
  /** The `reward_calibration` events (what a calibrated swap fitted its map on). */
  readonly calibrations: readonly Readonly<Record<string, unknown>>[];
  /**
   * Held-out gold of the policy the run ended with (`finalGoldPrompts` prompts; overall = 0.6·accuracy + 0.4·quality,
   * the gold overall score); null when not asked for.
   */
  readonly finalGold: {
    readonly accuracy: number;
    readonly quality: number;
    readonly overall: number;
    /** The mean gold overall score (`goldScores`), local defects included (world v2; equal to `overall` up to clipping in v1). */
    readonly overallWithLocal: number;
  } | null;
  /** The run's Prometheus exposition at the end. */
  readonly scrape: string;
  readonly rmVersions: readonly string[];
  readonly seconds: number;
}

export async function runWithDriftMonitor(o: HackingRunOptions): Promise<HackingRunResult> {
  const configFile = join(PROJECT_ROOT, 'configs', o.world === 2 ? 'world-v2.yaml' : 'world-v1.yaml');
  const config = loadConfig(configFile, {
    seed: o.seed,
    training: {
      steps: o.steps,
      promptsPerStep: o.promptsPerStep,
      groupSize: o.groupSize,
      evalEvery: 0,
      evalPrompts: 1,
      checkpointEvery: o.checkpointEvery ?? 10_000,
      videosEvery: 0,
      tracesEvery: 0,
      ...o.training,
    },
    ...(o.reward === undefined ? {} : { reward: o.reward }),
    judge: { plantedHack: o.hack },
    ...(o.guard === undefined ? {} : { guard: o.guard }),
    monitoring: { ...(o.drift === undefined ? {} : { drift: o.drift }), ...(o.audit === undefined ? {} : { audit: o.audit }) },
  });
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-hacking-'));
  const generator = await EmbeddedGenerator.create({
    config,
    trainer: constantTrainerOptionsFrom(config),
  });
  // As `vr-grpo train` starts them: the judges reason about time in world v2.
  const reasoner = { temporal: config.world.version === 2 };
  const engine = await createEmbeddedJudge({ modelDir: config.judge.checkpoint, judge: config.judge, reasoner });
  const swapEngine =
    o.swap === undefined ? null : await createEmbeddedJudge({ modelDir: o.swap.checkpoint, judge: { ...config.judge, plantedHack: null }, reasoner });
  let swapped = false;
  const first = new InProcessJudge(engine);
  const second = swapEngine === null ? null : new InProcessJudge(swapEngine);
  // The training judge, hot-swapped after `swap.afterStep` (as an admin swap on the reward servers would).
  const judge: JudgeClient = { judge: (request) => (swapped && second !== null ? second : first).judge(request) };
  const auditEngines: JudgeEngine[] = [];
  const auditors = new Map<string, JudgeClient>();
  for (const a of config.monitoring.audit.auditors) {
    if (a.checkpoint === null) throw new VrGrpoError('CONFIG_INVALID', `the drift experiment runs checkpoint auditors only (${a.name} has servers)`);
    const auditor = await createEmbeddedJudge({ modelDir: a.checkpoint, judge: { ...config.judge, plantedHack: null }, reasoner });
    auditEngines.push(auditor);
    auditors.set(a.name, new InProcessJudge(auditor));
  }
  const audits = new Map<number, AuditStepSummary>();
  const metrics = new CoordinatorMetrics();
  const steps: HackingRunStep[] = [];
  const reports = new Map<number, DriftStepReport>();
  const oldJudgeAbsMean = new Map<number, number>();
  const versions = new Set<string>();
  const runDir = join(root, 'run');
  // The gold reports of the step being run (the coordinator asks for them while it judges the step), per video.
  const world = worldRun(config, generator);
  let stepReports = new Map<unknown, GoldReport>();
  const worldGoldOf = worldGold(config, generator.policy);
  const gold: GoldEvaluation = {
    heldOut: () => worldGoldOf.heldOut(),
    videoReport: (prompt, video) => {
      const r = worldGoldOf.videoReport(prompt, video);
      if (r !== null) stepReports.set(video, r);
      return r;
    },
  };
  const started = performance.now();
  let trips: Record<string, unknown>[] = [];
  let guard: Record<string, unknown>[] = [];
  let calibrations: Record<string, unknown>[] = [];
  let finalGold: HackingRunResult['finalGold'] = null;
  let scrape = '';
  try {
    let coordinator: Coordinator | null = null;
    const monitor = new RunMonitor({
      config,
      runDir,
      generator,
      judge,
      settings: rewardSettingsFromConfig(config),
      metrics,
      log: silentLogger(),
      onReport: (report) => {
        reports.set(report.step, report);
        if (o.stopOnHackingTrip === true && report.trips.some((x) => x.detector === 'proxy_gold_divergence')) coordinator?.stop();
      },
    });
    const onStep = (m: StepMetrics): void => {
      metrics.recordStep(m);
      if (o.swap !== undefined && m.step >= o.swap.afterStep) swapped = true;
      const report = reports.get(m.step);
      if (report === undefined) return; // the step-0 line (held-out evaluation)
      const goldAccuracy = typeof m.goldAccuracy === 'number' ? m.goldAccuracy : null;
      const goldQuality = typeof m.goldQuality === 'number' ? m.goldQuality : null;
      for (const v of m.rmVersions ?? []) versions.add(v);
      const reportsOfStep = [...stepReports.values()];
      stepReports = new Map();
      const share = (f: (r: GoldReport) => boolean): number | null =>
        reportsOfStep.length === 0 ? null : reportsOfStep.filter(f).length / reportsOfStep.length;
      steps.push({
        step: m.step,
        reward: m.reward?.combined ?? NaN,
        goldAccuracy,
        goldQuality,
        goldOverall: reportsOfStep.length === 0 ? null : reportsOfStep.reduce((s, r) => s + goldScores(r).overall, 0) / reportsOfStep.length,
        localDefectShare: share((r) => r.localDefects.length > 0),
        burstShare: share((r) => r.localDefects.some((d) => d.kind === 'burst')),
        report,
        audit: audits.get(m.step) ?? null,
        advantageAbsMean: typeof m.advantageAbsMean === 'number' ? m.advantageAbsMean : null,
        advantageAbsMeanUncalibrated: typeof m.advantageAbsMeanUncalibrated === 'number' ? m.advantageAbsMeanUncalibrated : null,
        advantageAbsMeanOldJudge: oldJudgeAbsMean.get(m.step) ?? null,
        rmVersions: m.rmVersions ?? [],
      });
    };
    const monitors: [string, StepMonitor][] = [['run', monitor]];
    const oldJudge = o.swap === undefined ? null : oldJudgeMonitor(config, first, () => swapped, oldJudgeAbsMean);
    if (oldJudge !== null) monitors.push(['old-judge', oldJudge]);
    if (AuditMonitor.enabled(config)) {
      const settings = rewardSettingsFromConfig(config);
      const onReport = (a: AuditStepSummary): void => {
        audits.set(a.step, a);
      };
      monitors.push(['audit', new AuditMonitor({ config, judge, auditors, settings, metrics, log: silentLogger(), onReport })]);
    }
    coordinator = await Coordinator.create({
      config,
      runDir,
      generator,
      ...world,
      gold,
      judge,
      log: silentLogger(),
      steps: o.steps,
      onStep,
      monitor: combineMonitors(monitors),
    });
    await coordinator.runLoop();
    metrics.runFinished();
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    trips = events.filter((e) => e.event === 'drift');
    guard = events.filter((e) => e.event === 'guard');
    calibrations = events.filter((e) => e.event === 'reward_calibration');
    scrape = (await metrics.exposition()).body;
    if ((o.finalGoldPrompts ?? 0) > 0) {
      const evalConfig = loadConfig(configFile, { seed: o.seed, training: { evalPrompts: o.finalGoldPrompts } });
      // worldGold's held-out evaluation, with each report kept to score local defects too.
      let withLocal = 0;
      let n = 0;
      const h = evaluatePolicyGold(generator.policy, evalConfig, {
        split: 'heldout',
        prompts: evalConfig.training.evalPrompts,
        seed: streamSeed(evalConfig.seed, 'heldOutEvaluation'),
        sampler: { ...samplerOptionsFrom(evalConfig), mode: 'ode' },
        useLora: true,
        onReport: (r) => {
          withLocal += goldScores(r).overall;
          n += 1;
        },
      });
      finalGold = {
        accuracy: h.accuracy,
        quality: h.quality,
        overall: GOLD_OVERALL_WEIGHTS.TA * h.accuracy + (1 - GOLD_OVERALL_WEIGHTS.TA) * h.quality,
        overallWithLocal: n === 0 ? NaN : withLocal / n,
      };
    }
  } finally {
    await engine.close();
    await swapEngine?.close();
    for (const a of auditEngines) await a.close();
    await generator.close();
    rmSync(root, { recursive: true, force: true });
  }
  return { steps, trips, guard, calibrations, finalGold, scrape, rmVersions: [...versions], seconds: (performance.now() - started) / 1000 };
}

/**
 * The counterfactual of a swap run: every step's training groups also get the rewards the old judge gives them (before
 * the swap: the rewards the run used; after it: `oldJudge` re-judges the same videos), normalised against a per-prompt
 * history of those rewards alone, as the run's own statistics would be had the swap not happened. Before the swap it
 * reproduces the run's own mean |advantage|. Null without per-prompt statistics or with pairwise rewards (there a
 * swap does not move the advantage scale: each group is its own reference).
 */
function oldJudgeMonitor(config: Config, oldJudge: JudgeClient, swapped: () => boolean, out: Map<number, number>): StepMonitor | null {
  const a = config.training.advantage;
  const settings = rewardSettingsFromConfig(config);
  if (!a.perPromptTracker || settings.mode !== 'pointwise') return null;
  const tracker = new PerPromptStatTracker(a.trackerBuffer, a.trackerMinCount);
  return {
    start: () => Promise.resolve(),
    beforeUpdate: async ({ step, prompts, videos, groups }) => {
      const rewards = swapped()
        ? (
            await Promise.all(
              prompts.map((p, g) => collectGroupRewards(oldJudge, p, videos[g] ?? [], settings, Rng.fromSeed(streamSeed(config.seed, 'judging', step, g)))),
            )
          ).map((r) => r.rewards)
        : groups.map((g) => g.rewards);
      const advantages = trackedAdvantages(tracker, prompts, rewards, a).advantages.flat();
      out.set(step, mean(advantages.filter((x): x is number => x !== null).map(Math.abs)));
    },
    observeStep: () => Promise.resolve({}),
    checkpointState: () => null,
  };
}
