import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeFrameStrip, stripFrames } from '../../src/dashboard/frame-strip.js';
import type { RawVideo } from '../../src/media/index.js';

/** A video whose frame f is solid (8f, 255 − 8f, 3f), with one white pixel at the top-left of frame 5. */
function solidVideo(width: number, height: number, frameCount: number): RawVideo {
  const data = new Uint8Array(width * height * 3 * frameCount);
  for (let f = 0; f < frameCount; f++) {
    for (let p = 0; p < width * height; p++) data.set([8 * f, 255 - 8 * f, 3 * f], (f * width * height + p) * 3);
  }
  if (frameCount > 5) data.set([255, 255, 255], 5 * width * height * 3);
  return { width, height, frameCount, fps: 8, data };
}

describe('frame strips', () => {
  it('keeps valid distinct frames in ascending order', () => {
    expect(stripFrames([7, 3, 3, -1, 1.5, 24, 0, 23], 24)).toEqual([0, 3, 7, 23]);
    expect(stripFrames([], 24)).toEqual([]);
  });

  it('lays the tiles of the given frames side by side, box-averaged down to the tile size', () => {
    const video = solidVideo(64, 48, 24);
    const frames = [0, 5, 17];
    const strip = encodeFrameStrip(video, frames, 32);
    expect([strip.tileWidth, strip.tileHeight]).toEqual([32, 24]);
    const png = PNG.sync.read(strip.png);
    expect([png.width, png.height]).toEqual([3 * 32, 24]);
    const at = (x: number, y: number): number[] => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
    frames.forEach((f, k) => expect(at(k * 32 + 10, 12), `tile ${k}`).toEqual([8 * f, 255 - 8 * f, 3 * f]));
    // The white pixel of frame 5 is averaged with three pixels of its 2×2 box into tile 1's top-left pixel.
    expect(at(32, 0)).toEqual([Math.round((255 + 3 * 40) / 4), Math.round((255 + 3 * 215) / 4), Math.round((255 + 3 * 15) / 4)]);
    // Small videos are not enlarged.
    expect(encodeFrameStrip(solidVideo(16, 16, 4), [1], 32)).toMatchObject({ tileWidth: 16, tileHeight: 16 });
  });
});
