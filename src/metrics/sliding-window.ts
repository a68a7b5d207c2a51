/**
 * Counts of kinds of events (hallucinations) over the last N judgments: a window measured in judgments, not in time,
 * so a slow run and a fast run are compared on the same footing. Batches (one step's judgments) enter whole; when the
 * window overflows, the oldest batch is dropped, or scaled down pro rata when only part of it falls out.
 */
import { VrGrpoError } from '../errors/index.js';

interface Batch {
  events: number;
  readonly counts: Float64Array;
}

export class SlidingWindowRatio<K extends string> {
  readonly #capacity: number;
  readonly #kinds: readonly K[];
  readonly #batches: Batch[] = [];
  #events = 0;
  readonly #totals: Float64Array;

  /** `capacity`: judgments the window holds (an integer ≥ 1). */
  constructor(capacity: number, kinds: readonly K[]) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new VrGrpoError('INVALID_ARGUMENT', `window capacity: expected an integer >= 1, got ${capacity}`);
    this.#capacity = capacity;
    this.#kinds = kinds;
    this.#totals = new Float64Array(kinds.length);
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Judgments currently in the window (≤ capacity). */
  get size(): number {
    return this.#events;
  }

  /**
   * Adds `events` judgments during which `counts[kind]` events of each kind were seen. Kinds outside the window's set
   * are ignored (the caller counts them elsewhere).
   */
  add(events: number, counts: Readonly<Partial<Record<string, number>>>): void {
    if (!Number.isInteger(events) || events < 0) throw new VrGrpoError('INVALID_ARGUMENT', `events: expected an integer >= 0, got ${events}`);
    const row = new Float64Array(this.#kinds.length);
    this.#kinds.forEach((k, i) => {
      const c = counts[k] ?? 0;
      if (!Number.isFinite(c) || c < 0) throw new VrGrpoError('INVALID_ARGUMENT', `counts.${k}: expected a finite number >= 0, got ${c}`);
      row[i] = c;
    });
    if (events === 0) {
      if (row.some((c) => c > 0)) throw new VrGrpoError('INVALID_ARGUMENT', 'counts without judgments: events must be >= 1 when a count is > 0');
      return;
    }
    this.#batches.push({ events, counts: row });
    this.#events += events;
    while (this.#events > this.#capacity) {
      const oldest = this.#batches[0];
      if (oldest === undefined) break;
      const excess = this.#events - this.#capacity;
      if (oldest.events <= excess) {
        this.#batches.shift();
        this.#events -= oldest.events;
      } else {
        const keep = (oldest.events - excess) / oldest.events;
        for (let i = 0; i < oldest.counts.length; i++) oldest.counts[i] = (oldest.counts[i] ?? 0) * keep;
        oldest.events -= excess;
        this.#events -= excess;
      }
    }
    // Recomputed rather than updated incrementally: exact, and cheap (at most `capacity` batches).
    this.#totals.fill(0);
    for (const b of this.#batches) for (let i = 0; i < b.counts.length; i++) this.#totals[i] = (this.#totals[i] ?? 0) + (b.counts[i] ?? 0);
  }

  /** Events of `kind` per judgment in the window; 0 while the window is empty. */
  ratio(kind: K): number {
    const i = this.#kinds.indexOf(kind);
    return this.#events === 0 || i < 0 ? 0 : (this.#totals[i] ?? 0) / this.#events;
  }
}
