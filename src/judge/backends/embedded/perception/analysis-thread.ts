/**
 * Perception's analysis threads: a small pool of worker threads (./analysis-worker.ts, through the project's thread
 * calls, src/common/thread-rpc.ts) that run the per-frame JavaScript of a perceive call — frame analysis and input rows,
 * tens of milliseconds per call — so a reward server's event loop keeps answering `/healthz` and pings meanwhile. The
 * frames are copied into one buffer that moves to the thread (the caller's frames, often cached, stay untouched); the
 * rows come back moved. A call goes to the thread with the fewest calls in flight. A thread that dies fails its calls
 * with INFERENCE_FAILED, as does a call after `close`.
 */
import { availableParallelism } from 'node:os';
import { ThreadClient } from '../../../../common/thread-rpc.js';
import { VrGrpoError } from '../../../../errors/index.js';
import type { AnalysisThreadData } from './analysis-worker.js';
import type { AnalysisOptions } from './frame-analysis.js';
import type { AnalysedFrames } from './frame-rows.js';

const ENTRY = new URL('./analysis-worker.ts', import.meta.url);

/** Most analysis threads one perception may start. */
export const MAX_ANALYSIS_THREADS = 8;

/**
 * Threads `'auto'` starts: one per core beyond the one the caller's event loop uses, at least one and at most four
 * (2 cores → 1 thread).
 */
export function autoAnalysisThreads(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

interface Slot {
  readonly client: ThreadClient;
  inFlight: number;
}

export class AnalysisThreads {
  #closing: Promise<void> | null = null;

  private constructor(
    private readonly slots: readonly Slot[],
    private readonly label: string,
  ) {}

  /** Starts `count` threads (≥ 1) analysing with `analysis`. INFERENCE_FAILED when one fails to start (the others are stopped). */
  static async start(count: number, analysis: Readonly<AnalysisOptions>, label: string): Promise<AnalysisThreads> {
    const data: AnalysisThreadData = { analysis };
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => ThreadClient.start(ENTRY, data, { failureCode: 'INFERENCE_FAILED', name: `vr-grpo-perception ${label} #${i}` })),
    );
    const clients = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(clients.map((c) => c.terminate()));
      throw failed.reason;
    }
    return new AnalysisThreads(
      clients.map((client) => ({ client, inFlight: 0 })),
      label,
    );
  }

  /** Threads in the pool. */
  get size(): number {
    return this.slots.length;
  }

  /** {@link analyseFrames} on a thread; every frame must be `width·height·3` bytes (the caller checks). */
  async analyse(frames: readonly Uint8Array[], width: number, height: number): Promise<AnalysedFrames> {
    if (this.#closing !== null)
      throw new VrGrpoError('INFERENCE_FAILED', `perception ${this.label}: the analysis threads are closed`, { details: { version: this.label } });
    const frameBytes = width * height * 3;
    const packed = new Uint8Array(frames.length * frameBytes);
    frames.forEach((f, i) => packed.set(f, i * frameBytes));
    const slot = this.slots.reduce((best, s) => (s.inFlight < best.inFlight ? s : best));
    slot.inFlight += 1;
    try {
      return (await slot.client.call('analyse', [packed, frames.length, width, height], [packed.buffer])) as AnalysedFrames;
    } finally {
      slot.inFlight -= 1;
    }
  }

  /** Stops every thread (calls in flight fail with INFERENCE_FAILED). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled(this.slots.map((s) => s.client.terminate())).then(() => undefined);
    return this.#closing;
  }

  /** Ends one thread as a crash would. For tests of the crash path only. */
  async simulateCrash(): Promise<void> {
    await Promise.allSettled(this.slots.map((s) => s.client.call('crash')));
  }
}
