/**
 * `npm run bench:by-reference` (issue 20, "Videos by reference"): what the coordinator holds and carries when videos
 * travel as raw frames through it (`inline`) against as MP4 URIs (`reference`, protocol v2). For each clip size the real
 * coordinator (`TrainingJob`, in a process of its own per case) runs a few steps against a generator worker and two
 * reward servers in child processes — stand-ins that make clips of the size at once and judge by reading frame 0 through
 * the server's normal frame path, sharing one temp folder as artifact root — and meters, in the coordinator process, its
 * RSS (sampled every 50 ms) and the bytes of its sockets to the worker and the servers. Results to
 * bench/results/by-reference.json; docs/perf.md, "Videos by reference", reads them.
 *
 * `BENCH_SIZES=64x64x24,128x128x48` picks sizes (default: all four); `BENCH_STEPS` the steps per case (default 3).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.js';
import { machineInfo, median } from './machine.js';
import type { CoordinatorCase, CoordinatorResult } from './support/by-reference-coordinator.js';
import { startChildServer, stopChildServer, type ChildServer } from './support/child-server.js';

interface ClipSize {
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly frameCount: number;
}

const SIZES: readonly ClipSize[] = [
  { label: '64x64x24', width: 64, height: 64, frameCount: 24 },
  { label: '128x128x48', width: 128, height: 128, frameCount: 48 },
  { label: '256x256x48', width: 256, height: 256, frameCount: 48 },
  { label: '480x832x81', width: 832, height: 480, frameCount: 81 },
];
const FPS = 16;
const PROMPTS_PER_STEP = 2;
const GROUP_SIZE = 4;
const REWARD_SERVERS = 2;
const SAMPLE_MS = 50;
/** A case that has not finished by then is reported as failed with code TIMEOUT. */
const CASE_TIMEOUT_MS = 300_000;
const TOKEN = 'bench-by-reference';
/** Goals of issue 20: reference RSS flat within this fraction across sizes; bytes per video under this. */
const RSS_FLAT_FRACTION = 0.05;
const BYTES_PER_VIDEO_GOAL = 4000;
/**
 * Coordinator processes per reference case: their RSS differs by up to ~10 % from one process to the next whatever the
 * clip (start-up, not videos), so the medians of three are compared. Inline cases run once: their growth dwarfs it.
 */
const REFERENCE_REPEATS = Number(process.env.BENCH_REFERENCE_REPEATS ?? 3);

const STEPS = Number(process.env.BENCH_STEPS ?? 3);
const wanted = process.env.BENCH_SIZES?.split(',').map((s) => s.trim());
const sizes = wanted === undefined ? SIZES : SIZES.filter((s) => wanted.includes(s.label));
if (sizes.length === 0) throw new Error(`BENCH_SIZES names none of ${SIZES.map((s) => s.label).join(', ')}`);

type Limits = 'default' | 'raised';

