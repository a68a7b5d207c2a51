/**
 * Requests waiting for their answer, keyed by request id, each with a timeout whose timer never outlives the entry:
 * taking an entry (answered, failed, timed out or rejected with the rest) always clears its timer.
 */
import { VrGrpoError } from '../errors/index.js';

/** How a waiting request is settled. */
export interface Settle<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: VrGrpoError) => void;
}

interface Entry<E> {
  readonly value: E;
  readonly timer: NodeJS.Timeout;
}

export class PendingTable<E extends { readonly reject: (error: VrGrpoError) => void }> {
  readonly #entries = new Map<string, Entry<E>>();

  /** Entries waiting. */
  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The entry under `key`, left in place. */
  get(key: string): E | undefined {
    return this.#entries.get(key)?.value;
  }

  /**
   * Adds `value` under `key` (replacing nothing: callers check `has` first). After `timeoutMs` the entry is removed
   * and `onTimeout` gets it.
   */
  add(key: string, value: E, timeoutMs: number, onTimeout: (value: E) => void): void {
    const timer = setTimeout(() => {
      const timedOut = this.take(key);
      if (timedOut !== undefined) onTimeout(timedOut);
    }, timeoutMs);
    this.#entries.set(key, { value, timer });
  }

  /** Removes the entry under `key` (clearing its timer) and returns it. */
  take(key: string): E | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    clearTimeout(entry.timer);
    return entry.value;
  }

  /** Rejects and removes every entry with a copy of `error` whose details name the entry's key as `id`. */
  rejectAll(error: VrGrpoError): void {
    for (const key of [...this.#entries.keys()]) {
      this.take(key)?.reject(new VrGrpoError(error.code, error.message, { details: { ...error.details, id: key } }));
    }
  }
}
