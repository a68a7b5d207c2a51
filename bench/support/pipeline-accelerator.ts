/**
 * The accelerator mode of bench:pipeline (`BENCH_MODE=accelerator`): the real coordinator (`TrainingJob` with
 * `generatorUrl`, so `ReconnectingGenerator` → `RemoteGenerator` and the generator-worker wire) against a real
 * `GeneratorWorkerServer` serving a `WaitingGenerator` and real reward servers whose judge is a `WaitingJudge` — service
 * time spent waiting, as on GPUs, so the stages no longer compete for this machine's cores. Also the exact-resume check:
 * N steps in one go against N/2 + resume + N/2 on the same seed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import type { Config } from '../../src/config/index.js';
import type { StepMetrics } from '../../src/coordinator/coordinator.js';
import { TrainingJob } from '../../src/job/index.js';
import { RewardClientPool } from '../../src/reward-client/pool.js';
import { median } from '../machine.js';
import { startChildServer, stopChildServer, type ChildServer } from './child-server.js';
import {
  startStandinGeneratorWorker,
  startStandinRewardServers,
  WaitingGenerator,
  type StandinEvent,
  type WaitingGeneratorOptions,
} from './pipeline-standins.js';

/** Service times of the stand-ins, in milliseconds. */
export interface ServiceTimes {
  readonly generateMsPerVideo: number;
  readonly updateMs: number;
  readonly judgmentMs: number;
}

/** The config of a stand-in run: no evaluation, videos or traces; checkpoints only where asked. */
export function standinConfig(
  base: Config,
  o: { readonly staleness: number; readonly checkpointEvery: number; readonly promptsPerStep?: number; readonly groupSize?: number },
): Config {
  return {
    ...base,
    training: {
      ...base.training,
      pipelineStaleness: o.staleness,
      evalEvery: 0,
      videosEvery: 0,
      tracesEvery: 0,
      checkpointEvery: o.checkpointEvery,
      ...(o.promptsPerStep === undefined ? {} : { promptsPerStep: o.promptsPerStep }),
      ...(o.groupSize === undefined ? {} : { groupSize: o.groupSize }),
    },
  };
}

/** What one stand-in run (or run segment) produced. */
export interface StandinRun {
  /** Training steps' metrics, in order (not the held-out line of step 0). */
  readonly steps: StepMetrics[];
  /** `performance.now()` when each training step's metrics arrived. */
  readonly stamps: number[];
}

/** Runs `steps` steps (or resumes to `steps`) of the real coordinator against the worker at `generatorUrl` and `pool`. */
export async function runStandinJob(o: {
  readonly config: Config;
  readonly runDir: string;
  readonly generatorUrl: string;
  readonly pool: RewardClientPool;
  readonly steps: number;
  readonly resume?: boolean;
}): Promise<StandinRun> {
  const steps: StepMetrics[] = [];
  const stamps: number[] = [];
  const job = await TrainingJob.create({
    config: o.config,
    runDir: o.runDir,
    log: silentLogger(),
    steps: o.steps,
    resume: o.resume ?? false,
    generatorUrl: o.generatorUrl,
    judge: { kind: 'pool', pool: o.pool },
    monitoring: { kind: 'off' },
    onStep: (s) => {
      if (s.step === 0) return;
      stamps.push(performance.now());
      steps.push(s);
    },
  });
  try {
    await job.run();
  } finally {
    await job.close();
  }
  return { steps, stamps };
}

/** A stand-in generator behind its own worker, and the reward servers with a pool on them; `close()` stops all. */
export interface StandinStack {
  readonly generator: WaitingGenerator;
  readonly generatorUrl: string;
  readonly pool: RewardClientPool;
  readonly judgments: () => readonly StandinEvent[];
  close(): Promise<void>;
}

