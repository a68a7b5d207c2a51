/**
 * The FrameSource contract suite against every implementation: RawFrameSource (inline frames), FileFrameSource (an
 * MP4 written and decoded by the real ffmpeg, at its native size and resized), and the reward server's
 * TrackedFrameSource around each; plus what the tracking wrapper adds (read timings, the first decode failure).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { FileFrameSource, RawFrameSource, type FrameSource } from '../../src/judge/frame-source.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import { TrackedFrameSource } from '../../src/reward-server/tracked-frame-source.js';
import { describeFrameSourceContract, type FrameSourceFixture } from './frame-source-contract.js';

const WIDTH = 64;
const HEIGHT = 48;
const FRAMES = 24;

/**
 * A smooth gradient whose brightness steps up by 8 per frame, with a 10-pixel square moving right: every frame differs
 * from its neighbours by far more than H.264 loses, so a frame can be told from its neighbours after an MP4 round trip.
 */
function clip(): RawVideo {
  const frameBytes = WIDTH * HEIGHT * 3;
  const data = new Uint8Array(FRAMES * frameBytes);
  for (let f = 0; f < FRAMES; f += 1) {
    const x0 = 2 + Math.round(((WIDTH - 14) * f) / (FRAMES - 1));
    const y0 = HEIGHT / 2 - 5;
    for (let y = 0; y < HEIGHT; y += 1) {
      for (let x = 0; x < WIDTH; x += 1) {
        const o = f * frameBytes + (y * WIDTH + x) * 3;
        const square = x >= x0 && x < x0 + 10 && y >= y0 && y < y0 + 10;
        const base = 20 + 8 * f;
        data[o] = square ? 240 : base + Math.round((30 * x) / (WIDTH - 1));
        data[o + 1] = square ? 240 : base + Math.round((20 * y) / (HEIGHT - 1));
        data[o + 2] = square ? 30 : base;
      }
    }
  }
  return { width: WIDTH, height: HEIGHT, frameCount: FRAMES, fps: 8, data };
}

/** `video` shrunk by 2 in each direction, averaging each 2×2 block (what a resizing decode should approximate). */
function halve(video: RawVideo): RawVideo {
  const w = video.width / 2;
  const h = video.height / 2;
  const data = new Uint8Array(video.frameCount * w * h * 3);
  for (let f = 0; f < video.frameCount; f += 1) {
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) {
        for (let c = 0; c < 3; c += 1) {
          let sum = 0;
          for (const [dx, dy] of [
            [0, 0],
            [1, 0],
            [0, 1],
            [1, 1],
          ] as const)
            sum += video.data[((f * video.height + 2 * y + dy) * video.width + 2 * x + dx) * 3 + c] ?? 0;
          data[((f * h + y) * w + x) * 3 + c] = Math.round(sum / 4);
        }
      }
    }
  }
  return { width: w, height: h, frameCount: video.frameCount, fps: video.fps, data };
}

interface Files {
  readonly media: Media;
  readonly video: RawVideo;
  readonly mp4: string;
  readonly missing: string;
  readonly garbage: string;
  readonly truncated: string;
}

let dir: string | null = null;
let files: Promise<Files> | null = null;

/** The MP4 and the unreadable files, written once for every suite of this file. */
function prepare(): Promise<Files> {
  files ??= (async (): Promise<Files> => {
    const root = mkdtempSync(join(tmpdir(), 'vr-grpo-frame-source-'));
    dir = root;
    const media = await Media.create();
    const video = clip();
    const mp4 = join(root, 'clip.mp4');
    await media.encodeMp4(video, mp4);
    const garbage = join(root, 'garbage.mp4');
    writeFileSync(garbage, Buffer.from('this is not a video, only its name says so\n'.repeat(64)));
    const truncated = join(root, 'truncated.mp4');
    const bytes = readFileSync(mp4);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    return { media, video, mp4, missing: join(root, 'missing.mp4'), garbage, truncated };
  })();
  return files;
}

afterAll(() => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
});

