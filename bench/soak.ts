/**
 * `npm run soak`: the embedded default for SOAK_MINUTES (30) minutes — the real coordinator, generator and trainer,
 * the default two local reward-server processes with the ONNX judge, monitoring on — sampling every 10 steps the
 * coordinator's RSS and live tfjs tensors and each reward server's RSS (/proc). Reports RSS growth after the warm-up
 * (the first fifth of the run) and whether the tensor count stayed constant. Results to bench/results/soak.json.
 * Training restarts its schedule every `training.steps` steps (a fresh run folder each time), so the soak can outlast
 * one default run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { startLocalRewardServers } from '../src/coordinator/local-reward-server.js';
import { TrainingJob } from '../src/job/index.js';
import { RewardClientPool } from '../src/reward-client/pool.js';
import { chooseTensorBackend, liveTensorCount } from '../src/tensor/index.js';
import { machineInfo } from './machine.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const config = loadConfig(DEFAULT_CONFIG_PATH);
await chooseTensorBackend(config.tensor.backend);
const tmp = mkdtempSync(join(tmpdir(), 'vrgrpo-soak-'));
const servers = await startLocalRewardServers(config.reward.localServers, { configPath: DEFAULT_CONFIG_PATH, artifactRoot: tmp, log: silentLogger() });
const pool = await RewardClientPool.create({ urls: [...servers.urls], token: servers.token });

const rssOf = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] === undefined ? NaN : Number(m[1]) / 1024;
};
const samples: { minute: number; step: number; coordinatorRssMiB: number; tensors: number; serverRssMiB: number[] }[] = [];
const started = performance.now();
const deadline = started + MINUTES * 60_000;
let totalSteps = 0;
try {
  for (let run = 0; performance.now() < deadline; run++) {
    const runDir = join(tmp, `run-${run}`);
    const job: TrainingJob = await TrainingJob.create({
      config,
      runDir,
      log: silentLogger(),
      generatorUrl: null,
      judge: { kind: 'pool', pool },
      monitoring: { kind: 'in-memory' },
      onStep: (s) => {
        if (s.step === 0) return;
        totalSteps += 1;
        if (totalSteps % 10 === 0) {
          samples.push({
            minute: (performance.now() - started) / 60_000,
            step: totalSteps,
            coordinatorRssMiB: process.memoryUsage().rss / 2 ** 20,
            tensors: liveTensorCount(),
            serverRssMiB: servers.pids.map(rssOf),
          });
        }
        if (performance.now() > deadline) job.stop();
      },
    });
    try {
      await job.run();
    } finally {
      await job.close();
    }
    rmSync(runDir, { recursive: true, force: true });
  }
} finally {
  await pool.close();
  await servers.stop();
  rmSync(tmp, { recursive: true, force: true });
}
const warm = samples.find((s) => s.minute >= MINUTES / 5) ?? samples[0];
const end = samples.at(-1);
const growth = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined ? null : (100 * (b - a)) / a);
const result = {
  benchmark: 'soak',
  date: new Date().toISOString(),
  machine: machineInfo(),
  minutes: MINUTES,
  steps: totalSteps,
  coordinator: {
    rssAfterWarmupMiB: warm?.coordinatorRssMiB ?? null,
    rssEndMiB: end?.coordinatorRssMiB ?? null,
    rssGrowthPercent: growth(warm?.coordinatorRssMiB, end?.coordinatorRssMiB),
  },
  tensors: {
    afterWarmup: warm?.tensors ?? null,
    end: end?.tensors ?? null,
    min: Math.min(...samples.map((s) => s.tensors)),
    max: Math.max(...samples.map((s) => s.tensors)),
  },
  rewardServers: servers.pids.map((_, i) => ({
    rssAfterWarmupMiB: warm?.serverRssMiB[i] ?? null,
    rssEndMiB: end?.serverRssMiB[i] ?? null,
    rssGrowthPercent: growth(warm?.serverRssMiB[i], end?.serverRssMiB[i]),
  })),
  samples,
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ ...result, samples: undefined }, null, 2)}\n`);