export async function startStandinStack(generator: WaitingGeneratorOptions, judgmentMs: number, rewardServers: number): Promise<StandinStack> {
  const g = new WaitingGenerator(generator);
  const worker = await startStandinGeneratorWorker(g);
  const servers = await startStandinRewardServers(rewardServers, judgmentMs).catch(async (e: unknown) => {
    await worker.close();
    throw e;
  });
  const pool = await RewardClientPool.create({ urls: [...servers.urls], token: servers.token }).catch(async (e: unknown) => {
    await servers.close();
    await worker.close();
    throw e;
  });
  return {
    generator: g,
    generatorUrl: worker.url,
    pool,
    judgments: () => servers.judges.flatMap((j) => j.events),
    close: async () => {
      // Every step, even when one fails.
      const results = await Promise.allSettled([pool.close(), servers.close(), worker.close(), g.close()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
  };
}

/** Medians after warm-up of one mode. */
export interface AcceleratorMeasured {
  readonly stepMs: number;
  readonly generateMs: number;
  readonly judgeMs: number;
  readonly updateMs: number;
  readonly judgmentsPerStep: number;
}

/** Staleness of each rollout: steps before it minus updates applied when it started (rollout i is step i + 1). */
export function rolloutStaleness(events: readonly StandinEvent[]): number[] {
  return events.filter((e) => e.kind === 'rollout').map((e, i) => i - (e.policyUpdates ?? 0));
}

/**
 * Sequential (staleness 0) or pipelined (1) step times with the stand-ins in child processes — the generator worker and
 * each reward server on an event loop of its own, as on hosts of their own — so this process's thread carries only the
 * coordinator's side of the wire.
 */
export async function measureAccelerator(o: {
  readonly base: Config;
  readonly times: ServiceTimes;
  readonly generatorOptions: Omit<WaitingGeneratorOptions, 'generateMsPerVideo' | 'updateMs'>;
  readonly rewardServers: number;
  readonly staleness: number;
  readonly steps: number;
  readonly root: string;
}): Promise<AcceleratorMeasured> {
  const token = 'bench-accelerator';
  const s = o.generatorOptions.size;
  const children: ChildServer[] = [];
  let pool: RewardClientPool | null = null;
  try {
    const generator = await startChildServer('pipeline-standin-server.ts', [
      'generator',
      String(o.times.generateMsPerVideo),
      String(o.times.updateMs),
      String(s.width),
      String(s.height),
      String(s.frameCount),
      String(s.fps),
    ]);
    children.push(generator);
    for (let i = 0; i < o.rewardServers; i++) children.push(await startChildServer('pipeline-standin-server.ts', ['judge', String(o.times.judgmentMs), token]));
    pool = await RewardClientPool.create({ urls: children.slice(1).map((c) => c.url), token });
    const run = await runStandinJob({
      config: standinConfig(o.base, { staleness: o.staleness, checkpointEvery: 100_000 }),
      runDir: join(o.root, `accel-s${o.staleness}`),
      generatorUrl: generator.url,
      pool,
      steps: o.steps,
    });
    const stepTimes = run.stamps
      .slice(1)
      .map((x, i) => x - (run.stamps[i] ?? x))
      .slice(2);
    const warm = run.steps.slice(3);
    const stage = (k: 'generateMs' | 'judgeMs' | 'updateMs'): number => median(warm.map((m) => (m.timing as Record<string, number> | undefined)?.[k] ?? 0));
    return {
      stepMs: median(stepTimes),
      generateMs: stage('generateMs'),
      judgeMs: stage('judgeMs'),
      updateMs: stage('updateMs'),
      judgmentsPerStep: median(warm.map((m) => Number(m.judgments ?? 0))),
    };
  } finally {
    await pool?.close();
    await Promise.allSettled(children.map((c) => stopChildServer(c)));
  }
}

/** The fields of a step that must match between a run and its resume (rewards, advantages' effect, update stats). */
function resumeView(s: StepMetrics): unknown {
  return {
    step: s.step,
    reward: s.reward,
    rewardStd: s.rewardStd,
    advantageAbsMean: s.advantageAbsMean,
    judgments: s.judgments,
    policyLoss: s.policyLoss,
    gradNorm: s.gradNorm,
  };
}

export interface ResumeCheck {
  readonly steps: number;
  readonly resumedAt: number;
  /** Step metrics (rewards, |advantage|, update stats) equal step for step. */
  readonly metricsIdentical: boolean;
  /** The advantages the generator received, update for update, equal. */
  readonly advantagesIdentical: boolean;
  readonly updates: number;
  /** Largest staleness of a rollout of the pipelined one-go run (policy updates it lagged), from the stand-in's record. */
  readonly maxStaleness: number;
}

/**
 * N steps in one go against N/2 + resume + N/2 on the same seed, pipelined (the one-go run checkpoints at N/2 too: a
 * prefetch never crosses a checkpoint, which is what makes a resume exact). Each run has its own stand-in generator; the
 * split run's worker keeps its policy across the coordinator's restart (as a worker with `--state-dir` does).
 */
export async function checkExactResume(o: {
  readonly base: Config;
  readonly times: ServiceTimes;
  readonly generatorOptions: Omit<WaitingGeneratorOptions, 'generateMsPerVideo' | 'updateMs'>;
  readonly rewardServers: number;
  readonly steps: number;
}): Promise<ResumeCheck> {
  const half = Math.max(1, Math.floor(o.steps / 2));
  const config = standinConfig(o.base, { staleness: 1, checkpointEvery: half });
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-accel-resume-'));
  const g = { ...o.generatorOptions, generateMsPerVideo: o.times.generateMsPerVideo, updateMs: o.times.updateMs };
  try {
    const full = await startStandinStack(g, o.times.judgmentMs, o.rewardServers);
    let one: StandinRun;
    let oneAdvantages: (number | null)[][];
    let maxStaleness: number;
    try {
      one = await runStandinJob({ config, runDir: join(root, 'full'), generatorUrl: full.generatorUrl, pool: full.pool, steps: o.steps });
      oneAdvantages = full.generator.advantages;
      maxStaleness = Math.max(...rolloutStaleness(full.generator.events));
    } finally {
      await full.close();
    }
    const split = await startStandinStack(g, o.times.judgmentMs, o.rewardServers);
    let first: StandinRun;
    let second: StandinRun;
    let splitAdvantages: (number | null)[][];
    try {
      const dir = join(root, 'split');
      first = await runStandinJob({ config, runDir: dir, generatorUrl: split.generatorUrl, pool: split.pool, steps: half });
      second = await runStandinJob({ config, runDir: dir, generatorUrl: split.generatorUrl, pool: split.pool, steps: o.steps, resume: true });
      splitAdvantages = split.generator.advantages;
    } finally {
      await split.close();
    }
    const a = JSON.stringify(one.steps.map(resumeView));
    const b = JSON.stringify([...first.steps, ...second.steps].map(resumeView));
    return {
      steps: o.steps,
      resumedAt: half,
      metricsIdentical: a === b && one.steps.length === o.steps,
      advantagesIdentical: JSON.stringify(oneAdvantages) === JSON.stringify(splitAdvantages) && oneAdvantages.length > 0,
      updates: oneAdvantages.length,
      maxStaleness,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
