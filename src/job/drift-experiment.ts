/**
 * The drift experiment: a short seeded GRPO run on world v1 (configs/world-v1.yaml) through the real Coordinator and
 * its RunMonitor — embedded generator, the embedded judge in process (optionally with a planted hack), the drift
 * detectors as `vr-grpo train` runs them (drift events in events.jsonl, gauges and trip counters in
 * CoordinatorMetrics). `npm run bench:hacking` runs it clean and hacked; test/metrics/hacking-detector.test.ts checks it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/logger.js';
import { PROJECT_ROOT, loadConfig } from '../config/index.js';
import { AuditMonitor, type AuditStepSummary } from '../coordinator/audit-monitor.js';
import { Coordinator, type StepMetrics, type StepMonitor } from '../coordinator/coordinator.js';
import { InProcessJudge } from '../coordinator/in-process-judge.js';
import { rewardSettingsFromConfig, type JudgeClient } from '../coordinator/reward-collector.js';
import { RunMonitor } from '../coordinator/run-monitor.js';
import { combineMonitors } from '../coordinator/step-monitors.js';
import { VrGrpoError } from '../errors/index.js';
import type { JudgeEngine } from '../judge/engine.js';
import { EmbeddedGenerator } from '../generator/index.js';
import { createEmbeddedJudge, type PlantedHack } from '../judge/backends/embedded/index.js';
import { CoordinatorMetrics } from '../metrics/index.js';
import type { DriftStepReport } from '../metrics/drift/index.js';
import { worldGold } from '../coordinator/gold.js';
import { GOLD_OVERALL_WEIGHTS } from '../world/gold.js';
import { worldRun } from './training-job.js';

export interface HackingRunOptions {
  readonly hack: PlantedHack | null;
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
  readonly report: DriftStepReport;
  /** The audit of the step (null: not audited, or no audits configured). */
  readonly audit: AuditStepSummary | null;
  /** Mean |advantage| of the step, and without a calibrated swap's map (null: no map active). */
  readonly advantageAbsMean: number | null;
  readonly advantageAbsMeanUncalibrated: number | null;
  readonly rmVersions: readonly string[];
}

export interface HackingRunResult {
  readonly steps: readonly HackingRunStep[];
  /** The `drift` events the run wrote to events.jsonl. */
  readonly trips: readonly Readonly<Record<string, unknown>>[];
  /** The `guard` events (what the guard did). */
  readonly guard: readonly Readonly<Record<string, unknown>>[];
  /**
   * Held-out gold of the policy the run ended with (`finalGoldPrompts` prompts; overall = 0.6·accuracy + 0.4·quality,
   * the gold overall score); null when not asked for.
   */
  readonly finalGold: { readonly accuracy: number; readonly quality: number; readonly overall: number } | null;
  /** The run's Prometheus exposition at the end. */
  readonly scrape: string;
  readonly rmVersions: readonly string[];
  readonly seconds: number;
}

export async function runWithDriftMonitor(o: HackingRunOptions): Promise<HackingRunResult> {
  const config = loadConfig(join(PROJECT_ROOT, 'configs', 'world-v1.yaml'), {
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
  const t = config.training;
  const generator = await EmbeddedGenerator.create({
    config,
    trainer: {
      learningRate: t.learningRate,
      clipRange: t.clipRange,
      beta: t.beta,
      timestepFraction: t.timestepFraction,
      maxGradNorm: t.maxGradNorm,
      innerEpochs: t.innerEpochs,
    },
  });
  const engine = await createEmbeddedJudge({ modelDir: config.judge.checkpoint, judge: config.judge });
  const swapEngine = o.swap === undefined ? null : await createEmbeddedJudge({ modelDir: o.swap.checkpoint, judge: { ...config.judge, plantedHack: null } });
  let swapped = false;
  const first = new InProcessJudge(engine);
  const second = swapEngine === null ? null : new InProcessJudge(swapEngine);
  // The training judge, hot-swapped after `swap.afterStep` (as an admin swap on the reward servers would).
  const judge: JudgeClient = { judge: (request) => (swapped && second !== null ? second : first).judge(request) };
  const auditEngines: JudgeEngine[] = [];
  const auditors = new Map<string, JudgeClient>();
  for (const a of config.monitoring.audit.auditors) {
    if (a.checkpoint === null) throw new VrGrpoError('CONFIG_INVALID', `the drift experiment runs checkpoint auditors only (${a.name} has servers)`);
    const auditor = await createEmbeddedJudge({ modelDir: a.checkpoint, judge: { ...config.judge, plantedHack: null } });
    auditEngines.push(auditor);
    auditors.set(a.name, new InProcessJudge(auditor));
  }
  const audits = new Map<number, AuditStepSummary>();
  const metrics = new CoordinatorMetrics();
  const steps: HackingRunStep[] = [];
  const reports = new Map<number, DriftStepReport>();
  const versions = new Set<string>();
  const runDir = join(root, 'run');
  const started = performance.now();
  let trips: Record<string, unknown>[] = [];
  let guard: Record<string, unknown>[] = [];
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
      steps.push({
        step: m.step,
        reward: m.reward?.combined ?? NaN,
        goldAccuracy,
        goldQuality,
        report,
        audit: audits.get(m.step) ?? null,
        advantageAbsMean: typeof m.advantageAbsMean === 'number' ? m.advantageAbsMean : null,
        advantageAbsMeanUncalibrated: typeof m.advantageAbsMeanUncalibrated === 'number' ? m.advantageAbsMeanUncalibrated : null,
        rmVersions: m.rmVersions ?? [],
      });
    };
    const monitors: [string, StepMonitor][] = [['run', monitor]];
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
      ...worldRun(config, generator),
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
    scrape = (await metrics.exposition()).body;
    if ((o.finalGoldPrompts ?? 0) > 0) {
      const evalConfig = loadConfig(join(PROJECT_ROOT, 'configs', 'world-v1.yaml'), { seed: o.seed, training: { evalPrompts: o.finalGoldPrompts } });
      const h = worldGold(evalConfig, generator.policy).heldOut();
      if (h !== null)
        finalGold = { accuracy: h.accuracy, quality: h.quality, overall: GOLD_OVERALL_WEIGHTS.TA * h.accuracy + (1 - GOLD_OVERALL_WEIGHTS.TA) * h.quality };
    }
  } finally {
    await engine.close();
    await swapEngine?.close();
    for (const a of auditEngines) await a.close();
    await generator.close();
    rmSync(root, { recursive: true, force: true });
  }
  return { steps, trips, guard, finalGold, scrape, rmVersions: [...versions], seconds: (performance.now() - started) / 1000 };
}
