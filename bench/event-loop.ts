/**
 * `npm run bench:event-loop`: how long the reward server's event loop stalls under judging load, per mode (BENCH_MODES,
 * comma-separated; default `main,analysis,threads`):
 * - `main`: everything on the main thread — perception's frame analysis inline, ffprobe/ffmpeg spawned by `Media`;
 * - `analysis`: frame analysis in perception's analysis threads (`analysisThreads: 'auto'`), spawns on the main thread;
 * - `threads`: both off the loop — analysis threads and a `ThreadedMedia` (what `serve-reward` runs by default);
 * - `onnx`: as `main` with the ONNX session in its own thread (`thread: true`; `'auto'`, the default, keeps rm-v2's
 *   small model on the main thread), set by wrapping `OnnxModel.create` (see `forceThread`).
 * Per mode, in this process: a reward server with the embedded judge (models/rm-v2) on 127.0.0.1:0; BENCH_CLIENTS clients (default 2)
 * send pairwise judge requests over MP4s under the artifact root back to back; a prober GETs /healthz every 20 ms;
 * every BENCH_SWAP_MS (default 1000) a "hot swap" loads the checkpoint again (and closes the old copy), as an admin
 * swap does. Measured over BENCH_SECONDS (default 10): /healthz latency (p50, p99,
 * max), event-loop delay (perf_hooks.monitorEventLoopDelay: p50, p99, max), judgments/s, and the loop's stall while
 * the judge is first created (model load). BENCH_ROUNDS (default 2) rounds, modes alternating. Results (with the load
 * average: a busy shared machine inflates every figure) to bench/results/event-loop.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type * as ChildProcess from 'node:child_process';
// Types only (erased): the project's modules load below, after spawn is wrapped.
import type { Perception as PerceptionT } from '../src/judge/backends/embedded/perception/index.js';
import type { Media as MediaT } from '../src/media/index.js';
import type { OnnxModel as OnnxModelT } from '../src/onnx/index.js';

/**
 * Where the remaining stalls come from: synchronous time on the main thread of (a) `child_process.spawn` (ffmpeg and
 * ffprobe per video; fluent-ffmpeg takes `spawn` from the module object when it loads, hence the wrap before the
 * project's modules are imported below), (b) the synchronous part of `Perception.perceive` (frame analysis and feature
 * rows, JavaScript; with analysis threads, only the copy of the frames into the buffer that moves to a thread), and
 * (c) the duration of each ONNX run (on the main thread unless the mode is `onnx`). Spawns from a media thread are not
 * counted: that thread loads its own copy of child_process, and its forks do not stall this loop.
 */
const spans = { spawn: [] as number[], perceiveSync: [] as number[], onnxRun: [] as number[] };
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
const originalSpawn = childProcess.spawn;
childProcess.spawn = ((...args: Parameters<typeof originalSpawn>) => {
  const t0 = performance.now();
  try {
    return originalSpawn(...args);
  } finally {
    spans.spawn.push(performance.now() - t0);
  }
}) as typeof originalSpawn;

const { Rng, deriveSeed } = await import('../src/common/rng.js');
const { silentLogger } = await import('../src/common/logger.js');
const { PROJECT_ROOT } = await import('../src/config/index.js');
const { createEmbeddedJudge } = await import('../src/judge/backends/embedded/index.js');
const { Perception } = await import('../src/judge/backends/embedded/perception/index.js');
const { Media, ThreadedMedia } = await import('../src/media/index.js');
const { OnnxModel, exportMlpToOnnx } = await import('../src/onnx/index.js');
const { RewardServerClient } = await import('../src/reward-client/index.js');
const { RewardServer } = await import('../src/reward-server/index.js');
const { PromptGenerator, decodeLatent, promptText, renderScene, sampleDataLatent } = await import('../src/world/index.js');
const { machineInfo } = await import('./machine.js');

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply(this) below
const originalPerceive = Perception.prototype.perceive;
Perception.prototype.perceive = function (this: PerceptionT, ...args: Parameters<typeof originalPerceive>) {
  const t0 = performance.now();
  const result = originalPerceive.apply(this, args);
  spans.perceiveSync.push(performance.now() - t0);
  return result;
};
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply(this) below
const originalRun = OnnxModel.prototype.run;
OnnxModel.prototype.run = async function (this: OnnxModelT, ...args: Parameters<typeof originalRun>) {
  const t0 = performance.now();
  try {
    return await originalRun.apply(this, args);
  } finally {
    spans.onnxRun.push(performance.now() - t0);
  }
};

/**
 * The `thread` option every `OnnxModel.create` in this process gets (the judge and the hot swaps create theirs deep
 * inside src/judge): a bench-only wrap, like the ones above, so src needs no switch for it.
 */
