/**
 * Media limits and confinement with the real ffmpeg: a tiny 5000×5000 MP4 and a 100k-frame MP4 are refused from the
 * header (VIDEO_TOO_LARGE) before any frame is decoded, or decoded at the judge's size when allowed; playlists and
 * concat lists are refused (FORBIDDEN_PATH) before ffmpeg runs; frame counting without a declared count is bounded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VrGrpoError } from '../../src/errors/index.js';
import { lavfiClip } from './lavfi.js';
import { DEFAULT_MEDIA_LIMITS, fitWithin, Media, sniffBytes, type MediaLimits } from '../../src/media/index.js';

let dir: string;
let media: Media;

const lavfi = (file: string, source: string, frames: number, extra: readonly string[] = []): string => lavfiClip(path.join(dir, file), source, frames, extra);

async function rejection(promise: Promise<unknown>): Promise<VrGrpoError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(error instanceof VrGrpoError)) throw error instanceof Error ? error : new Error(String(error));
  return error;
}

const limits = (over: Partial<MediaLimits> = {}): MediaLimits => ({ ...DEFAULT_MEDIA_LIMITS, ...over });

let big: string;
let many: string;
let small: string;

beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-media-limits-')));
  media = await Media.create();
  big = lavfi('big.mp4', 'color=c=gray:s=5000x5000:r=1', 1);
  many = lavfi('many.mp4', 'color=c=gray:s=16x16:r=1000', 100_000);
  small = lavfi('small.mp4', 'testsrc=s=64x48:r=8', 6);
}, 60_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('container sniffing', () => {
  it('knows mp4/mov and matroska by their magic bytes, playlists by their text, and nothing else', () => {
    expect(sniffBytes(fs.readFileSync(small).subarray(0, 64))).toEqual({ kind: 'container', format: 'mov' });
    expect(sniffBytes(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42]))).toEqual({ kind: 'container', format: 'matroska' });
    for (const text of [
      '#EXTM3U\n#EXTINF:1,\n/etc/x.mp4',
      '\uFEFF  #extm3u',
      'ffconcat version 1.0\nfile /x.mp4',
      "file '/x.mp4'\n",
      '<?xml version="1.0"?><MPD>',
    ]) {
      expect(sniffBytes(Buffer.from(text, 'utf8')), text).toEqual({ kind: 'playlist' });
    }
    expect(sniffBytes(Buffer.from('GIF89a......'))).toEqual({ kind: 'unknown' });
    expect(sniffBytes(new Uint8Array(0))).toEqual({ kind: 'unknown' });
  });

  it('refuses an HLS playlist named .mp4 or .m3u8, and a concat list, with FORBIDDEN_PATH before ffprobe runs', async () => {
    const outside = lavfi('outside.mp4', 'color=c=white:s=32x32:r=8', 6);
    const playlists = {
      'hls.mp4': `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${outside}\n#EXT-X-ENDLIST\n`,
      'hls.m3u8': `#EXTM3U\n#EXTINF:10,\n${outside}\n`,
      'list.mp4': `ffconcat version 1.0\nfile '${outside}'\n`,
    };
    const before = media.spawnCount;
    for (const [name, text] of Object.entries(playlists)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      for (const attempt of [() => media.decode(file, { limits: limits() }), () => media.decode(file), () => media.probe(file)]) {
        const error = await rejection(attempt());
        expect(error.code, name).toBe('FORBIDDEN_PATH');
        expect(error.details.reason).toBe('playlist');
      }
    }
    expect(media.spawnCount).toBe(before);
  });

  it('forces the sniffed demuxer: a playlist behind mp4 magic bytes is not followed', async () => {
    // Starts like an ISO-BMFF file, then carries a playlist: the forced mov demuxer reads it as a (broken) MP4.
    const file = path.join(dir, 'disguised.mp4');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypisom\0\0\0\0'), Buffer.from(`#EXTM3U\n#EXTINF:1,\n${small}\n`)]));
    const error = await rejection(media.decode(file, { limits: limits() }));
    expect(error.code).toBe('VIDEO_DECODE_FAILED');
  });
});

describe('limits checked from the header, before decoding', () => {
  it('refuses a 75 KB one-frame 5000×5000 MP4 with VIDEO_TOO_LARGE after one ffprobe, no ffmpeg', async () => {
    expect(fs.statSync(big).size).toBeLessThan(200_000);
    const before = media.spawnCount;
    const error = await rejection(media.decode(big, { limits: limits(), maxPixels: 640 * 640 }));
    expect(error.code).toBe('VIDEO_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 'maxPixelsPerFrame', value: 25_000_000, max: 3840 * 2160 });
    expect(error.message).not.toContain(dir);
    expect(media.spawnCount - before).toBe(1);
  });

  it('decodes the same file at the judge size when its pixels are allowed: frames never come back at native size', async () => {
    const video = await media.decode(big, { limits: limits({ maxPixelsPerFrame: 5000 * 5000 }), maxPixels: 64 * 64 });
    expect({ width: video.width, height: video.height, frameCount: video.frameCount }).toEqual({ width: 64, height: 64, frameCount: 1 });
    expect(video.data.length).toBe(64 * 64 * 3);
  });

  it('refuses a 1.3 MB 100k-frame 16×16 MP4 from its declared frame count within a second or two', async () => {
    const started = performance.now();
    const error = await rejection(media.decode(many, { limits: limits() }));
    expect(error.code).toBe('VIDEO_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 'maxFrames', value: 100_000 });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('counts frames without a declared count (matroska) only up to maxFrames + 1', async () => {
    const mkv = lavfi('many.mkv', 'color=c=gray:s=16x16:r=1000', 20_000);
    const error = await rejection(media.decode(mkv, { limits: limits({ maxFrames: 50 }) }));
    expect(error.code).toBe('VIDEO_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 'maxFrames', value: 51, max: 50 });
    const ok = await media.decode(mkv, { limits: limits({ maxFrames: 20_000 }), indices: [0, 19_999] });
    expect(ok.frameCount).toBe(2);
  });

  it('refuses by duration and by decoded bytes, and lets admit() refuse before ffmpeg starts', async () => {
    const long = await rejection(media.decode(small, { limits: limits({ maxDurationSeconds: 0.1 }) }));
    expect(long.details).toMatchObject({ limit: 'maxDurationSeconds' });
    const bytes = await rejection(media.decode(small, { limits: limits({ maxDecodedBytes: 64 * 48 * 3 * 6 - 1 }) }));
    expect(bytes.code).toBe('VIDEO_TOO_LARGE');
    expect(bytes.details).toMatchObject({ limit: 'maxDecodedBytes', value: 64 * 48 * 3 * 6 });
    const before = media.spawnCount;
    const full = new VrGrpoError('OVERLOADED', 'budget full');
    const seen: number[] = [];
    const refused = await rejection(
      media.decode(small, {
        limits: limits(),
        maxPixels: 32 * 24,
        admit: (plan) => {
          seen.push(plan.width, plan.height, plan.frames, plan.bytes);
          throw full;
        },
      }),
    );
    expect(refused).toBe(full);
    expect(seen).toEqual([32, 24, 6, 32 * 24 * 3 * 6]);
    expect(media.spawnCount - before).toBe(1); // the header probe only
    const fine = await media.decode(small, { limits: limits({ maxDecodedBytes: 64 * 48 * 3 * 6 }) });
    expect(fine.frameCount).toBe(6);
  });

  it('fitWithin keeps the aspect ratio, never enlarges and stays within the budget', () => {
    expect(fitWithin(64, 48, 640 * 640)).toEqual({ width: 64, height: 48 });
    expect(fitWithin(5000, 5000, 64 * 64)).toEqual({ width: 64, height: 64 });
    const wide = fitWithin(5000, 3000, 4096);
    expect(wide.width * wide.height).toBeLessThanOrEqual(4096);
    expect(wide.width / wide.height).toBeCloseTo(5 / 3, 1);
    const thin = fitWithin(100_000, 1, 10);
    expect(thin.width * thin.height).toBeLessThanOrEqual(10);
  });
});