/** Mean absolute error per byte H.264 (default CRF) may add to this clip, measured ≈ 1–2; 6 leaves room. */
const LOSSY = 6;

const unreadableFiles = (f: Files, wrap: (s: FrameSource) => FrameSource = (s) => s): FrameSourceFixture['unreadable'] => [
  { name: 'missing file', fresh: () => wrap(new FileFrameSource(f.media, f.missing)) },
  { name: 'not a video', fresh: () => wrap(new FileFrameSource(f.media, f.garbage)) },
  { name: 'truncated MP4', fresh: () => wrap(new FileFrameSource(f.media, f.truncated)) },
];

describeFrameSourceContract('RawFrameSource (inline frames)', () => {
  const video = clip();
  return Promise.resolve({ fresh: () => new RawFrameSource(video, 'inline:v1', 'conn-1/g0/v1'), expected: video, tolerance: 0, unreadable: [] });
});

describeFrameSourceContract(
  'FileFrameSource (MP4 through ffmpeg, native size)',
  async () => {
    const f = await prepare();
    return { fresh: () => new FileFrameSource(f.media, f.mp4), expected: f.video, tolerance: LOSSY, unreadable: unreadableFiles(f) };
  },
  { canFail: true },
);

describeFrameSourceContract('FileFrameSource (MP4 through ffmpeg, resized to half size)', async () => {
  const f = await prepare();
  return {
    fresh: () => new FileFrameSource(f.media, f.mp4, { width: WIDTH / 2, height: HEIGHT / 2 }),
    expected: halve(f.video),
    tolerance: LOSSY,
    unreadable: [],
  };
});

describeFrameSourceContract('TrackedFrameSource around inline frames', () => {
  const video = clip();
  return Promise.resolve({
    fresh: () => new TrackedFrameSource(new RawFrameSource(video, 'inline:v1'), () => undefined, 'conn-1/g0/v1'),
    expected: video,
    tolerance: 0,
    unreadable: [],
  });
});

describeFrameSourceContract(
  'TrackedFrameSource around an MP4 file',
  async () => {
    const f = await prepare();
    const track = (s: FrameSource): FrameSource => new TrackedFrameSource(s);
    return { fresh: () => track(new FileFrameSource(f.media, f.mp4)), expected: f.video, tolerance: LOSSY, unreadable: unreadableFiles(f, track) };
  },
  { canFail: true },
);

describe('TrackedFrameSource: what it adds to its source', () => {
  let f: Files;
  beforeAll(async () => {
    f = await prepare();
  });

  it('reports each successful read (seconds, frames) and none of a refused one; passes label and cacheKey through', async () => {
    const reads: [number, number][] = [];
    const inner = new FileFrameSource(f.media, f.mp4);
    const tracked = new TrackedFrameSource(inner, (seconds, frames) => reads.push([seconds, frames]), 'k1');
    expect([tracked.label, tracked.cacheKey]).toEqual([f.mp4, 'k1']);
    await tracked.frames([0, 3, 3]);
    await tracked.frames([]);
    expect(isVrGrpoError(await tracked.frames([FRAMES]).catch((e: unknown) => e), 'VIDEO_DECODE_FAILED')).toBe(true);
    expect(reads.map(([, n]) => n)).toEqual([3, 0]);
    expect(reads.every(([s]) => Number.isFinite(s) && s >= 0)).toBe(true);
  });

  it('remembers the first VIDEO_DECODE_FAILED of its source, whichever call raised it', async () => {
    const tracked = new TrackedFrameSource(new FileFrameSource(f.media, f.garbage));
    expect(tracked.decodeFailure).toBeNull();
    const first = await tracked.size().catch((e: unknown) => e);
    expect(isVrGrpoError(first, 'VIDEO_DECODE_FAILED')).toBe(true);
    await tracked.frames([0]).catch(() => undefined);
    expect(tracked.decodeFailure).toBe(first);
    const fine = new TrackedFrameSource(new FileFrameSource(f.media, f.mp4));
    await fine.frames([0]);
    expect(fine.decodeFailure).toBeNull();
  });
});
