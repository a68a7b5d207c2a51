/**
 * Videos by reference (protocol v2 `delivery: reference`): the worker writes each video of a rollout as an MP4 under
 * `<artifactRoot>/rollouts/<rolloutId>/<index>.mp4` (and, when asked, a judge-ready copy `<index>.judge.mp4`: frames
 * sampled uniformly and shrunk to the judge's size), and sends their `file:` URIs instead of the frames. A rollout's
 * folder is removed when the rollout is released (update, discard, its connection closing, a restore).
 */
import { mkdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VrGrpoError } from '../../errors/index.js';
import { frameAt, shrinkFrame, type Media, type RawVideo } from '../../media/index.js';
import type { GeneratedVideoRefMessage, JudgeCopySpec } from '../../protocol/generator-messages.js';

/** Encodes run at most this many at once (one ffmpeg each). */
const ENCODE_CONCURRENCY = 2;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Indices of `n` frames spread uniformly over `total` (first and last included); all of them when n ≥ total. */
export function uniformFrameIndices(total: number, n: number): number[] {
  if (n >= total) return Array.from({ length: total }, (_, i) => i);
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, i) => Math.round((i * (total - 1)) / (n - 1)));
}

/** The judge copy of `video`: the chosen frames, shrunk (never enlarged) to at most the asked size, sides even. */
export function judgeCopyOf(video: RawVideo, spec: JudgeCopySpec): RawVideo {
  const even = (v: number): number => Math.max(2, v - (v % 2));
  const width = even(Math.min(spec.width, video.width));
  const height = even(Math.min(spec.height, video.height));
  const indices = uniformFrameIndices(video.frameCount, spec.frameCount);
  const frameBytes = width * height * 3;
  const data = new Uint8Array(indices.length * frameBytes);
  indices.forEach((index, i) => {
    const frame = frameAt(video, index);
    data.set(width === video.width && height === video.height ? frame : shrinkFrame(frame, video.width, video.height, width, height), i * frameBytes);
  });
  return { width, height, frameCount: indices.length, fps: video.fps, data };
}

/** Where one written video lies; the rest of a `video_ref` message comes from the rollout. */
export type WrittenVideo = Pick<GeneratedVideoRefMessage, 'uri' | 'bytes' | 'judge'>;

export class RolloutArtifacts {
  private constructor(
    /** The artifact root, after realpath. */
    readonly root: string,
    private readonly media: Media,
  ) {}

  /** The artifact root must exist (a shared volume is mounted, not created); CONFIG_INVALID otherwise. */
  static async open(root: string, media: Media): Promise<RolloutArtifacts> {
    let real: string;
    try {
      real = await realpath(root);
      if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new VrGrpoError('CONFIG_INVALID', `artifact root ${root} is not a folder: ${error instanceof Error ? error.message : String(error)}`, {
        details: { field: 'artifactRoot' },
      });
    }
    return new RolloutArtifacts(real, media);
  }

  #folder(rolloutId: string): string {
    if (!SAFE_ID.test(rolloutId)) throw new VrGrpoError('GENERATOR_FAILED', `rollout id ${JSON.stringify(rolloutId)} cannot name a folder`);
    return join(this.root, 'rollouts', rolloutId);
  }

  /** Writes the videos of a rollout (in order) and their judge copies; on failure nothing of the rollout is left. */
  async write(rolloutId: string, videos: readonly RawVideo[], judgeCopy: JudgeCopySpec | null): Promise<WrittenVideo[]> {
    const folder = this.#folder(rolloutId);
    await mkdir(folder, { recursive: true });
    const out: WrittenVideo[] = new Array<WrittenVideo>(videos.length);
    let next = 0;
    const encodeOne = async (index: number): Promise<void> => {
      const video = videos[index];
      if (video === undefined) return;
      const path = join(folder, `${index}.mp4`);
      await this.media.encodeMp4(video, path);
      let judge: WrittenVideo['judge'] = null;
      if (judgeCopy !== null) {
        const copy = judgeCopyOf(video, judgeCopy);
        const judgePath = join(folder, `${index}.judge.mp4`);
        await this.media.encodeMp4(copy, judgePath);
        judge = { uri: pathToFileURL(judgePath).href, frameCount: copy.frameCount, width: copy.width, height: copy.height };
      }
      out[index] = { uri: pathToFileURL(path).href, bytes: (await stat(path)).size, judge };
    };
    const lane = async (): Promise<void> => {
      while (next < videos.length) await encodeOne(next++);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(ENCODE_CONCURRENCY, videos.length) }, lane));
    } catch (error) {
      await this.release([rolloutId]);
      throw error;
    }
    return out;
  }

  /** Removes the rollouts' folders (missing ones are fine). */
  async release(rolloutIds: readonly string[]): Promise<void> {
    for (const id of rolloutIds) if (SAFE_ID.test(id)) await rm(this.#folder(id), { recursive: true, force: true });
  }

  /** Removes every rollout folder (a restore: no rollout survives it). */
  async releaseAll(): Promise<void> {
    await rm(join(this.root, 'rollouts'), { recursive: true, force: true });
  }
}
