/**
 * `FrameSource`: where the judge gets frames. Inline raw videos need no ffmpeg; a file is decoded once (all frames, at
 * the judge's working size) through the media adapter the first time frames are asked for, then served from memory.
 */
import { VrGrpoError } from '../errors/index.js';
import { fitWithin, frameAt, shrinkFrame, type DecodeOptions, type MediaPort, type RawVideo } from '../media/index.js';

export interface FrameSource {
  /** A short label for traces and errors (a file path or an inline ref). */
  readonly label: string;
  /**
   * Names this video's content for reuse across judgments (e.g. connection, comparison group and video id): a backend
   * may keep what it perceived of a frame under this key. Absent: nothing is reused.
   */
  readonly cacheKey?: string;
  /** Total frames (known up front for inline videos; probed lazily for files). */
  frameCount(): Promise<number>;
  /** RGB24 frames for 0-based indices, in the order asked, at `size()`. VIDEO_DECODE_FAILED for a bad file or index. */
  frames(indices: readonly number[]): Promise<Uint8Array[]>;
  /** Width and height of the frames returned. */
  size(): Promise<{ readonly width: number; readonly height: number }>;
}

function pick(video: RawVideo, indices: readonly number[], label: string): Uint8Array[] {
  return indices.map((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= video.frameCount) {
      throw new VrGrpoError('VIDEO_DECODE_FAILED', `${label}: frame ${i} is outside 0..${video.frameCount - 1}`, {
        details: { path: label, reason: 'index out of range' },
      });
    }
    return frameAt(video, i);
  });
}

/**
 * Frames already in memory (inline binary videos, generator output). With `maxPixels`, frames larger than that are
 * served shrunk to it (aspect kept, box averaging, each frame shrunk once when first asked for, yielding to the event
 * loop between frames), so the judge works at its own size whatever size the frames arrived at.
 */
export class RawFrameSource implements FrameSource {
  readonly #out: { readonly width: number; readonly height: number };
  readonly #shrunk = new Map<number, Uint8Array>();

  constructor(
    private readonly video: RawVideo,
    readonly label: string,
    readonly cacheKey?: string,
    maxPixels?: number,
  ) {
    this.#out = maxPixels === undefined ? { width: video.width, height: video.height } : fitWithin(video.width, video.height, maxPixels);
  }

  frameCount(): Promise<number> {
    return Promise.resolve(this.video.frameCount);
  }

  async frames(indices: readonly number[]): Promise<Uint8Array[]> {
    const native = pick(this.video, indices, this.label);
    const { width, height } = this.#out;
    if (width === this.video.width && height === this.video.height) return native;
    const out: Uint8Array[] = [];
    for (const [k, frame] of native.entries()) {
      const index = indices[k] ?? 0;
      let small = this.#shrunk.get(index);
      if (small === undefined) {
        if (k > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        small = shrinkFrame(frame, this.video.width, this.video.height, width, height);
        this.#shrunk.set(index, small);
      }
      out.push(small);
    }
    return out;
  }

  size(): Promise<{ width: number; height: number }> {
    return Promise.resolve({ width: this.#out.width, height: this.#out.height });
  }
}

/** How a file is decoded besides its size: a pixel budget, limits checked before decoding, an admission check. */
export type FileDecodeOptions = Pick<DecodeOptions, 'maxPixels' | 'limits' | 'admit'>;

/**
 * A video file decoded at most once (lazily, on first use) to `width`×`height` (default: native size, or shrunk to
 * `decode.maxPixels`); `decode.limits` are checked from the probe before any frame is decoded (VIDEO_TOO_LARGE).
 */
export class FileFrameSource implements FrameSource {
  private decoded: Promise<RawVideo> | null = null;
  /** Decode time of the one decode, ms (0 until decoded). */
  decodeMs = 0;

  constructor(
    private readonly media: MediaPort,
    readonly label: string,
    private readonly resize?: { readonly width: number; readonly height: number },
    private readonly decode: FileDecodeOptions = {},
  ) {}

  private video(): Promise<RawVideo> {
    if (this.decoded === null) {
      const t0 = performance.now();
      const size = this.resize === undefined ? {} : { width: this.resize.width, height: this.resize.height };
      this.decoded = this.media.decode(this.label, { ...this.decode, ...size }).then((v) => {
        this.decodeMs = performance.now() - t0;
        return v;
      });
    }
    return this.decoded;
  }

  async frameCount(): Promise<number> {
    return (await this.video()).frameCount;
  }

  async frames(indices: readonly number[]): Promise<Uint8Array[]> {
    return pick(await this.video(), indices, this.label);
  }

  async size(): Promise<{ width: number; height: number }> {
    const v = await this.video();
    return { width: v.width, height: v.height };
  }
}
