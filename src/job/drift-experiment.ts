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
import { Coordinator, type StepMetrics } from '../coordinator/coordinator.js';
import { InProcessJudge } from '../coordinator/in-process-judge.js';
import { rewardSettingsFromConfig } from '../coordinator/reward-collector.js';
import { RunMonitor } from '../coordinator/run-monitor.js';
import { EmbeddedGenerator } from '../generator/index.js';
import { createEmbeddedJudge, type PlantedHack } from '../judge/backends/embedded/index.js';
import { CoordinatorMetrics } from '../metrics/index.js';
import type { DriftStepReport } from '../metrics/drift/index.js';
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
}

export interface HackingRunStep {
  readonly step: number;
  readonly reward: number;
  readonly goldAccuracy: number | null;
  readonly goldQuality: number | null;
  readonly report: DriftStepReport;
}

export interface HackingRunResult {
  readonly steps: readonly HackingRunStep[];
  /** The `drift` events the run wrote to events.jsonl. */
  readonly trips: readonly Readonly<Record<string, unknown>>[];
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
      checkpointEvery: 10_000,
      videosEvery: 0,
      tracesEvery: 0,
    },
    judge: { plantedHack: o.hack },
    ...(o.drift === undefined ? {} : { monitoring: { drift: o.drift } }),
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
  const judge = new InProcessJudge(engine);
  const metrics = new CoordinatorMetrics();
  const steps: HackingRunStep[] = [];
  const reports = new Map<number, DriftStepReport>();
  const versions = new Set<string>();
  const runDir = join(root, 'run');
  const started = performance.now();
  let trips: Record<string, unknown>[] = [];
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
      const report = reports.get(m.step);
      if (report === undefined) return; // the step-0 line (held-out evaluation)
      const goldAccuracy = typeof m.goldAccuracy === 'number' ? m.goldAccuracy : null;
      const goldQuality = typeof m.goldQuality === 'number' ? m.goldQuality : null;
      for (const v of m.rmVersions ?? []) versions.add(v);
      steps.push({ step: m.step, reward: m.reward?.combined ?? NaN, goldAccuracy, goldQuality, report });
    };
    coordinator = await Coordinator.create({
      config,
      runDir,
      generator,
      ...worldRun(config, generator),
      judge,
      log: silentLogger(),
      steps: o.steps,
      onStep,
      monitor,
    });
    await coordinator.runLoop();
    metrics.runFinished();
    trips = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.event === 'drift');
    scrape = (await metrics.exposition()).body;
  } finally {
    await engine.close();
    await generator.close();
    rmSync(root, { recursive: true, force: true });
  }
  return { steps, trips, scrape, rmVersions: [...versions], seconds: (performance.now() - started) / 1000 };
}
