/**
 * A byte-bounded LRU of encoded frames, keyed by frame content and pixel budget. The same frames are sent many times:
 * initial frames on every turn of a conversation, and each video in several pairs (all-pairs plans, both orders).
 * JPEG encoding is pure JS and costs tens of ms per frame, so the reasoner encodes each (frame, budget) once.
 */
import { createHash } from 'node:crypto';
import type { EncodedImage } from './image-encoding.js';

export class EncodedImageCache {
  private readonly entries = new Map<string, EncodedImage>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  /** @param maxBytes Total size of the cached data URLs; 0 disables caching. */
  constructor(private readonly maxBytes: number) {}

  /** A key for `rgb` at `width`×`height` encoded under `variant` (budget and format). */
  static key(rgb: Uint8Array, width: number, height: number, variant: string): string {
    return `${createHash('sha1').update(rgb).digest('base64')}:${width}x${height}:${variant}`;
  }

  /** The cached image, or `encode()`'s result (stored when it fits). */
  getOrEncode(key: string, encode: () => EncodedImage): EncodedImage {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.hits += 1;
      // Re-insert: Map iteration order is insertion order, so the first entry is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    this.misses += 1;
    const image = encode();
    const size = image.url.length;
    if (size > this.maxBytes) return image;
    this.entries.set(key, image);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.url.length;
    }
    return image;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
