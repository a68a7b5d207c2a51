/**
 * A FrameSource wrapper that remembers the first failure its source raised (a decode failure, a video beyond the media
 * limits, a refused container, a full frame budget), so a lazily decoded file that fails inside the judge is reported
 * with that code even when the backend wraps or replaces the error; and times each read of frames (for the
 * frame-decode metrics).
 */
import { isVrGrpoError, type ErrorCode, type VrGrpoError } from '../errors/index.js';

/** Codes a frame source raises about its video, which name the real cause of a failed judgment. */
const SOURCE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['VIDEO_DECODE_FAILED', 'VIDEO_TOO_LARGE', 'FORBIDDEN_PATH', 'OVERLOADED']);
import type { FrameSource } from '../judge/frame-source.js';

export class TrackedFrameSource implements FrameSource {
  #decodeFailure: VrGrpoError | null = null;
  #sourceFailure: VrGrpoError | null = null;

  /**
   * `onFrames`, when given, is told the duration (seconds) and frame count of every successful `frames()` read;
   * `cacheKey` names the video's content for reuse across judgments (FrameSource.cacheKey).
   */
  constructor(
    private readonly inner: FrameSource,
    private readonly onFrames?: (seconds: number, frames: number) => void,
    readonly cacheKey?: string,
  ) {}

  get label(): string {
    return this.inner.label;
  }

  /** The first VIDEO_DECODE_FAILED raised by the wrapped source, if any. */
  get decodeFailure(): VrGrpoError | null {
    return this.#decodeFailure;
  }

  /** The first error about its video (VIDEO_DECODE_FAILED, VIDEO_TOO_LARGE, FORBIDDEN_PATH, OVERLOADED) the source raised. */
  get sourceFailure(): VrGrpoError | null {
    return this.#sourceFailure;
  }

  frameCount(): Promise<number> {
    return this.#watch(this.inner.frameCount());
  }

  async frames(indices: readonly number[]): Promise<Uint8Array[]> {
    const started = performance.now();
    const frames = await this.#watch(this.inner.frames(indices));
    this.onFrames?.((performance.now() - started) / 1000, frames.length);
    return frames;
  }

  size(): Promise<{ readonly width: number; readonly height: number }> {
    return this.#watch(this.inner.size());
  }

  #watch<T>(promise: Promise<T>): Promise<T> {
    return promise.catch((error: unknown) => {
      if (this.#decodeFailure === null && isVrGrpoError(error, 'VIDEO_DECODE_FAILED')) this.#decodeFailure = error;
      if (this.#sourceFailure === null && isVrGrpoError(error) && SOURCE_CODES.has(error.code)) this.#sourceFailure = error;
      throw error;
    });
  }
}
