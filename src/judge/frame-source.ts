/**
 * `FrameSource`: where the judge gets frames. Inline raw videos need no ffmpeg; a file is decoded once (all frames, at
 * the judge's working size) through the media adapter the first time frames are asked for, then served from memory.
 */
import { VrGrpoError } from '../errors/index.js';
import { frameAt, type Media, type RawVideo } from '../media/index.js';

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

/** Frames already in memory (inline binary videos, generator output). */
export class RawFrameSource implements FrameSource {
  constructor(
    private readonly video: RawVideo,
    readonly label: string,
    readonly cacheKey?: string,
  ) {}

  frameCount(): Promise<number> {
    return Promise.resolve(this.video.frameCount);
  }

  frames(indices: readonly number[]): Promise<Uint8Array[]> {
    try {
      return Promise.resolve(pick(this.video, indices, this.label));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  size(): Promise<{ width: number; height: number }> {
    return Promise.resolve({ width: this.video.width, height: this.video.height });
  }
}

/** A video file decoded at most once (lazily, on first use) to `width`×`height` (default: native size). */
export class FileFrameSource implements FrameSource {
  private decoded: Promise<RawVideo> | null = null;
  /** Decode time of the one decode, ms (0 until decoded). */
  decodeMs = 0;

  constructor(
    private readonly media: Media,
    readonly label: string,
    private readonly resize?: { readonly width: number; readonly height: number },
  ) {}

  private video(): Promise<RawVideo> {
    if (this.decoded === null) {
      const t0 = performance.now();
      this.decoded = this.media.decode(this.label, this.resize === undefined ? {} : { width: this.resize.width, height: this.resize.height }).then((v) => {
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