interface CaseRow {
  readonly size: string;
  readonly rawBytesPerVideo: number;
  readonly delivery: 'inline' | 'reference';
  /** Reward-server limits: `default`, or `raised` (1 GiB messages, 4 GiB inline per connection, 8 GiB frame memory). */
  readonly rewardServerLimits: Limits;
  readonly videos: number;
  /** Medians over the repeats from here to `stepMs`. */
  readonly rssBeforeMiB: number;
  readonly peakRssMiB: number;
  readonly rssGrowthMiB: number;
  /** (bytes read from the worker + bytes written to the reward servers) / videos judged; null when no step finished. */
  readonly bytesPerVideo: number | null;
  /** Its two parts: bytes read from the generator worker, and bytes written to the reward servers, per video. */
  readonly fromGeneratorPerVideo: number | null;
  readonly toRewardServersPerVideo: number | null;
  readonly stepMs: number | null;
  /** Coordinator processes run for this case (each fresh, against the same worker and servers). */
  readonly repeats: number;
  /** Each coordinator process's measurements; the fields above are their medians. */
  readonly measured: readonly CoordinatorResult[];
  /** `null`, or the error code the run stopped with (TIMEOUT: killed after CASE_TIMEOUT_MS). */
  readonly fails: string | null;
  /** What failed, in words. */
  readonly failure: string | null;
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Runs the coordinator process of one case and reads its `result` line; a crash or a timeout becomes a failure. */
function runCoordinator(c: CoordinatorCase): Promise<CoordinatorResult> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', join(PROJECT_ROOT, 'bin', 'run-ts.js'), join(PROJECT_ROOT, 'bench', 'support', 'by-reference-coordinator.ts'), JSON.stringify(c)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise<CoordinatorResult>((resolve) => {
    let out = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = /^result (.*)$/m.exec(out)?.[1];
      if (line !== undefined) {
        resolve(JSON.parse(line) as CoordinatorResult);
        return;
      }
      const reason = timedOut ? 'TIMEOUT' : `EXIT_${String(code ?? signal)}`;
      resolve({
        rssBeforeBytes: 0,
        peakRssBytes: 0,
        rssSamples: 0,
        stepsDone: 0,
        stepMs: null,
        generator: { read: 0, written: 0 },
        rewardServers: { read: 0, written: 0 },
        judgments: 0,
        failedJudgments: 0,
        failuresByCode: {},
        failure: { code: reason, message: timedOut ? `no result in ${CASE_TIMEOUT_MS} ms` : 'the coordinator process exited without a result' },
      });
    });
  });
}

async function runCase(size: ClipSize, delivery: 'inline' | 'reference', limits: Limits): Promise<CaseRow> {
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-by-reference-'));
  const artifactRoot = join(root, 'artifacts');
  mkdirSync(artifactRoot);
  const children: ChildServer[] = [];
  try {
    const generator = await startChildServer('by-reference-server.ts', [
      'generator',
      String(size.width),
      String(size.height),
      String(size.frameCount),
      String(FPS),
      artifactRoot,
    ]);
    children.push(generator);
    for (let i = 0; i < REWARD_SERVERS; i++) children.push(await startChildServer('by-reference-server.ts', ['judge', TOKEN, artifactRoot, limits]));
    const repeats = delivery === 'reference' ? REFERENCE_REPEATS : 1;
    const measured: CoordinatorResult[] = [];
    for (let i = 0; i < repeats; i++) {
      measured.push(
        await runCoordinator({
          delivery,
          generatorUrl: generator.url,
          rewardUrls: children.slice(1).map((c) => c.url),
          token: TOKEN,
          steps: STEPS,
          promptsPerStep: PROMPTS_PER_STEP,
          groupSize: GROUP_SIZE,
          runDir: join(root, `run-${i}`),
          sampleMs: SAMPLE_MS,
        }),
      );
    }
    const videosOf = (m: CoordinatorResult): number => m.stepsDone * PROMPTS_PER_STEP * GROUP_SIZE;
    const of = (f: (m: CoordinatorResult) => number): number => median(measured.map(f));
    const done = measured.filter((m) => videosOf(m) > 0);
    // A run that stopped, or judgments that failed (the coordinator goes on without their rewards): both are failures.
    const stopped = measured.find((m) => m.failure !== null)?.failure ?? null;
    const failed = measured.find((m) => m.failedJudgments > 0);
    const failure =
      stopped ??
      (failed === undefined
        ? null
        : {
            code: Object.keys(failed.failuresByCode).join('+') || 'JUDGMENT_FAILED',
            message: `${failed.failedJudgments} of ${failed.judgments} judgments failed (${JSON.stringify(failed.failuresByCode)})`,
          });
    return {
      size: size.label,
      rawBytesPerVideo: size.width * size.height * 3 * size.frameCount,
      delivery,
      rewardServerLimits: limits,
      videos: of(videosOf),
      rssBeforeMiB: mib(of((m) => m.rssBeforeBytes)),
      peakRssMiB: mib(of((m) => m.peakRssBytes)),
      rssGrowthMiB: mib(of((m) => m.peakRssBytes - m.rssBeforeBytes)),
      bytesPerVideo: done.length === 0 ? null : Math.round(median(done.map((m) => (m.generator.read + m.rewardServers.written) / videosOf(m)))),
      fromGeneratorPerVideo: done.length === 0 ? null : Math.round(median(done.map((m) => m.generator.read / videosOf(m)))),
      toRewardServersPerVideo: done.length === 0 ? null : Math.round(median(done.map((m) => m.rewardServers.written / videosOf(m)))),
      stepMs: done.length === 0 ? null : Math.round(median(done.map((m) => m.stepMs ?? NaN))),
      repeats,
      measured,
      fails: failure?.code ?? null,
      failure: failure?.message ?? null,
    };
  } finally {
    await Promise.allSettled(children.map((c) => stopChildServer(c)));
    rmSync(root, { recursive: true, force: true });
  }
}

