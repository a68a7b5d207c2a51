/** A FIFO concurrency limit: at most `limit` holders at once; waiting is abortable. */
import { VrGrpoError } from '../../../errors/index.js';

export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: { grant: () => void; fail: (e: Error) => void }[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new VrGrpoError('INVALID_ARGUMENT', `concurrency must be an integer >= 1, got ${limit}`);
  }

  /** Holders right now. */
  get inUse(): number {
    return this.active;
  }

  /** Waits for a slot; resolves to its release function (call it exactly once). */
  acquire(signal?: AbortSignal): Promise<() => void> {
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
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        entry.fail(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Rejects everyone still waiting (on close). */
  rejectWaiting(error: Error): void {
    for (const w of this.waiting.splice(0)) w.fail(error);
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active -= 1;
      this.waiting.shift()?.grant();
    };
  }
}

function aborted(): VrGrpoError {
  return new VrGrpoError('JUDGE_FAILED', 'judgment aborted while waiting for the VLM server', { details: { reason: 'aborted' } });
}
