/**
 * Media limits checked from the probe, before a single frame is decoded: pixels per frame, frames, duration and the
 * decoded bytes, plus the size frames are decoded to (shrunk to a pixel budget, aspect kept, never enlarged).
 */
import { VrGrpoError } from '../errors/index.js';

/** Limits a video must respect before it is decoded. Every field is a hard upper bound. */
export interface MediaLimits {
  /** Most pixels (width·height) of the stream's native frames; ffmpeg's decoder is capped at it too (`-max_pixels`). */
  readonly maxPixelsPerFrame: number;
  /** Most frames in the stream (declared by the container, else counted up to this bound). */
  readonly maxFrames: number;
  /** Longest stream, in seconds. */
  readonly maxDurationSeconds: number;
  /** Most bytes the decoded RGB24 frames may take, at the size they are decoded to. */
  readonly maxDecodedBytes: number;
}

/** Default most pixels per native frame: 3840×2160 (4K UHD). */
export const DEFAULT_MAX_PIXELS_PER_FRAME = 3840 * 2160;
/** Default most frames per video. */
export const DEFAULT_MAX_FRAMES = 4096;
/** Default longest video, in seconds. */
export const DEFAULT_MAX_DURATION_SECONDS = 600;
/** Default most decoded bytes per video (RGB24 at the decoded size): 256 MiB. */
export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;
/** Default pixel budget of a decoded frame (640×640): larger frames are shrunk to it, aspect kept. */
export const DEFAULT_DECODE_MAX_PIXELS = 640 * 640;

/** The defaults above, frozen. */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = Object.freeze({
  maxPixelsPerFrame: DEFAULT_MAX_PIXELS_PER_FRAME,
  maxFrames: DEFAULT_MAX_FRAMES,
  maxDurationSeconds: DEFAULT_MAX_DURATION_SECONDS,
  maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES,
});

/** What a decode will produce, known from the probe before decoding; given to `DecodeOptions.admit`. */
export interface DecodePlan {
  readonly file: string;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
  /** Size of the decoded frames. */
  readonly width: number;
  readonly height: number;
  /** Frames that will be decoded. */
  readonly frames: number;
  /** Bytes of the decoded RGB24 frames. */
  readonly bytes: number;
}

/**
 * `width × height` shrunk (aspect kept, each side rounded, at least 1) so that it holds at most `maxPixels` pixels;
 * unchanged when it already does.
 */
export function fitWithin(width: number, height: number, maxPixels: number): { readonly width: number; readonly height: number } {
  if (width * height <= maxPixels) return { width, height };
  const scale = Math.sqrt(maxPixels / (width * height));
  let w = Math.max(1, Math.floor(width * scale));
  let h = Math.max(1, Math.floor(height * scale));
  // Flooring keeps w·h ≤ maxPixels except where a side was clamped to 1; shrink the other side then.
  while (w * h > maxPixels && (w > 1 || h > 1)) {
    if (w >= h) w -= 1;
    else h -= 1;
  }
  return { width: w, height: h };
}

/** VIDEO_TOO_LARGE naming the limit that was crossed. */
export function tooLarge(file: string, limit: keyof MediaLimits, value: number, max: number, what: string): VrGrpoError {
  return new VrGrpoError('VIDEO_TOO_LARGE', `video ${what} ${value} exceeds ${limit} ${max}; refused before decoding`, {
    details: { path: file, limit, value, max },
  });
}

/** Checks positive finite limits; INVALID_ARGUMENT naming the field. */
export function assertMediaLimits(limits: MediaLimits): void {
  for (const field of ['maxPixelsPerFrame', 'maxFrames', 'maxDurationSeconds', 'maxDecodedBytes'] as const) {
    const value = limits[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new VrGrpoError('INVALID_ARGUMENT', `media limit ${field} must be a finite number > 0 (got ${String(value)})`, {
        details: { field },
      });
    }
  }
}
