/**
 * `npm run bench:pipeline`: the same steps of the embedded default with and without pipelining (rollout of step t+1
 * while step t is judged by the reward-server child process). Reports median step time, stage times, and the ratios
 * the coordinator issue asks for. Results to bench/results/pipeline.json.
 *
 * `BENCH_MODE=accelerator npm run bench:pipeline`: the same comparison with accelerator-bound stand-ins (a generator
 * worker and reward servers whose service time is spent waiting, as on GPUs; bench/support/pipeline-standins.ts) behind
 * the real servers and protocols, plus an exact-resume check. Results to bench/results/pipeline-accelerator.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig, type Config } from '../src/config/index.js';
import type { StepMetrics } from '../src/coordinator/coordinator.js';
import { startLocalRewardServers } from '../src/coordinator/local-reward-server.js';
import { TrainingJob } from '../src/job/index.js';
import { RewardClientPool } from '../src/reward-client/pool.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { machineInfo, median } from './machine.js';
import { runAcceleratorBench } from './support/pipeline-accelerator-bench.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const MODE = process.env.BENCH_MODE ?? 'cpu';
if (MODE !== 'cpu' && MODE !== 'accelerator') throw new Error(`BENCH_MODE must be cpu (the default) or accelerator, not ${MODE}`);
const base = loadConfig(DEFAULT_CONFIG_PATH);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? base.reward.localServers);

/** The default mode: the embedded generator in this process, the real judge in reward-server child processes. */
async function runCpuBench(): Promise<void> {
  await chooseTensorBackend(base.tensor.backend);
  const tmp = mkdtempSync(join(tmpdir(), 'vrgrpo-bench-pipe-'));
  const server = await startLocalRewardServers(REPLICAS, { configPath: DEFAULT_CONFIG_PATH, artifactRoot: tmp, log: silentLogger() });
  const pool = await RewardClientPool.create({ urls: [...server.urls], token: server.token });

  interface Measured {
    readonly stepMs: number;
    readonly generateMs: number;
    readonly judgeMs: number;
    readonly updateMs: number;
  }

  async function measure(staleness: number): Promise<Measured> {
    const config: Config = {
      ...base,
      training: { ...base.training, pipelineStaleness: staleness, evalEvery: 0, videosEvery: 0, tracesEvery: 0, checkpointEvery: 100_000 },
    };
    const stamps: number[] = [];
    const steps: StepMetrics[] = [];
    const job = await TrainingJob.create({
      config,
      runDir: join(tmp, `s${staleness}`),
      log: silentLogger(),
      steps: STEPS,
      generatorUrl: null,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'off' },
      onStep: (s) => {
        if (s.step === 0) return; // the held-out evaluation before training
        stamps.push(performance.now());
        steps.push(s);
      },
    });
    try {
      await job.run();
    } finally {
      await job.close();
    }
    const stepTimes = stamps
      .slice(1)
      .map((x, i) => x - (stamps[i] ?? x))
      .slice(2);
    const stage = (k: 'generateMs' | 'judgeMs' | 'updateMs'): number => median(steps.slice(3).map((s) => s.timing?.[k] ?? 0));
    return { stepMs: median(stepTimes), generateMs: stage('generateMs'), judgeMs: stage('judgeMs'), updateMs: stage('updateMs') };
  }

  try {
    const sequential = await measure(0);
    const pipelined = await measure(1);
    // The slowest stage: judging (the reward server) vs rollout + update on the coordinator's core.
    const slowest = Math.max(sequential.judgeMs, sequential.generateMs + sequential.updateMs);
    const result = {
      benchmark: 'pipeline',
      date: new Date().toISOString(),
      machine: machineInfo(),
      setup: {
        steps: STEPS,
        rewardServers: REPLICAS,
        promptsPerStep: base.training.promptsPerStep,
        groupSize: base.training.groupSize,
        rewardMode: base.reward.mode,
      },
      sequential,
      pipelined,
      slowestStageMs: slowest,
      pipelinedOverSlowest: pipelined.stepMs / slowest,
      speedup: sequential.stepMs / pipelined.stepMs,
    };
    mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pool.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (MODE === 'accelerator') await runAcceleratorBench(base, STEPS);
else await runCpuBench();
