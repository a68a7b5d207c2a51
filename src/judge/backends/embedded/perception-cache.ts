/**
 * What the embedded judge perceived of each frame of a keyed video, reused across judgments: in a GRPO group a video
 * meets several opponents, and each comparison would otherwise analyse and classify the same frames again. Keys come
 * from the request (FrameSource.cacheKey: connection, comparison group, video id, content fingerprint), so a key never
 * spans clients or groups. Bounded in frames held: the least recently used video is dropped first. One cache belongs
 * to one perception model (a swapped checkpoint starts empty), since what is perceived depends on the model.
 */
import type { ImageRef, ReasonerInput } from '../../reasoner.js';
import type { PerceivedFrame } from './evidence.js';
import type { PerceptionPort } from './reasoner.js';

export interface PerceptionCacheStats {
  /** Frames served from the cache. */
  readonly hits: number;
  /** Frames that had to be perceived (of keyed videos). */
  readonly misses: number;
  /** Videos dropped to keep the bound. */
  readonly evictions: number;
  /** Frames held now. */
  readonly frames: number;
  /** Videos held now. */
  readonly videos: number;
}

/** Default bound: about 340 videos of 48 frames (≈ 1 KB per perceived frame: ~16 MiB). */
export const DEFAULT_PERCEPTION_CACHE_FRAMES = 16_384;

export class PerceptionCache {
  /** Per key, frames by 0-based index in the video; Map order is recency (oldest first). */
  readonly #videos = new Map<string, Map<number, PerceivedFrame>>();
  #frames = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(readonly maxFrames: number = DEFAULT_PERCEPTION_CACHE_FRAMES) {
    if (!Number.isInteger(maxFrames) || maxFrames < 0) throw new RangeError(`maxFrames must be an integer >= 0, got ${maxFrames}`);
  }

  /** The perception of frame `frame` (0-based) of video `key`, with `frameIndex` = `frame`; counts a hit or a miss. */
  get(key: string, frame: number): PerceivedFrame | undefined {
    const video = this.#videos.get(key);
    const hit = video?.get(frame);
    if (video !== undefined) {
      // Most recently used last.
      this.#videos.delete(key);
      this.#videos.set(key, video);
    }
    if (hit === undefined) this.#misses += 1;
    else this.#hits += 1;
    return hit;
  }

  /** Keeps the perception of frame `frame` (0-based) of video `key` (stored with `frameIndex` = `frame`). */
  set(key: string, frame: number, perceived: PerceivedFrame): void {
    if (this.maxFrames === 0) return;
    const video = this.#videos.get(key) ?? new Map<number, PerceivedFrame>();
    this.#videos.delete(key);
    this.#videos.set(key, video);
    if (!video.has(frame)) this.#frames += 1;
    video.set(frame, perceived.frameIndex === frame ? perceived : { ...perceived, frameIndex: frame });
    while (this.#frames > this.maxFrames) {
      const oldest = this.#videos.entries().next();
      if (oldest.done === true) break;
      const [oldestKey, frames] = oldest.value;
      if (oldestKey !== key) {
        this.#videos.delete(oldestKey);
        this.#frames -= frames.size;
        this.#evictions += 1;
        continue;
      }
      // Only this video is left and it alone exceeds the bound: drop its earliest-stored frames.
      const first = [...frames.keys()].find((f) => f !== frame);
      if (first === undefined) break;
      frames.delete(first);
      this.#frames -= 1;
    }
  }

  stats(): PerceptionCacheStats {
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, frames: this.#frames, videos: this.#videos.size };
  }

  clear(): void {
    this.#videos.clear();
    this.#frames = 0;
  }
}

/**
 * Perceives `frames` (index-space images of one conversation, all `width`×`height`), taking what `cache` holds for
 * frames of keyed videos (`input.videoKeys`) and keeping what is newly perceived of them. Frames of unkeyed videos, or
 * every frame when `cache` is null, go to the perception model. Returns the perception of each frame, in index space.
 */
export async function perceiveKeyed(
  perception: Pick<PerceptionPort, 'perceive'>,
  cache: PerceptionCache | null,
  input: Pick<ReasonerInput, 'videoFrameCounts' | 'videoKeys'>,
  frames: readonly Pick<ImageRef, 'index' | 'rgb'>[],
  width: number,
  height: number,
): Promise<PerceivedFrame[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const count of input.videoFrameCounts) {
    offsets.push(total);
    total += count;
  }
  /** The keyed video and 0-based frame an index-space image stands for, or null. */
  const locate = (index: number): { key: string; frame: number } | null => {
    if (cache === null) return null;
    for (const [k, count] of input.videoFrameCounts.entries()) {
      const offset = offsets[k] ?? 0;
      if (index > offset && index <= offset + count) {
        const key = input.videoKeys?.[k] ?? null;
        return key === null ? null : { key, frame: index - offset - 1 };
      }
    }
    return null;
  };
  const out: PerceivedFrame[] = [];
  const toPerceive: Pick<ImageRef, 'index' | 'rgb'>[] = [];
  for (const img of frames) {
    const at = locate(img.index);
    const hit = at === null ? undefined : cache?.get(at.key, at.frame);
    if (hit === undefined) toPerceive.push(img);
    else out.push({ ...hit, frameIndex: img.index });
  }
  if (toPerceive.length === 0) return out;
  const perceived = await perception.perceive(
    toPerceive.map((f) => ({ index: f.index, rgb: f.rgb })),
    width,
    height,
  );
  for (const p of perceived) {
    out.push(p);
    const at = locate(p.frameIndex);
    if (at !== null) cache?.set(at.key, at.frame, p);
  }
  return out;
}
