/**
 * A first-in, first-out executor that runs one task at a time: the worker puts every generator call (rollout, update,
 * discard) of every connection through one queue, because a generator is not re-entrant.
 */

export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #size = 0;

  /** Tasks waiting or running. */
  get size(): number {
    return this.#size;
  }

  /** Runs `task` after every task enqueued before it has settled; resolves or rejects with its outcome. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#size += 1;
    const result = this.#tail.then(task).finally(() => {
      this.#size -= 1;
    });
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every task enqueued so far has settled (never rejects). */
  idle(): Promise<void> {
    return this.#tail;
  }
}
