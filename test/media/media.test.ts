/** Tests Media against the real ffmpeg/ffprobe: encode → probe → decode round trips, frame selection, failures, timeouts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { frameAt, Media, type RawVideo } from '../../src/media/index.js';
import { childProcessNames, makeClip, maxAbsDiff, meanAbsErrorPerChannel, rejection, squareCentroid, writeScript, type Clip } from './fixtures.js';

let dir: string;
let media: Media;
let clip: Clip;
/** The clip encoded once in beforeAll (read-only afterwards). */
let mp4: string;
/** The full native-size decode of `mp4`, decoded once in beforeAll (read-only afterwards). */
let decoded: RawVideo;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-media-'));
  media = await Media.create();
  clip = makeClip(64, 64, 24, 8);
  mp4 = path.join(dir, 'clip.mp4');
  await media.encodeMp4(clip.video, mp4);
  decoded = await media.decode(mp4);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Live child processes that are ffmpeg, ffprobe or a fake standing in for them. */
function ffmpegChildren(): string[] {
  return (childProcessNames() ?? []).filter((name) => name.startsWith('ff') || name === 'sleep' || name === 'sh');
}

/**
 * A fake ffmpeg running `body`, except for the capability queries fluent-ffmpeg makes before its first real run
 * (`-formats`, `-encoders`), which go to the real binary so the fake is only exercised where the test means it.
 */
function fakeFfmpeg(name: string, body: string): string {
  const real = media.binaries.ffmpeg;
  return writeScript(path.join(dir, name), `case "$1" in -formats|-encoders|-codecs|-filters) exec "${real}" "$@";; esac\n${body}`);
}

