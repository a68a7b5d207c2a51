/**
 * Inline videos of one connection, by ref, under a byte budget. A video's bytes count from its header until the
 * judgment that used it finishes (or the connection closes), which bounds the memory a connection can pin; they also
 * count against the server-wide frame budget (a lease of `MemoryBudget`), which bounds what all connections pin.
 */
import type { RawVideo } from '../media/index.js';
import type { MemoryLease } from './memory-budget.js';

/** Why a header cannot be accepted: `server-over-budget` when this connection has room but the server has not. */
export type ReserveRefusal = 'duplicate-ref' | 'too-large' | 'over-budget' | 'server-over-budget';

export class InlineVideoStore {
  readonly #videos = new Map<string, RawVideo>();
  #bytesHeld = 0;

  /** `shared`, when given, is this connection's lease of the server-wide budget; every byte held here is held there too. */
  constructor(
    private readonly maxBytes: number,
    private readonly shared?: MemoryLease,
  ) {}

  /** Bytes counted against the budget: reserved, stored, or lent to judgments and not yet released. */
  get bytesHeld(): number {
    return this.#bytesHeld;
  }

  /** Number of stored (not yet used) videos. */
  get size(): number {
    return this.#videos.size;
  }

  has(ref: string): boolean {
    return this.#videos.has(ref);
  }

  /** Reserves `bytes` for a coming video under `ref`, or says why not. Pair with `commit` or `release`. */
  reserve(ref: string, bytes: number): ReserveRefusal | null {
    if (this.#videos.has(ref)) return 'duplicate-ref';
    if (bytes > this.maxBytes) return 'too-large';
    if (this.#bytesHeld + bytes > this.maxBytes) return 'over-budget';
    if (this.shared !== undefined && !this.shared.tryGrow(bytes)) return 'server-over-budget';
    this.#bytesHeld += bytes;
    return null;
  }

  /** Stores a video whose bytes were reserved. */
  commit(ref: string, video: RawVideo): void {
    this.#videos.set(ref, video);
  }

  /** Removes and returns the video under `ref`; its bytes stay counted until `release`. */
  take(ref: string): RawVideo | undefined {
    const video = this.#videos.get(ref);
    this.#videos.delete(ref);
    return video;
  }

  /** Gives back `bytes` (a reservation that was not committed, or videos whose judgment finished). */
  release(bytes: number): void {
    const back = Math.min(Math.max(0, bytes), this.#bytesHeld);
    this.#bytesHeld -= back;
    this.shared?.shrink(back);
  }

  /** Drops every stored video (connection closed). Bytes lent to judgments are released by them. */
  clear(): void {
    for (const video of this.#videos.values()) this.release(video.data.length);
    this.#videos.clear();
  }
}
