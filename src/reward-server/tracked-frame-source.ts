/**
 * A FrameSource wrapper that remembers the first VIDEO_DECODE_FAILED its source raised, so a lazily decoded file that
 * fails inside the judge is reported with that code even when the backend wraps or replaces the error.
 */
import { isVrGrpoError, type VrGrpoError } from '../errors/index.js';
import type { FrameSource } from '../judge/frame-source.js';

export class TrackedFrameSource implements FrameSource {
  #decodeFailure: VrGrpoError | null = null;

  constructor(private readonly inner: FrameSource) {}

  get label(): string {
    return this.inner.label;
  }

  /** The first VIDEO_DECODE_FAILED raised by the wrapped source, if any. */
  get decodeFailure(): VrGrpoError | null {
    return this.#decodeFailure;
  }

  frameCount(): Promise<number> {
    return this.#watch(this.inner.frameCount());
  }

  frames(indices: readonly number[]): Promise<Uint8Array[]> {
    return this.#watch(this.inner.frames(indices));
  }

  size(): Promise<{ readonly width: number; readonly height: number }> {
    return this.#watch(this.inner.size());
  }

  #watch<T>(promise: Promise<T>): Promise<T> {
    return promise.catch((error: unknown) => {
      if (this.#decodeFailure === null && isVrGrpoError(error, 'VIDEO_DECODE_FAILED')) this.#decodeFailure = error;
      throw error;
    });
  }
}