const machine = machineInfo();
const rows: CaseRow[] = [];
const show = (r: CaseRow): void => {
  const fails = r.fails === null ? '' : `  fails: ${r.fails} (${r.failure?.slice(0, 200) ?? ''})`;
  process.stdout.write(
    `${r.size.padEnd(11)} ${r.delivery.padEnd(9)} ${r.rewardServerLimits.padEnd(7)} rss before ${String(r.rssBeforeMiB).padStart(6)} MiB  peak ${String(r.peakRssMiB).padStart(7)} MiB  growth ${String(r.rssGrowthMiB).padStart(7)} MiB  ${String(r.bytesPerVideo ?? '-').padStart(10)} B/video  step ${String(r.stepMs ?? '-').padStart(6)} ms${fails}\n`,
  );
};
for (const size of sizes) {
  for (const delivery of ['inline', 'reference'] as const) {
    const row = await runCase(size, delivery, 'default');
    rows.push(row);
    show(row);
    // An inline case the default limits refuse runs again with the reward servers' limits raised, to see its cost.
    if (delivery === 'inline' && row.fails !== null) {
      const raised = await runCase(size, delivery, 'raised');
      rows.push(raised);
      show(raised);
    }
  }
}

const reference = rows.filter((r) => r.delivery === 'reference');
const referencePeaks = reference.filter((r) => r.fails === null).map((r) => r.peakRssMiB);
const spread = referencePeaks.length < 2 ? null : (Math.max(...referencePeaks) - Math.min(...referencePeaks)) / Math.min(...referencePeaks);
const maxBytes = Math.max(...reference.map((r) => r.bytesPerVideo ?? Infinity));
const goals = {
  rssFlat: {
    goal: `reference peak RSS within ${RSS_FLAT_FRACTION * 100} % from the smallest to the largest clip`,
    spreadPercent: spread === null ? null : Math.round(spread * 1000) / 10,
    /** The largest growth of peak RSS over the RSS before the first step, as a share of that RSS. */
    maxGrowthPercent: Math.round(Math.max(...reference.map((r) => r.rssGrowthMiB / r.rssBeforeMiB)) * 1000) / 10,
    met: spread !== null && reference.every((r) => r.fails === null) && spread <= RSS_FLAT_FRACTION,
  },
  bytesPerVideo: {
    goal: `reference bytes through the coordinator per video under ${BYTES_PER_VIDEO_GOAL}`,
    max: maxBytes,
    met: maxBytes < BYTES_PER_VIDEO_GOAL,
  },
};
process.stdout.write(`goals: ${JSON.stringify(goals)}\n`);

const out = {
  bench: 'by-reference',
  machine,
  settings: {
    steps: STEPS,
    promptsPerStep: PROMPTS_PER_STEP,
    groupSize: GROUP_SIZE,
    rewardMode: 'pointwise',
    pipelineStaleness: 0,
    rewardServers: REWARD_SERVERS,
    fps: FPS,
    rssSampleMs: SAMPLE_MS,
    referenceRepeats: REFERENCE_REPEATS,
    judgeCopy: null,
    bytesPerVideo: 'coordinator socket bytes read from the generator worker + written to the reward servers, over videos judged',
  },
  goals,
  rows,
};
if (wanted === undefined) writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'by-reference.json'), `${JSON.stringify(out, null, 2)}\n`);
else process.stdout.write('BENCH_SIZES set: results not written\n');
