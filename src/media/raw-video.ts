/** Raw decoded video — packed RGB24 frames in one frame-major buffer — with helpers to view and validate it. */
import { VrGrpoError } from '../errors/index.js';

/** Bytes per pixel of packed RGB24. */
export const RGB24_BYTES_PER_PIXEL = 3;

/**
 * A clip of uncompressed frames. Pixel format is packed RGB24 (`r, g, b` per pixel, row-major), frames stored one
 * after another, so `data.length === frameCount * height * width * 3` and frame `i` starts at byte
 * `i * height * width * 3`.
 */
export interface RawVideo {
  /** Frame width in pixels. */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Number of frames in `data`. */
  readonly frameCount: number;
  /** Frames per second (may be fractional, e.g. 30000/1001). */
  readonly fps: number;
  /** All frames, packed RGB24, frame-major. */
  readonly data: Uint8Array;
}

/** Size in bytes of one RGB24 frame of `width × height` pixels. */
export function frameByteLength(width: number, height: number): number {
  return width * height * RGB24_BYTES_PER_PIXEL;
}

/** Frame `index` (0-based) of `video` as a view into `video.data` (no copy: writes to it change the video). */
export function frameAt(video: RawVideo, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= video.frameCount) {
    throw new VrGrpoError('INVALID_ARGUMENT', `frame index ${index} is outside 0..${video.frameCount - 1}`, {
      details: { index, frameCount: video.frameCount },
    });
  }
  const size = frameByteLength(video.width, video.height);
  return video.data.subarray(index * size, (index + 1) * size);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/**
 * Checks that `value` is a well-formed {@link RawVideo}: positive integer width and height, non-negative integer
 * frame count, finite positive fps, and a `Uint8Array` of exactly `frameCount * height * width * 3` bytes.
 * Throws `INVALID_ARGUMENT` naming the first field that is wrong.
 */
export function assertRawVideo(value: unknown): asserts value is RawVideo {
  const fail = (field: string, reason: string, got: unknown): never => {
    throw new VrGrpoError('INVALID_ARGUMENT', `invalid RawVideo: ${field} ${reason} (got ${String(got)})`, {
      details: { field, reason },
    });
  };
  if (typeof value !== 'object' || value === null) return fail('video', 'must be an object', value);
  const v = value as Partial<Record<keyof RawVideo, unknown>>;
  if (!isPositiveInteger(v.width)) return fail('width', 'must be a positive integer', v.width);
  if (!isPositiveInteger(v.height)) return fail('height', 'must be a positive integer', v.height);
  const frameCount = v.frameCount;
  if (typeof frameCount !== 'number' || !Number.isInteger(frameCount) || frameCount < 0) {
    return fail('frameCount', 'must be a non-negative integer', frameCount);
  }
  if (typeof v.fps !== 'number' || !Number.isFinite(v.fps) || v.fps <= 0) {
    return fail('fps', 'must be a finite number > 0', v.fps);
  }
  if (!(v.data instanceof Uint8Array)) return fail('data', 'must be a Uint8Array', typeof v.data);
  const expected = frameCount * frameByteLength(v.width, v.height);
  if (v.data.length !== expected) {
    return fail('data', `must hold frameCount*height*width*3 = ${expected} bytes`, v.data.length);
  }
}
