/**
 * The coordinator process of one `npm run bench:by-reference` case: `node bin/run-ts.js
 * bench/support/by-reference-coordinator.ts '<CoordinatorCase as JSON>'` runs the real coordinator (`TrainingJob`, a
 * `RewardClientPool` of its own) against a generator worker and reward servers already running in other processes,
 * meters its own RSS and socket bytes, and prints one line `result <CoordinatorResult as JSON>`. Started fresh for each
 * case, so one case's heap never inflates the next one's RSS.
 */
import { createLogger, silentLogger } from '../../src/common/logger.js';
import { DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../../src/config/index.js';
import { VrGrpoError } from '../../src/errors/index.js';
import { TrainingJob } from '../../src/job/index.js';
import { RewardClientPool } from '../../src/reward-client/pool.js';
import { RssSampler, SocketByteMeter } from './by-reference-meter.js';
import { standinConfig } from './pipeline-accelerator.js';

/** What the coordinator process is asked to run. */
export interface CoordinatorCase {
  readonly delivery: 'inline' | 'reference';
  readonly generatorUrl: string;
  readonly rewardUrls: readonly string[];
  readonly token: string;
  readonly steps: number;
  readonly promptsPerStep: number;
  readonly groupSize: number;
  /** Where the run folder goes (not the artifact root). */
  readonly runDir: string;
  /** RSS sampling interval, in milliseconds. */
  readonly sampleMs: number;
}

/** What it measured; `failure` is set when the run stopped with an error (the numbers then cover the steps done). */
export interface CoordinatorResult {
  /** RSS once the job is connected to the worker and the judges, before its first step, in bytes. */
  readonly rssBeforeBytes: number;
  /** Peak RSS from then to the end of the last step, in bytes. */
  readonly peakRssBytes: number;
  readonly rssSamples: number;
  readonly stepsDone: number;
  /** Mean wall time of a training step, in milliseconds (run start to last step, over the steps done). */
  readonly stepMs: number | null;
  /** Bytes the coordinator read from the generator worker's sockets / wrote to them. */
  readonly generator: { readonly read: number; readonly written: number };
  /** Bytes the coordinator read from the reward servers' sockets / wrote to them, all servers together. */
  readonly rewardServers: { readonly read: number; readonly written: number };
  /** Judgments of the steps done, and how many failed (a failed group judgment leaves its rewards NaN; the step goes on). */
  readonly judgments: number;
  readonly failedJudgments: number;
  /** Failed judgments by error code. */
  readonly failuresByCode: Readonly<Record<string, number>>;
  readonly failure: { readonly code: string; readonly message: string } | null;
}

const portOf = (url: string): number => Number(new URL(url).port);

function caseConfig(c: CoordinatorCase): Config {
  const base = loadConfig(DEFAULT_CONFIG_PATH);
  const config = standinConfig(base, { staleness: 0, checkpointEvery: 100_000, promptsPerStep: c.promptsPerStep, groupSize: c.groupSize });
  return {
    ...config,
    generator: { ...config.generator, worker: { ...config.generator.worker, url: c.generatorUrl, delivery: c.delivery, onFailure: 'fail' } },
    // Pointwise: each video goes to a judge once, so the inline bytes are one copy out per video.
    reward: { ...config.reward, mode: 'pointwise' },
  };
}

async function runCase(c: CoordinatorCase): Promise<CoordinatorResult> {
  const generatorPort = portOf(c.generatorUrl);
  const rewardPorts = c.rewardUrls.map(portOf);
  const meter = SocketByteMeter.start([generatorPort, ...rewardPorts]);
  // The pool warns on stderr when it retries a judgment on another replica (an inline video then travels again).
  const pool = await RewardClientPool.create({ urls: [...c.rewardUrls], token: c.token, log: createLogger({ level: 'warn', name: 'by-reference-pool' }) });
  let peak: { readonly peakBytes: number; readonly samples: number } | null = null;
  let rssBeforeBytes = 0;
  let runStart = 0;
  const stamps: number[] = [];
  let judgments = 0;
  let failedJudgments = 0;
  const failuresByCode: Record<string, number> = {};
  let failure: CoordinatorResult['failure'] = null;
  try {
    const job = await TrainingJob.create({
      config: caseConfig(c),
      runDir: c.runDir,
      log: silentLogger(),
      steps: c.steps,
      resume: false,
      generatorUrl: c.generatorUrl,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'off' },
      onStep: (s) => {
        if (s.step === 0) return;
        stamps.push(performance.now());
        judgments += s.judgments ?? 0;
        failedJudgments += s.failedJudgments ?? 0;
        for (const [code, n] of Object.entries(s.failuresByCode ?? {})) failuresByCode[code] = (failuresByCode[code] ?? 0) + n;
      },
    });
    try {
      // Started with --expose-gc: collect first, so the baseline is the live heap, not start-up garbage.
      (globalThis as { gc?: () => void }).gc?.();
      rssBeforeBytes = process.memoryUsage().rss;
      const sampler = RssSampler.start(c.sampleMs);
      runStart = performance.now();
      try {
        await job.run();
      } finally {
        peak = sampler.stop();
      }
    } finally {
      await job.close();
    }
  } catch (error) {
    const code = error instanceof VrGrpoError ? error.code : 'UNCAUGHT';
    failure = { code, message: error instanceof Error ? error.message : String(error) };
  } finally {
    await pool.close();
    meter.stop();
  }
  const byPort = meter.byPort();
  const sum = (ports: readonly number[]): { read: number; written: number } =>
    ports.reduce(
      (acc, p) => {
        const b = byPort.get(p);
        return { read: acc.read + (b?.read ?? 0), written: acc.written + (b?.written ?? 0) };
      },
      { read: 0, written: 0 },
    );
  const last = stamps.at(-1);
  return {
    rssBeforeBytes,
    peakRssBytes: peak?.peakBytes ?? process.memoryUsage().rss,
    rssSamples: peak?.samples ?? 0,
    stepsDone: stamps.length,
    stepMs: last === undefined ? null : (last - runStart) / stamps.length,
    generator: sum([generatorPort]),
    rewardServers: sum(rewardPorts),
    judgments,
    failedJudgments,
    failuresByCode,
    failure,
  };
}

const input = process.argv[2];
if (input === undefined) throw new Error('usage: by-reference-coordinator.ts <case as JSON>');
const c = JSON.parse(input) as CoordinatorCase;
const result = await runCase(c);
process.stdout.write(`result ${JSON.stringify(result)}\n`);
