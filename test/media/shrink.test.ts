/** Box-averaging shrink of in-memory RGB24 frames, and RawFrameSource serving inline frames at the judge's size. */
import { describe, expect, it } from 'vitest';
import { VrGrpoError } from '../../src/errors/index.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import { shrinkFrame, type RawVideo } from '../../src/media/index.js';
import { Rng } from '../../src/common/rng.js';

function randomFrame(width: number, height: number, seed: number): Uint8Array {
  const rng = Rng.fromSeed(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => rng.nextUint32() & 0xff);
}

/** The reference: each output pixel is the mean of the source pixels (x, y) with ⌊x·ow/w⌋ = ox and ⌊y·oh/h⌋ = oy. */
function reference(rgb: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  const out = new Uint8Array(ow * oh * 3);
  for (let oy = 0; oy < oh; oy += 1) {
    for (let ox = 0; ox < ow; ox += 1) {
      for (let c = 0; c < 3; c += 1) {
        let sum = 0;
        let n = 0;
        for (let y = 0; y < h; y += 1) {
          if (Math.floor((y * oh) / h) !== oy) continue;
          for (let x = 0; x < w; x += 1) {
            if (Math.floor((x * ow) / w) !== ox) continue;
            sum += rgb[(y * w + x) * 3 + c] ?? 0;
            n += 1;
          }
        }
        out[(oy * ow + ox) * 3 + c] = Math.round(sum / n);
      }
    }
  }
  return out;
}

describe('shrinkFrame', () => {
  it('averages the source pixels that map onto each output pixel (even and uneven ratios)', () => {
    for (const [w, h, ow, oh, seed] of [
      [8, 6, 4, 3, 1],
      [7, 5, 3, 2, 2],
      [13, 9, 13, 4, 3],
      [5, 5, 1, 1, 4],
    ] as const) {
      const rgb = randomFrame(w, h, seed);
      expect(shrinkFrame(rgb, w, h, ow, oh), `${w}x${h}→${ow}x${oh}`).toEqual(reference(rgb, w, h, ow, oh));
    }
  });

  it('refuses to enlarge or to read a buffer of the wrong size', () => {
    const rgb = randomFrame(4, 4, 5);
    expect(() => shrinkFrame(rgb, 4, 4, 8, 4)).toThrow(VrGrpoError);
    expect(() => shrinkFrame(rgb.subarray(1), 4, 4, 2, 2)).toThrow(VrGrpoError);
  });
});

describe('RawFrameSource with a pixel budget', () => {
  const video: RawVideo = { width: 64, height: 32, frameCount: 3, fps: 8, data: randomFrame(64, 32 * 3, 9) };

  it('serves frames shrunk to the budget (aspect kept), equal to shrinkFrame of each frame, in the order asked', async () => {
    const source = new RawFrameSource(video, 'inline:x', undefined, 32 * 16);
    expect(await source.size()).toEqual({ width: 32, height: 16 });
    const frames = await source.frames([2, 0, 2]);
    const frameBytes = 64 * 32 * 3;
    const expected = (i: number): Uint8Array => shrinkFrame(video.data.subarray(i * frameBytes, (i + 1) * frameBytes), 64, 32, 32, 16);
    expect(frames).toEqual([expected(2), expected(0), expected(2)]);
    await expect(source.frames([3])).rejects.toMatchObject({ code: 'VIDEO_DECODE_FAILED' });
  });

  it('leaves frames within the budget untouched', async () => {
    const source = new RawFrameSource(video, 'inline:y', undefined, 64 * 32);
    expect(await source.size()).toEqual({ width: 64, height: 32 });
    expect((await source.frames([1]))[0]).toEqual(video.data.subarray(64 * 32 * 3, 2 * 64 * 32 * 3));
  });
});
