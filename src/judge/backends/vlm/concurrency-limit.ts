/**
 * A concurrency limit with two FIFO queues: at most `limit` holders at once; a freed slot goes first to a 'continue'
 * waiter (the next turn of a conversation already running), then to a 'new' one (a conversation's first request). So
 * running conversations finish before new ones start — their judgments complete sooner and the server's prefix cache
 * still holds their context. Waiting is abortable.
 */
import { VrGrpoError } from '../../../errors/index.js';

/** 'continue': a later turn of a running conversation; 'new': the first request of a conversation. */
export type Priority = 'continue' | 'new';

export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Record<Priority, { grant: () => void; fail: (e: Error) => void }[]> = { continue: [], new: [] };

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new VrGrpoError('INVALID_ARGUMENT', `concurrency must be an integer >= 1, got ${limit}`);
  }

  /** Holders right now. */
  get inUse(): number {
    return this.active;
  }

  /** Waiters right now, by priority. */
  get queued(): Readonly<Record<Priority, number>> {
    return { continue: this.waiting.continue.length, new: this.waiting.new.length };
  }

  /** Waits for a slot; resolves to its release function (call it exactly once). */
  acquire(signal?: AbortSignal, priority: Priority = 'new'): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(aborted());
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.active += 1;
          resolve(this.releaser());
        },
        fail: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const queue = this.waiting[priority];
      const onAbort = (): void => {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        entry.fail(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(entry);
    });
  }

  /** Rejects everyone still waiting (on close). */
  rejectWaiting(error: Error): void {
    for (const w of [...this.waiting.continue.splice(0), ...this.waiting.new.splice(0)]) w.fail(error);
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active -= 1;
      (this.waiting.continue.shift() ?? this.waiting.new.shift())?.grant();
    };
  }
}

function aborted(): VrGrpoError {
  return new VrGrpoError('ABORTED', 'judgment aborted while waiting for the VLM server', { details: { reason: 'aborted' } });
}
