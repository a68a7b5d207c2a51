/**
 * `npm run bench:coordinator`: coordinator overhead per video with a zero-cost generator and judge (CPU time of the
 * coordinator itself), and memory over a long run of the embedded generator with a zero-cost judge (RSS growth after
 * warm-up, tfjs tensor count). Overhead: the median of BENCH_REPEATS (3) runs. Results to bench/results/coordinator.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../src/config/index.js';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { worldRun } from '../src/job/index.js';
import {
  EmbeddedGenerator,
  trainerOptionsFrom,
  type GenerateRequest,
  type GenerateResult,
  type RolloutAdvantages,
  type TrainableGenerator,
  type UpdateStats,
} from '../src/generator/index.js';
import { chooseTensorBackend, liveTensorCount } from '../src/tensor/index.js';
import { FakeJudge } from '../src/testing/fake-judge.js';
import { machineInfo, median } from './machine.js';

const MEMORY_STEPS = Number(process.env.BENCH_MEMORY_STEPS ?? 200);
const OVERHEAD_STEPS = Number(process.env.BENCH_OVERHEAD_STEPS ?? 50);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const base = loadConfig(DEFAULT_CONFIG_PATH);
await chooseTensorBackend(base.tensor.backend);
const tmp = mkdtempSync(join(tmpdir(), 'vrgrpo-bench-coord-'));

/** A generator that returns the same pre-rendered videos instantly. */
class ZeroCostGenerator implements TrainableGenerator {
  readonly name = 'zero-cost';
  private n = 0;
  constructor(private readonly template: GenerateResult) {}
  generate(request: GenerateRequest): Promise<GenerateResult> {
    const videos = this.template.videos
      .slice(0, request.prompts.length * request.groupSize)
      .map((v, i) => ({ ...v, prompt: request.prompts[Math.floor(i / request.groupSize)] ?? '' }));
    return Promise.resolve({ ...this.template, rolloutId: `z${++this.n}`, videos });
  }
  update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    const videos = rollouts.reduce((s, r) => s + r.advantages.length, 0);
    return Promise.resolve({
      rows: 0,
      videos,
      policyLoss: 0,
      klLoss: 0,
      approxKl: 0,
      clipFracHigh: 0,
      clipFracLow: 0,
      ratioMean: 1,
      ratioStd: 0,
      onPolicyMaxRatioDeviation: 0,
      gradNorm: 0,
    });
  }
  discard(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const config = { ...base, training: { ...base.training, evalEvery: 0, videosEvery: 0, tracesEvery: 0, checkpointEvery: 100_000 } };
// Overhead: zero-cost generator and judge; the CPU time is the coordinator's own.
const embedded = await EmbeddedGenerator.create({ config });
const template = await embedded.generate({
  prompts: [
    'a red circle staying still on a gray background',
    'a blue square moving up fast on a beige background',
    'a white cross moving left slowly on a navy background',
    'a green diamond moving down fast on a maroon background',
  ],
  groupSize: config.training.groupSize,
  seed: 1,
});
await embedded.close();
const videos = OVERHEAD_STEPS * config.training.promptsPerStep * config.training.groupSize;
const rounds: { cpuMsPerVideo: number; wallMsPerStep: number }[] = [];
for (let r = 0; r < REPEATS; r++) {
  const zero = await Coordinator.create({
    config,
    runDir: join(tmp, `overhead-${r}`),
    generator: new ZeroCostGenerator(template),
    ...worldRun(config, null),
    judge: new FakeJudge(),
    log: silentLogger(),
    steps: OVERHEAD_STEPS,
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await zero.runLoop();
  const cpu = process.cpuUsage(cpu0);
  rounds.push({ cpuMsPerVideo: (cpu.user + cpu.system) / 1000 / videos, wallMsPerStep: (performance.now() - t0) / OVERHEAD_STEPS });
}
const overhead = {
  steps: OVERHEAD_STEPS,
  videos,
  repeats: REPEATS,
  cpuMsPerVideo: median(rounds.map((x) => x.cpuMsPerVideo)),
  wallMsPerStep: median(rounds.map((x) => x.wallMsPerStep)),
  rounds,
  note: `medians over ${REPEATS} runs; includes the zero-cost judge (${config.reward.mode} rewards) and run-dir writes`,
};
process.stderr.write(`overhead: ${overhead.cpuMsPerVideo.toFixed(3)} ms CPU per video (median of ${REPEATS})\n`);

// Memory: the real embedded generator and trainer, zero-cost judge.
const gen = await EmbeddedGenerator.create({ config, trainer: trainerOptionsFrom(config, MEMORY_STEPS) });
const samples: { step: number; rssMiB: number; heapUsedMiB: number; externalMiB: number; arrayBuffersMiB: number; tensors: number }[] = [];
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const mem = await Coordinator.create({
  config,
  runDir: join(tmp, 'memory'),
  generator: gen,
  ...worldRun(config, gen),
  judge: new FakeJudge(),
  log: silentLogger(),
  steps: MEMORY_STEPS,
  onStep: (s) => {
    if (s.step > 0 && s.step % 10 === 0) {
      // RSS, and where it lives: the JS heap, memory outside it, and ArrayBuffers (the tfjs wasm heap is one).
      const m = process.memoryUsage();
      samples.push({
        step: s.step,
        rssMiB: m.rss / 2 ** 20,
        heapUsedMiB: mib(m.heapUsed),
        externalMiB: mib(m.external),
        arrayBuffersMiB: mib(m.arrayBuffers),
        tensors: liveTensorCount(),
      });
    }
  },
});
await mem.runLoop();
await gen.close();
const warm = samples.find((s) => s.step >= Math.min(50, MEMORY_STEPS / 4)) ?? samples[0];
const end = samples.at(-1);
const memory = {
  steps: MEMORY_STEPS,
  rssAfterWarmupMiB: warm?.rssMiB ?? null,
  rssEndMiB: end?.rssMiB ?? null,
  rssGrowthPercent: warm !== undefined && end !== undefined ? (100 * (end.rssMiB - warm.rssMiB)) / warm.rssMiB : null,
  tensorsAfterWarmup: warm?.tensors ?? null,
  tensorsEnd: end?.tensors ?? null,
  samples,
};
process.stderr.write(
  `memory: RSS ${memory.rssAfterWarmupMiB?.toFixed(0)} → ${memory.rssEndMiB?.toFixed(0)} MiB, tensors ${memory.tensorsAfterWarmup} → ${memory.tensorsEnd}\n`,
);
rmSync(tmp, { recursive: true, force: true });
const out = { benchmark: 'coordinator', date: new Date().toISOString(), machine: machineInfo(), overhead, memory };
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'coordinator.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ ...out, memory: { ...memory, samples: undefined } }, null, 2)}\n`);
