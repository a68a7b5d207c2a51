/**
 * Thumbnail strips for the dashboard: the frames a judge viewed of one video, shrunk to small tiles (at most
 * {@link DEFAULT_THUMBNAIL_SIDE} px a side, box-averaged) and laid side by side in one PNG, in the order of `frames`.
 * The coordinator writes one per video of a sampled group next to its MP4 (`videos/step-…/v3.frames.png`); the page
 * cuts tile k out of it for frame `frames[k]`. One small file per video keeps requests and bytes low.
 */
import { PNG } from 'pngjs';
import type { RawVideo } from '../media/index.js';

/** Default longest side of a tile, in px. */
export const DEFAULT_THUMBNAIL_SIDE = 32;
/** Most tiles in one strip (a video's frames beyond it are left out). */
export const MAX_STRIP_FRAMES = 256;

/** A strip as the page needs it: where it is, which frame each tile shows, and the tile size. */
export interface FrameStripRecord {
  /** Relative to the run directory, e.g. `videos/step-000025/v3.frames.png`. */
  readonly src: string;
  /** 0-based frame of each tile, left to right (ascending). */
  readonly frames: readonly number[];
  readonly tileWidth: number;
  readonly tileHeight: number;
}

/** The frames a strip holds: valid, distinct, ascending, at most {@link MAX_STRIP_FRAMES}. */
export function stripFrames(frames: Iterable<number>, frameCount: number): number[] {
  const valid = [...new Set(frames)].filter((f) => Number.isInteger(f) && f >= 0 && f < frameCount);
  return valid.sort((a, b) => a - b).slice(0, MAX_STRIP_FRAMES);
}

/**
 * Encodes the strip of `frames` (already as {@link stripFrames} returns them) of `video`: PNG bytes and the tile size.
 * Tiles shrink by the smallest whole factor that brings the longest side to at most `maxSide`.
 */
export function encodeFrameStrip(
  video: RawVideo,
  frames: readonly number[],
  maxSide = DEFAULT_THUMBNAIL_SIDE,
): { readonly png: Buffer; readonly tileWidth: number; readonly tileHeight: number } {
  const factor = Math.max(1, Math.ceil(Math.max(video.width, video.height) / Math.max(1, maxSide)));
  const tileWidth = Math.max(1, Math.floor(video.width / factor));
  const tileHeight = Math.max(1, Math.floor(video.height / factor));
  const png = new PNG({ width: Math.max(1, frames.length) * tileWidth, height: tileHeight });
  const frameBytes = video.width * video.height * 3;
  const out = png.data;
  frames.forEach((f, k) => {
    const base = f * frameBytes;
    for (let ty = 0; ty < tileHeight; ty++) {
      for (let tx = 0; tx < tileWidth; tx++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++) {
            const i = base + ((ty * factor + dy) * video.width + tx * factor + dx) * 3;
            r += video.data[i] ?? 0;
            g += video.data[i + 1] ?? 0;
            b += video.data[i + 2] ?? 0;
          }
        }
        const n = factor * factor;
        const o = (ty * png.width + k * tileWidth + tx) * 4;
        out[o] = Math.round(r / n);
        out[o + 1] = Math.round(g / n);
        out[o + 2] = Math.round(b / n);
        out[o + 3] = 255;
      }
    }
  });
  return { png: PNG.sync.write(png, { colorType: 2 }), tileWidth, tileHeight };
}
