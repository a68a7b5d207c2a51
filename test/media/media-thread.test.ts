/**
 * ThreadedMedia against the plain Media, with the real ffmpeg: the same frames, plans, probes, error codes and
 * details through the thread; the admission check on the caller's side; spawn counts; close; a responsive caller.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VrGrpoError } from '../../src/errors/index.js';
import { DEFAULT_MEDIA_LIMITS, Media, ThreadedMedia, type DecodePlan, type MediaPort } from '../../src/media/index.js';
import { lavfiClip } from './lavfi.js';

let dir: string;
let plain: Media;
let threaded: ThreadedMedia;
let clip: string;

async function rejection(promise: Promise<unknown>): Promise<VrGrpoError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(error instanceof VrGrpoError)) throw error instanceof Error ? error : new Error(String(error));
  return error;
}

/** An error as the caller sees it: code, message and details. */
const shape = (e: VrGrpoError): unknown => ({ code: e.code, message: e.message, details: e.details });

beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-media-thread-')));
  clip = lavfiClip(path.join(dir, 'clip.mp4'), 'testsrc=s=96x64:r=8', 12);
  fs.writeFileSync(path.join(dir, 'list.mp4'), `ffconcat version 1.0\nfile '${clip}'\n`);
  fs.writeFileSync(path.join(dir, 'junk.mp4'), Buffer.alloc(4096, 7));
  [plain, threaded] = await Promise.all([Media.create(), ThreadedMedia.start()]);
}, 60_000);

afterAll(async () => {
  await threaded.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ThreadedMedia', () => {
  it('decodes and probes exactly what Media does, and counts its spawns', async () => {
    const opts = { indices: [9, 2, 2, 5], maxPixels: 48 * 32, limits: DEFAULT_MEDIA_LIMITS };
    const before = threaded.spawnCount;
    const [a, b] = await Promise.all([plain.decode(clip, opts), threaded.decode(clip, opts)]);
    expect(threaded.spawnCount - before, 'header probe + ffmpeg (the mp4 declares its frame count)').toBe(2);
    expect({ ...b, data: Buffer.from(b.data).toString('base64') }).toEqual({ ...a, data: Buffer.from(a.data).toString('base64') });
    expect(Object.isFrozen(b)).toBe(true);
    expect(await threaded.probe(clip)).toEqual(await plain.probe(clip));
  });

  it('runs the admission check here with the plan Media gives it, and forgets a refused decode', async () => {
    const plans: DecodePlan[] = [];
    const refuse = (plan: DecodePlan): void => {
      plans.push(plan);
      throw new VrGrpoError('OVERLOADED', 'frame budget full', { details: { bytes: plan.bytes } });
    };
    const media: readonly MediaPort[] = [plain, threaded];
    const errors: VrGrpoError[] = [];
    for (const m of media) {
      const before = m.spawnCount;
      errors.push(await rejection(m.decode(clip, { maxPixels: 48 * 32, admit: refuse })));
      expect(m.spawnCount - before, 'the header probe only: ffmpeg never started').toBe(1);
    }
    expect(plans[1]).toEqual(plans[0]);
    expect(errors.map(shape)).toEqual([shape(errors[0] as VrGrpoError), shape(errors[0] as VrGrpoError)]);
    expect(errors[1]?.code).toBe('OVERLOADED');
    let admitted: DecodePlan | null = null;
    const video = await threaded.decode(clip, { admit: (plan) => (admitted = plan) });
    expect(admitted).toMatchObject({ frames: 12, width: 96, height: 64, bytes: video.data.length });
  });

  it('brings back the codes and details of Media errors', async () => {
    const cases: [string, Parameters<Media['decode']>[1]][] = [
      [clip, { limits: { ...DEFAULT_MEDIA_LIMITS, maxPixelsPerFrame: 1000 } }],
      [clip, { indices: [12] }],
      [clip, { indices: [-1] }],
      [path.join(dir, 'list.mp4'), {}],
      [path.join(dir, 'junk.mp4'), {}],
      [path.join(dir, 'missing.mp4'), {}],
    ];
    for (const [file, opts] of cases) {
      const a = await rejection(plain.decode(file, opts));
      const b = await rejection(threaded.decode(file, opts));
      expect(shape(b), `${file} ${JSON.stringify(opts)}`).toEqual(shape(a));
    }
    const codes = await Promise.all(cases.map(([file, opts]) => rejection(plain.decode(file, opts)).then((e) => e.code)));
    expect(new Set(codes)).toEqual(new Set(['VIDEO_TOO_LARGE', 'VIDEO_DECODE_FAILED', 'INVALID_ARGUMENT', 'FORBIDDEN_PATH']));
    expect(shape(await rejection(threaded.probe(path.join(dir, 'missing.mp4'))))).toEqual(shape(await rejection(plain.probe(path.join(dir, 'missing.mp4')))));
  });

  it('keeps the caller turning while the thread decodes', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    try {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 6 }, () => threaded.decode(clip)));
      // Precondition of the bound below: the decodes took long enough for several ticks.
      expect(performance.now() - t0).toBeGreaterThan(30);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(3);
  });

  it('lets calls in flight finish on close, then refuses calls with VIDEO_DECODE_FAILED; close is idempotent', async () => {
    const closing = await ThreadedMedia.start();
    const inFlight = closing.decode(clip);
    await Promise.all([closing.close(), closing.close()]);
    expect((await inFlight).frameCount).toBe(12);
    expect((await rejection(closing.decode(clip))).code).toBe('VIDEO_DECODE_FAILED');
    expect((await rejection(ThreadedMedia.start({ ffmpegPath: path.join(dir, 'no-ffmpeg') }))).code).toBe('FFMPEG_NOT_FOUND');
  });
});
