/**
 * The server-wide byte budget for frames in memory — inline videos (stored or lent to judgments) and decoded file
 * frames — shared by every connection, so many connections cannot together pin more than one server's worth.
 */

/** Bytes held against the budget by one holder (a connection's inline store, a judgment's decodes); released once. */
export interface MemoryLease {
  /** Bytes this lease holds. */
  readonly bytes: number;
  /** Adds `bytes` to this lease when the budget has room; false (and nothing held) otherwise. */
  tryGrow(bytes: number): boolean;
  /** Gives back `bytes` of this lease (at most what it holds). */
  shrink(bytes: number): void;
  /** Gives back everything this lease holds. Idempotent. */
  release(): void;
}

export class MemoryBudget {
  #held = 0;

  /** `maxBytes`: most bytes all leases together may hold. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held by all leases. */
  get bytesHeld(): number {
    return this.#held;
  }

  /** A new, empty lease. */
  lease(): MemoryLease {
    let mine = 0;
    const take = (bytes: number): boolean => {
      if (!(bytes >= 0) || this.#held + bytes > this.maxBytes) return false;
      this.#held += bytes;
      mine += bytes;
      return true;
    };
    const give = (bytes: number): void => {
      const back = Math.min(Math.max(0, bytes), mine);
      mine -= back;
      this.#held -= back;
    };
    return {
      get bytes(): number {
        return mine;
      },
      tryGrow: take,
      shrink: give,
      release: (): void => {
        give(mine);
      },
    };
  }
}
