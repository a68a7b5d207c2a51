/** Test helpers for the media adapter: a synthetic clip with a known moving square, error capture, child-process census. */
import fs from 'node:fs';
import { isVrGrpoError, type VrGrpoError } from '../../src/errors/index.js';
import { frameAt, type RawVideo } from '../../src/media/index.js';

/** Side of the moving square, in pixels. */
export const SQUARE_SIZE = 10;
/** Colour of the moving square; the background's blue channel never exceeds {@link BACKGROUND_MAX_BLUE}. */
export const SQUARE_RGB = [40, 200, 235] as const;
export const BACKGROUND_MAX_BLUE = 70;

export interface Clip {
  readonly video: RawVideo;
  /** True centroid `[x, y]` of the square in each frame (pixel centres at integer + 0.5). */
  readonly centroids: readonly (readonly [number, number])[];
}

/**
 * A smooth colour gradient (red grows left→right, green top→bottom, blue nearly flat and low) with a
 * {@link SQUARE_SIZE}-pixel square moving right and bobbing up and down — content H.264 reproduces well.
 */
export function makeClip(width = 64, height = 64, frameCount = 24, fps = 8): Clip {
  const frameBytes = width * height * 3;
  const data = new Uint8Array(frameCount * frameBytes);
  const centroids: (readonly [number, number])[] = [];
  const travel = width - SQUARE_SIZE - 4;
  for (let f = 0; f < frameCount; f += 1) {
    const x0 = 2 + Math.round((travel * f) / Math.max(1, frameCount - 1));
    const y0 = Math.round(height / 2 - SQUARE_SIZE / 2 + (height / 5) * Math.sin((f * Math.PI) / 6));
    centroids.push([x0 + SQUARE_SIZE / 2, y0 + SQUARE_SIZE / 2]);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const o = f * frameBytes + (y * width + x) * 3;
        const inSquare = x >= x0 && x < x0 + SQUARE_SIZE && y >= y0 && y < y0 + SQUARE_SIZE;
        data[o] = inSquare ? SQUARE_RGB[0] : Math.round(30 + (180 * x) / (width - 1));
        data[o + 1] = inSquare ? SQUARE_RGB[1] : Math.round(30 + (180 * y) / (height - 1));
        data[o + 2] = inSquare ? SQUARE_RGB[2] : Math.round(50 + (20 * (x + y)) / (width + height - 2));
      }
    }
  }
  return { video: { width, height, frameCount, fps, data }, centroids };
}

/** Centroid `[x, y]` of the pixels whose blue channel is above the midpoint between background and square. */
export function squareCentroid(video: RawVideo, index: number): readonly [number, number] {
  const frame = frameAt(video, index);
  const threshold = (BACKGROUND_MAX_BLUE + SQUARE_RGB[2]) / 2;
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < video.height; y += 1) {
    for (let x = 0; x < video.width; x += 1) {
      if ((frame[(y * video.width + x) * 3 + 2] ?? 0) > threshold) {
        sx += x + 0.5;
        sy += y + 0.5;
        n += 1;
      }
    }
  }
  return n === 0 ? [Number.NaN, Number.NaN] : [sx / n, sy / n];
}

/** Mean absolute difference per channel (R, G, B) between two same-sized byte arrays of packed RGB24. */
export function meanAbsErrorPerChannel(a: Uint8Array, b: Uint8Array): [number, number, number] {
  const sums: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < a.length; i += 1) sums[(i % 3) as 0 | 1 | 2] += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  const pixels = a.length / 3;
  return [sums[0] / pixels, sums[1] / pixels, sums[2] / pixels];
}

/** Largest absolute byte difference. */
export function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

/** The VrGrpoError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<VrGrpoError> {
  try {
    await promise;
  } catch (error) {
    if (isVrGrpoError(error)) return error;
    throw error;
  }
  throw new Error('expected a VrGrpoError rejection, but the promise resolved');
}

/** The VrGrpoError `fn` throws synchronously. */
export function thrown(fn: () => unknown): VrGrpoError {
  try {
    fn();
  } catch (error) {
    if (isVrGrpoError(error)) return error;
    throw error;
  }
  throw new Error('expected a VrGrpoError to be thrown');
}

/** Names (comm) of this process's live child processes, read from /proc (Linux); `undefined` elsewhere. */
export function childProcessNames(): string[] | undefined {
  if (!fs.existsSync('/proc/self/stat')) return undefined;
  const names: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) === process.pid && fields[0] !== 'Z') names.push(stat.slice(open + 1, close));
  }
  return names;
}

/** Writes an executable shell script. */
export function writeScript(file: string, body: string): string {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}
