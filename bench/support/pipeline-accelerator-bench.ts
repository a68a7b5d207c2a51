/**
 * `BENCH_MODE=accelerator npm run bench:pipeline`: sequential vs pipelined step time with accelerator-bound stand-ins
 * (bench/support/pipeline-accelerator.ts), the slowest stage and the ratios, and the exact-resume check. Service times
 * (milliseconds) from `BENCH_GENERATE_MS` (one rollout of the default step, spread per video), `BENCH_UPDATE_MS`,
 * `BENCH_JUDGMENT_MS` (one judgment), reward servers from `BENCH_REPLICAS`, steps of the resume check from
 * `BENCH_RESUME_STEPS` (default 6). Results to
 * bench/results/pipeline-accelerator.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, type Config } from '../../src/config/index.js';
import { machineInfo } from '../machine.js';
import { checkExactResume, measureAccelerator, type ServiceTimes } from './pipeline-accelerator.js';

export async function runAcceleratorBench(base: Config, steps: number): Promise<void> {
  const videos = base.training.promptsPerStep * base.training.groupSize;
  const generateMs = Number(process.env.BENCH_GENERATE_MS ?? 1000);
  const times: ServiceTimes = {
    generateMsPerVideo: generateMs / videos,
    updateMs: Number(process.env.BENCH_UPDATE_MS ?? 50),
    judgmentMs: Number(process.env.BENCH_JUDGMENT_MS ?? 150),
  };
  const rewardServers = Number(process.env.BENCH_REPLICAS ?? base.reward.localServers);
  const w = base.world;
  const generatorOptions = { size: { width: w.width, height: w.height, frameCount: w.frames, fps: w.fps } };
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-bench-accel-'));
  try {
    const common = { base, times, generatorOptions, rewardServers, steps, root };
    const sequential = await measureAccelerator({ ...common, staleness: 0 });
    const pipelined = await measureAccelerator({ ...common, staleness: 1 });
    // The generator stage holds the worker for the rollout and the update; the judge stage is the reward servers.
    const generatorStageMs = sequential.generateMs + sequential.updateMs;
    const slowest = Math.max(sequential.judgeMs, generatorStageMs);
    const resumeSteps = Number(process.env.BENCH_RESUME_STEPS ?? 6);
    const resume = await checkExactResume({ base, times, generatorOptions, rewardServers, steps: resumeSteps });
    const result = {
      benchmark: 'pipeline-accelerator',
      date: new Date().toISOString(),
      machine: machineInfo(),
      setup: {
        steps,
        rewardServers,
        promptsPerStep: base.training.promptsPerStep,
        groupSize: base.training.groupSize,
        rewardMode: base.reward.mode,
        rewardPlan: base.reward.plan,
        video: `${w.width}×${w.height}, ${w.frames} frames (${((w.width * w.height * 3 * w.frames) / 1000).toFixed(0)} kB raw)`,
        serviceTimesMs: { rolloutPerStep: generateMs, perVideo: times.generateMsPerVideo, update: times.updateMs, judgment: times.judgmentMs },
      },
      sequential,
      pipelined,
      stages: { generatorMs: generatorStageMs, judgeMs: sequential.judgeMs },
      slowestStageMs: slowest,
      pipelinedOverSlowest: pipelined.stepMs / slowest,
      speedup: sequential.stepMs / pipelined.stepMs,
      goal: {
        speedupAtLeast: 1.5,
        overSlowestAtMost: 1.1,
        met:
          sequential.stepMs / pipelined.stepMs >= 1.5 &&
          pipelined.stepMs / slowest <= 1.1 &&
          resume.maxStaleness <= 1 &&
          resume.metricsIdentical &&
          resume.advantagesIdentical,
      },
      exactResume: resume,
    };
    mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'pipeline-accelerator.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
