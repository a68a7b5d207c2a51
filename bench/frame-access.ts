/**
 * `npm run bench:frame-access`: how the reward server gets frames — inline raw frames (a binary message; no ffmpeg)
 * vs MP4 files by file:// URI (ffmpeg decodes) — with the real embedded judge (rm-v2) in an in-process reward server
 * and a real client on loopback: judgments/s, ffmpeg spawns per judgment, decode time per video (probe + decode of
 * all frames, timed directly), and how many frame reads the judgment's decoded copy served (the cache hit rate: a file
 * is decoded once per judgment, on the first read; the initial frames and every select_frames call after it are
 * served from memory). BENCH_PAIRS (20) pairwise judgments of world videos (VR-Thinker's loop, with tool calls),
 * median of BENCH_REPEATS (3) rounds. Results to bench/results/frame-access.json.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../src/common/logger.js';
import { PROJECT_ROOT } from '../src/config/index.js';
import { createEmbeddedJudge } from '../src/judge/backends/embedded/index.js';
import type { FrameSource } from '../src/judge/frame-source.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../src/judge/judge-service.js';
import { Media, type RawVideo } from '../src/media/index.js';
import { RewardServerClient } from '../src/reward-client/index.js';
import { RewardServer, buildCanarySet } from '../src/reward-server/index.js';
import { machineInfo, median } from './machine.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 20);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const TOKEN = 'bench-frames';

/** Counts the frame reads the judge makes (each is served from the judgment's decoded copy after the first decode). */
class CountingService implements JudgeService {
  reads = 0;
  framesRead = 0;
  constructor(private readonly inner: JudgeService) {}
  get backendName(): string {
    return this.inner.backendName;
  }
  rmVersion(): string {
    return this.inner.rmVersion();
  }
  judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    const videos = request.videos.map((v): FrameSource => ({
      label: v.label,
      frameCount: () => v.frameCount(),
      size: () => v.size(),
      frames: (indices) => {
        this.reads += 1;
        this.framesRead += indices.length;
        return v.frames(indices);
      },
    }));
    return this.inner.judge({ ...request, videos }, hooks);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const root = realpathSync(mkdtempSync(join(tmpdir(), 'vrgrpo-bench-frames-')));
const media = await Media.create();
const items = buildCanarySet({ pairs: PAIRS, pointwise: 0, seed: 77 });
const pairs: { prompt: string; videos: RawVideo[]; files: string[] }[] = [];
for (const [i, item] of items.entries()) {
  const files: string[] = [];
  for (const [k, video] of item.videos.entries()) {
    const file = join(root, `p${i}-${k}.mp4`);
    await media.encodeMp4(video, file);
    files.push(file);
  }
  pairs.push({ prompt: item.prompt, videos: [...item.videos], files });
}
const videoCount = pairs.length * 2;
const judge = new CountingService(await createEmbeddedJudge({ modelDir: join(PROJECT_ROOT, 'models', 'rm-v2') }));
const server = await RewardServer.start({ service: judge, media, log: silentLogger(), artifactRoot: root, token: TOKEN, maxInFlightPerConnection: 64 });
const client = await RewardServerClient.connect(server.url, { token: TOKEN });

interface Round {
  readonly judgmentsPerSecond: number;
  readonly spawnsPerJudgment: number;
  readonly frameReadsPerJudgment: number;
  readonly hitRate: number;
}

async function round(mode: 'inline' | 'file', n: number): Promise<Round> {
  const spawns0 = media.spawnCount;
  const reads0 = judge.reads;
  const started = performance.now();
  await Promise.all(
    pairs.map(async (p, i) => {
      const id = `${mode}-${n}-${i}`;
      if (mode === 'inline') {
        await Promise.all(p.videos.map((v, k) => client.sendInlineVideo(`${id}-v${k}`, v)));
        await client.judge({ id, prompt: p.prompt, mode: 'pairwise', videos: p.videos.map((_, k) => ({ inline: `${id}-v${k}` })) });
      } else {
        await client.judge({ id, prompt: p.prompt, mode: 'pairwise', videos: p.files.map((f) => ({ uri: pathToFileURL(f).href })) });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const reads = judge.reads - reads0;
  // A file video is decoded once per judgment, on its first read; every other read is served from the decoded copy.
  const decodes = mode === 'file' ? videoCount : 0;
  return {
    judgmentsPerSecond: pairs.length / seconds,
    spawnsPerJudgment: (media.spawnCount - spawns0) / pairs.length,
    frameReadsPerJudgment: reads / pairs.length,
    hitRate: reads === 0 ? NaN : (reads - decodes) / reads,
  };
}

/** Probe + decode of every frame of each MP4, timed one at a time (what a file judgment pays per video). */
async function decodeMsPerVideo(): Promise<number> {
  const times: number[] = [];
  for (const p of pairs) {
    for (const f of p.files) {
      const t0 = performance.now();
      await media.decode(f);
      times.push(performance.now() - t0);
    }
  }
  return median(times);
}

const result: Record<string, unknown> = {
  benchmark: 'frame-access',
  date: new Date().toISOString(),
  machine: machineInfo(),
  setup: { pairs: pairs.length, repeats: REPEATS, video: '64×64, 24 frames, world scenes', judge: 'embedded rm-v2, pairwise' },
};
try {
  for (const mode of ['inline', 'file'] as const) {
    await round(mode, -1); // warm-up
    const rounds: Round[] = [];
    for (let r = 0; r < REPEATS; r++) rounds.push(await round(mode, r));
    const m = (k: keyof Round): number => median(rounds.map((x) => x[k]));
    result[mode] = {
      judgmentsPerSecond: m('judgmentsPerSecond'),
      spawnsPerJudgment: m('spawnsPerJudgment'),
      frameReadsPerJudgment: m('frameReadsPerJudgment'),
      cacheHitRate: m('hitRate'),
      ...(mode === 'file' ? { decodeMsPerVideo: await decodeMsPerVideo() } : {}),
    };
    process.stderr.write(`${mode}: ${JSON.stringify(result[mode])}\n`);
  }
} finally {
  await client.close();
  await server.close();
  await judge.close();
  rmSync(root, { recursive: true, force: true });
}
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'frame-access.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
