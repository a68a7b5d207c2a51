/**
 * Entry of a perception analysis thread (see ./analysis-thread.ts): runs {@link analyseFrames} on frames that arrive
 * packed in one moved buffer, so the per-frame JavaScript of a perceive call holds this thread, not the caller's loop.
 * The rows go back moved; the summaries (a few numbers per frame) are copied.
 */
import { serveThread, type ThreadHandlers } from '../../../../common/thread-rpc.js';
import type { AnalysisOptions } from './frame-analysis.js';
import { analyseFrames } from './frame-rows.js';

/** Start data of an analysis thread. */
export interface AnalysisThreadData {
  readonly analysis: Readonly<AnalysisOptions>;
}

serveThread((raw) => {
  const { analysis } = raw as AnalysisThreadData;
  const handlers: ThreadHandlers = {
    // args: the frames back to back (RGB24), their count, width, height.
    analyse: ([packed, count, width, height]) => {
      const bytes = packed as Uint8Array;
      const frameBytes = (width as number) * (height as number) * 3;
      const frames = Array.from({ length: count as number }, (_, i) => bytes.subarray(i * frameBytes, (i + 1) * frameBytes));
      const out = analyseFrames(frames, width as number, height as number, analysis);
      return Promise.resolve({ value: out, transfer: out.rows.buffer instanceof ArrayBuffer ? [out.rows.buffer] : [] });
    },
    // Thrown synchronously, on arrival: an uncaught error ends the thread as a crash would (tests of that path).
    crash: () => {
      throw new Error('analysis thread crash requested');
    },
  };
  return Promise.resolve(handlers);
});