describe('Media.encodeMp4 + probe', () => {
  it('writes a 64x64, 24-frame, 8 fps H.264 yuv420p MP4 and leaves no temp file', async () => {
    const info = await media.probe(mp4);
    expect(info).toEqual({
      width: 64,
      height: 64,
      frameCount: 24,
      fps: 8,
      durationSeconds: 3,
      codec: 'h264',
      pixelFormat: 'yuv420p',
    });
    expect(fs.readdirSync(dir).filter((name) => name.includes('clip'))).toEqual(['clip.mp4']);
  });

  it('puts the moov atom first (+faststart) so browsers can start playback while downloading', () => {
    const head = fs.readFileSync(mp4).subarray(0, 4096).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat') === -1 ? Infinity : head.indexOf('mdat'));
  });

  it('honours crf and preset (lossless-ish crf 0 is larger than crf 40)', async () => {
    const small = path.join(dir, 'crf40.mp4');
    const large = path.join(dir, 'crf0.mp4');
    await media.encodeMp4(clip.video, small, { crf: 40, preset: 'ultrafast' });
    await media.encodeMp4(clip.video, large, { crf: 0, preset: 'ultrafast' });
    expect(fs.statSync(large).size).toBeGreaterThan(fs.statSync(small).size);
  });

  it('rejects odd sizes, bad crf/preset and malformed videos with INVALID_ARGUMENT before spawning', async () => {
    const before = media.spawnCount;
    const odd = makeClip(63, 64, 2, 8).video;
    const error = await rejection(media.encodeMp4(odd, path.join(dir, 'odd.mp4')));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('63x64');
    const out = path.join(dir, 'bad.mp4');
    expect((await rejection(media.encodeMp4(clip.video, out, { crf: 52 }))).code).toBe('INVALID_ARGUMENT');
    const badPreset = { preset: 'warp' } as unknown as { preset: 'fast' };
    expect((await rejection(media.encodeMp4(clip.video, out, badPreset))).code).toBe('INVALID_ARGUMENT');
    const short = { ...clip.video, data: clip.video.data.subarray(1) };
    expect((await rejection(media.encodeMp4(short, out))).code).toBe('INVALID_ARGUMENT');
    expect(media.spawnCount).toBe(before);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('fails with VIDEO_ENCODE_FAILED when the output directory does not exist', async () => {
    const error = await rejection(media.encodeMp4(clip.video, path.join(dir, 'no-such-dir', 'x.mp4')));
    expect(error.code).toBe('VIDEO_ENCODE_FAILED');
    expect(error.details.reason).toBe('output directory missing');
  });
});

describe('Media.decode', () => {
  it('round-trips with low error per channel and the square within 1 px in every frame', () => {
    expect(decoded).toMatchObject({ width: 64, height: 64, frameCount: 24, fps: 8 });
    expect(decoded.data.length).toBe(24 * 64 * 64 * 3);
    const mae = meanAbsErrorPerChannel(clip.video.data, decoded.data);
    for (const channel of mae) expect(channel).toBeLessThan(6);
    for (let i = 0; i < 24; i += 1) {
      const [x, y] = squareCentroid(decoded, i);
      const [tx, ty] = clip.centroids[i] ?? [Number.NaN, Number.NaN];
      expect(Math.abs(x - tx), `frame ${i} x`).toBeLessThanOrEqual(1);
      expect(Math.abs(y - ty), `frame ${i} y`).toBeLessThanOrEqual(1);
    }
  });

  it('decodes at another size', async () => {
    const small = await media.decode(mp4, { width: 32, height: 32 });
    expect(small).toMatchObject({ width: 32, height: 32, frameCount: 24, fps: 8 });
    expect(small.data.length).toBe(24 * 32 * 32 * 3);
    const [x, y] = squareCentroid(small, 12);
    const [tx, ty] = clip.centroids[12] ?? [Number.NaN, Number.NaN];
    expect(Math.abs(x - tx / 2)).toBeLessThanOrEqual(1);
    expect(Math.abs(y - ty / 2)).toBeLessThanOrEqual(1);
  });

  it('decodes selected 0-based frames, de-duplicated, in ascending order, equal to the full decode', async () => {
    const picked = await media.decode(mp4, { indices: [23, 5, 0, 5] });
    expect(picked).toMatchObject({ width: 64, height: 64, frameCount: 3, fps: 8 });
    expect(picked.data.length).toBe(3 * 64 * 64 * 3);
    [0, 5, 23].forEach((source, k) => {
      expect(maxAbsDiff(frameAt(picked, k), frameAt(decoded, source)), `frame ${source}`).toBeLessThanOrEqual(1);
    });
  });

  it('rejects an index past the last frame with VIDEO_DECODE_FAILED, without running ffmpeg', async () => {
    const before = media.spawnCount;
    const error = await rejection(media.decode(mp4, { indices: [0, 24] }));
    expect(error.code).toBe('VIDEO_DECODE_FAILED');
    expect(error.details).toMatchObject({ path: mp4, reason: 'index out of range', index: 24, frameCount: 24 });
    expect(media.spawnCount).toBe(before + 1); // the probe only
  });

  it('rejects negative, fractional and empty index lists and half-given sizes with INVALID_ARGUMENT', async () => {
    const before = media.spawnCount;
    for (const indices of [[-1], [1.5], [], [Number.NaN]]) {
      expect((await rejection(media.decode(mp4, { indices }))).code).toBe('INVALID_ARGUMENT');
    }
    expect((await rejection(media.decode(mp4, { width: 32 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(media.decode(mp4, { width: 0, height: 32 }))).code).toBe('INVALID_ARGUMENT');
    expect(media.spawnCount).toBe(before);
  });
});

describe('Media failures', () => {
  it('reports a missing file as VIDEO_DECODE_FAILED without starting ffprobe', async () => {
    const missing = path.join(dir, 'missing.mp4');
    const before = media.spawnCount;
    for (const attempt of [() => media.probe(missing), () => media.decode(missing)]) {
      const error = await rejection(attempt());
      expect(error.code).toBe('VIDEO_DECODE_FAILED');
      expect(error.details).toMatchObject({ path: missing, reason: 'file not found', stderrTail: '' });
      expect(error.message).toContain(missing);
    }
    expect(media.spawnCount).toBe(before);
  });

  it('reports random bytes as VIDEO_DECODE_FAILED (unsupported container) without starting ffprobe', async () => {
    const rng = Rng.fromSeed(7);
    const junk = path.join(dir, 'junk.mp4');
    fs.writeFileSync(
      junk,
      Uint8Array.from({ length: 4096 }, () => rng.nextUint32() & 0xff),
    );
    const before = media.spawnCount;
    for (const attempt of [() => media.probe(junk), () => media.decode(junk)]) {
      const error = await rejection(attempt());
      expect(error.code).toBe('VIDEO_DECODE_FAILED');
      expect(error.details).toMatchObject({ path: junk, reason: 'unsupported container' });
    }
    expect(media.spawnCount).toBe(before);
  });

  it('reports random bytes behind MP4 magic bytes as VIDEO_DECODE_FAILED with the ffprobe stderr tail', async () => {
    const rng = Rng.fromSeed(7);
    const junk = path.join(dir, 'junk-ftyp.mp4');
    fs.writeFileSync(
      junk,
      Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypisom\0\0\0\0'), Uint8Array.from({ length: 4096 }, () => rng.nextUint32() & 0xff)]),
    );
    for (const attempt of [() => media.probe(junk), () => media.decode(junk)]) {
      const error = await rejection(attempt());
      expect(error.code).toBe('VIDEO_DECODE_FAILED');
      expect(error.details.path).toBe(junk);
      const tail = String(error.details.stderrTail);
      expect(tail).toMatch(/invalid data/i);
      expect(error.message).toContain(tail.split('\n').at(-1));
    }
  });

  it('reports a truncated MP4 as VIDEO_DECODE_FAILED with a stderr tail (probe and decode)', async () => {
    const truncated = path.join(dir, 'truncated.mp4');
    const bytes = fs.readFileSync(mp4);
    fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const attempts = [() => media.probe(truncated), () => media.decode(truncated), () => media.decode(truncated, { indices: [23] })];
    for (const attempt of attempts) {
      const error = await rejection(attempt());
      expect(error.code).toBe('VIDEO_DECODE_FAILED');
      expect(error.details.path).toBe(truncated);
      expect(String(error.details.stderrTail).length).toBeGreaterThan(0);
    }
  });

  it('kills ffmpeg/ffprobe on timeout and rejects with reason "timeout", leaving no process or file', async () => {
    const hasty = await Media.create({ timeoutMs: 1 });
    const out = path.join(dir, 'timeout.mp4');
    const encodeError = await rejection(hasty.encodeMp4(clip.video, out));
    expect(encodeError.code).toBe('VIDEO_ENCODE_FAILED');
    expect(encodeError.details.reason).toBe('timeout');
    const probeError = await rejection(hasty.probe(mp4));
    expect(probeError.code).toBe('VIDEO_DECODE_FAILED');
    expect(probeError.details.reason).toBe('timeout');
    expect(hasty.spawnCount).toBe(2);
    expect(ffmpegChildren()).toEqual([]);
    expect(fs.readdirSync(dir).filter((name) => name.includes('timeout'))).toEqual([]);
  });

  it('SIGKILLs a running ffmpeg that hangs (decode and encode, whose stdin pipe then breaks)', async () => {
    const sleeper = fakeFfmpeg('sleeping-ffmpeg', 'exec sleep 30');
    const hung = await Media.create({ ffmpegPath: sleeper, timeoutMs: 1000 });
    const started = Date.now();
    const decodeError = await rejection(hung.decode(mp4));
    expect(decodeError.code).toBe('VIDEO_DECODE_FAILED');
    expect(decodeError.details).toMatchObject({ path: mp4, reason: 'timeout' });
    const out = path.join(dir, 'hung.mp4');
    const encodeError = await rejection(hung.encodeMp4(clip.video, out));
    expect(encodeError.code).toBe('VIDEO_ENCODE_FAILED');
    expect(encodeError.details).toMatchObject({ path: out, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(hung.spawnCount).toBe(3); // probe + ffmpeg, then ffmpeg
    expect(ffmpegChildren()).toEqual([]);
    expect(fs.readdirSync(dir).filter((name) => name.includes('hung'))).toEqual([]);
  });

  it('keeps binaries per instance: a failing ffmpeg in one Media does not leak into another', async () => {
    const fake = fakeFfmpeg('broken-ffmpeg', 'echo "fake ffmpeg: refusing to work" >&2\nexit 1');
    const broken = await Media.create({ ffmpegPath: fake });
    const good = path.join(dir, 'concurrent-good.mp4');
    const [bad, ok] = await Promise.allSettled([broken.encodeMp4(clip.video, path.join(dir, 'concurrent-bad.mp4')), media.encodeMp4(clip.video, good)]);
    expect(ok.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    const error = await rejection(broken.encodeMp4(clip.video, path.join(dir, 'concurrent-bad.mp4')));
    expect(error.code).toBe('VIDEO_ENCODE_FAILED');
    expect(error.details.stderrTail).toContain('fake ffmpeg: refusing to work');
    expect(error.message).toContain('refusing to work');
    expect(fs.existsSync(path.join(dir, 'concurrent-bad.mp4'))).toBe(false);
    expect(ffmpegChildren()).toEqual([]);
  });
});

describe('Media.spawnCount', () => {
  it('counts 1 process per encode and probe, 2 per decode', async () => {
    const counted = await Media.create();
    expect(counted.spawnCount).toBe(0);
    const out = path.join(dir, 'counted.mp4');
    await counted.encodeMp4(makeClip(16, 16, 3, 8).video, out);
    expect(counted.spawnCount).toBe(1);
    await counted.probe(out);
    expect(counted.spawnCount).toBe(2);
    await counted.decode(out, { indices: [1] });
    expect(counted.spawnCount).toBe(4);
  });
});