let forceThread: boolean | null = null;
const originalCreate = OnnxModel.create.bind(OnnxModel);
OnnxModel.create = (source, expected, options = {}) => originalCreate(source, expected, forceThread === null ? options : { ...options, thread: forceThread });

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2);
const SWAP_MS = Number(process.env.BENCH_SWAP_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MODE_NAMES = ['main', 'analysis', 'threads', 'onnx'] as const;
type ModeName = (typeof MODE_NAMES)[number];
const MODES = (process.env.BENCH_MODES ?? 'main,analysis,threads').split(',').map((m) => {
  if (!(MODE_NAMES as readonly string[]).includes(m)) throw new Error(`BENCH_MODES: unknown mode ${m} (one of ${MODE_NAMES.join(', ')})`);
  return m as ModeName;
});
const HEAVY_RUNS = 5;
const PROBE_MS = 20;
const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface ModeResult {
  readonly mode: ModeName;
  /** Largest event-loop delay while the judge (its ONNX model) was first created, ms. */
  readonly createStallMs: number;
  readonly healthz: Stats & { readonly probes: number; readonly over100ms: number };
  readonly eventLoopDelayMs: Stats & { readonly mean: number };
  readonly judgments: number;
  readonly judgmentsPerSecond: number;
  readonly swaps: number;
  /** Synchronous main-thread time per call, ms: spawn (ffmpeg/ffprobe), perceive's JavaScript part, and ONNX run durations. */
  readonly spans: Record<keyof typeof spans, Stats & { readonly count: number; readonly totalMs: number }>;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function histogramMs(h: IntervalHistogram): Stats & { readonly mean: number } {
  return { p50: round(h.percentile(50) / 1e6), p99: round(h.percentile(99) / 1e6), max: round(h.max / 1e6), mean: round(h.mean / 1e6) };
}

/** One GET /healthz; its latency in ms. */
function probe(port: number, agent: Agent): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Writes `pairs` pairs of clips rendered from the world's data distribution as MP4s under `root`. */
async function writeClips(media: MediaT, root: string, pairs: number): Promise<{ prompt: string; a: string; b: string }[]> {
  const specs = new PromptGenerator({ seed: 11, split: 'heldout', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  const rng = Rng.fromSeed(deriveSeed(11, 1));
  const out: { prompt: string; a: string; b: string }[] = [];
  for (let i = 0; i < pairs; i++) {
    const spec = specs.next();
    const files = ['a', 'b'].map((s) => join(root, `${i}-${s}.mp4`));
    for (const file of files) {
      const latent = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
      await media.encodeMp4(renderScene(decodeLatent(latent), { frames: 24, fps: 8 }), file);
    }
    out.push({ prompt: promptText(spec), a: pathToFileURL(files[0] ?? '').href, b: pathToFileURL(files[1] ?? '').href });
  }
  return out;
}

async function runMode(mode: ModeName, plainMedia: MediaT, root: string, clips: readonly { prompt: string; a: string; b: string }[]): Promise<ModeResult> {
  forceThread = mode === 'onnx' ? true : null;
  const analysisThreads = mode === 'analysis' || mode === 'threads' ? 'auto' : 0;
  const threadedMedia = mode === 'threads' ? await ThreadedMedia.start() : null;
  const media = threadedMedia ?? plainMedia;
  const createDelay = monitorEventLoopDelay({ resolution: 1 });
  createDelay.enable();
  const judge = await createEmbeddedJudge({ modelDir: RM_V2, analysisThreads });
  await sleep(5); // let the monitor see the last stall
  createDelay.disable();
  const server = await RewardServer.start({ service: judge, media, log: silentLogger(), artifactRoot: root, host: '127.0.0.1', port: 0 });
  const port = Number(new URL(server.url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RewardServerClient.connect(server.url)));
  // Warm-up: one judgment per client, so first-run costs do not count.
  await Promise.all(
    clients.map((c, i) =>
      c.judge({ id: `w${i}`, prompt: clips[0]?.prompt ?? '', mode: 'pairwise', videos: [{ uri: clips[0]?.a ?? '' }, { uri: clips[0]?.b ?? '' }], options: {} }),
    ),
  );

  const delay = monitorEventLoopDelay({ resolution: 1 });
  const deadline = performance.now() + SECONDS * 1000;
  let judgments = 0;
  let swaps = 0;
  const latencies: number[] = [];
  for (const list of Object.values(spans)) list.length = 0;
  delay.enable();
  const start = performance.now();
  const load = clients.map(async (client, c) => {
    for (let k = 0; performance.now() < deadline; k++) {
      const clip = clips[(c + k * CLIENTS) % clips.length];
      if (clip === undefined) break;
      await client.judge({ id: `c${c}-${k}`, prompt: clip.prompt, mode: 'pairwise', videos: [{ uri: clip.a }, { uri: clip.b }], options: {} });
      judgments += 1;
    }
  });
  const prober = (async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      latencies.push(await probe(port, agent));
      await sleep(Math.max(0, PROBE_MS - (performance.now() - t)));
    }
  })();
  const swapper = (async () => {
    while (performance.now() + SWAP_MS < deadline) {
      await sleep(SWAP_MS);
      const next = await Perception.create(RM_V2, { analysisThreads });
      await next.close();
      swaps += 1;
    }
  })();
  await Promise.all([...load, prober, swapper]);
  const seconds = (performance.now() - start) / 1000;
  delay.disable();
  const spanStats = Object.fromEntries(
    Object.entries(spans).map(([name, list]) => {
      const sorted = [...list].sort((x, y) => x - y);
      const total = sorted.reduce((a, b) => a + b, 0);
      return [
        name,
        {
          count: sorted.length,
          totalMs: round(total),
          p50: round(quantile(sorted, 0.5)),
          p99: round(quantile(sorted, 0.99)),
          max: round(sorted[sorted.length - 1] ?? 0),
        },
      ];
    }),
  ) as ModeResult['spans'];
  await Promise.all(clients.map((c) => c.close()));
  agent.destroy();
  await server.close();
  await judge.close();
  await threadedMedia?.close();
  const sorted = [...latencies].sort((x, y) => x - y);
  return {
    mode,
    createStallMs: round(createDelay.max / 1e6),
    healthz: {
      probes: sorted.length,
      p50: round(quantile(sorted, 0.5)),
      p99: round(quantile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1] ?? NaN),
      over100ms: sorted.filter((x) => x > 100).length,
    },
    eventLoopDelayMs: histogramMs(delay),
    judgments,
    judgmentsPerSecond: round(judgments / seconds),
    swaps,
    spans: spanStats,
  };
}

/**
 * The mechanism alone, without the server: loop delay (max) while a heavy model (8 chained 512×512 MatMuls on 4096 rows,
 * a few hundred ms per run) is loaded and run HEAVY_RUNS times, per mode.
 */
async function heavyModel(thread: boolean): Promise<{ thread: boolean; runMs: Stats; loopDelayMaxMs: number }> {
  const width = 512;
  const rows = 4096;
  const layer = (n: number, m: number): { inSize: number; outSize: number; weights: Float32Array; bias: Float32Array } => ({
    inSize: n,
    outSize: m,
    weights: new Float32Array(n * m).fill(1 / n),
    bias: new Float32Array(m),
  });
  const bytes = exportMlpToOnnx({
    input: { name: 'x', size: width },
    trunk: Array.from({ length: 8 }, () => layer(width, width)),
    heads: [{ name: 'y', ...layer(width, 4), softmax: false }],
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const model = await OnnxModel.create(bytes, undefined, { thread });
  const times: number[] = [];
  for (let i = 0; i < HEAVY_RUNS; i++) {
    const t0 = performance.now();
    await model.run({ x: { data: new Float32Array(rows * width).fill(1), dims: [rows, width] } }, { transferInputs: true });
    times.push(performance.now() - t0);
  }
  await model.close();
  await sleep(5);
  delay.disable();
  const sorted = times.sort((x, y) => x - y);
  return {
    thread,
    runMs: { p50: round(quantile(sorted, 0.5)), p99: round(quantile(sorted, 0.99)), max: round(sorted[sorted.length - 1] ?? NaN) },
    loopDelayMaxMs: round(delay.max / 1e6),
  };
}

const machine = machineInfo();
const root = mkdtempSync(join(tmpdir(), 'vrgrpo-bench-el-'));
const media = await Media.create();
const results: (ModeResult & { readonly round: number })[] = [];
const heavy: Awaited<ReturnType<typeof heavyModel>>[] = [];
try {
  const clips = await writeClips(media, root, 8);
  for (const thread of [false, true]) heavy.push(await heavyModel(thread));
  // Modes alternate (ABC, CBA…) so a busy neighbour on a shared machine weighs on all alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) results.push({ round, ...(await runMode(mode, media, root, clips)) });
  }
} finally {
  forceThread = null;
  rmSync(root, { recursive: true, force: true });
}

const table = results.map((r) => ({
  round: r.round,
  mode: r.mode,
  'create stall ms': r.createStallMs,
  'healthz p50': r.healthz.p50,
  'healthz p99': r.healthz.p99,
  'healthz max': r.healthz.max,
  'healthz >100ms': `${r.healthz.over100ms}/${r.healthz.probes}`,
  'loop delay p99': r.eventLoopDelayMs.p99,
  'loop delay max': r.eventLoopDelayMs.max,
  'judgments/s': r.judgmentsPerSecond,
  swaps: r.swaps,
}));
console.table(
  heavy.map((h) => ({ thread: h.thread, 'heavy run p50 ms': h.runMs.p50, 'heavy run max ms': h.runMs.max, 'loop delay max ms': h.loopDelayMaxMs })),
);
console.table(table);
console.table(
  results.flatMap((r) =>
    Object.entries(r.spans).map(([name, st]) => ({
      round: r.round,
      mode: r.mode,
      span: name,
      calls: st.count,
      'total ms': st.totalMs,
      p50: st.p50,
      p99: st.p99,
      max: st.max,
    })),
  ),
);
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(PROJECT_ROOT, 'bench', 'results', 'event-loop.json'),
  `${JSON.stringify({ machine, loadAverage: loadavg(), modes: MODES, seconds: SECONDS, rounds: ROUNDS, clients: CLIENTS, swapEveryMs: SWAP_MS, probeEveryMs: PROBE_MS, heavy, results }, null, 2)}\n`,
);
