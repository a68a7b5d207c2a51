/**
 * The JavaScript part of a perceive call, as one pure function: every frame analysed (src/judge/.../frame-analysis.ts)
 * and turned into the network's input rows (one background row, then one row per blob). It runs inline or in an
 * analysis thread (./analysis-thread.ts); both give the same numbers, bit for bit. What leaves it holds no image.
 */
import { FEATURE_SIZE, writeBackgroundRow, writeObjectRow } from './features.js';
import { analyseFrame, type AnalysisOptions, type FrameAnalysis } from './frame-analysis.js';

/** A frame's analysis without its image: what perception keeps once the rows are written. */
export type FrameSummary = Omit<FrameAnalysis, 'image'>;

/** Input rows of a call (`rows.length / FEATURE_SIZE` of them) and the frames' summaries, in frame order. */
export interface AnalysedFrames {
  readonly rows: Float32Array;
  readonly frames: readonly FrameSummary[];
}

/** Analyses RGB24 frames of `width`×`height` and writes their rows. INVALID_ARGUMENT for a frame of the wrong size. */
export function analyseFrames(frames: readonly Uint8Array[], width: number, height: number, options: Partial<AnalysisOptions>): AnalysedFrames {
  const analyses = frames.map((rgb) => analyseFrame(rgb, width, height, options));
  const n = analyses.reduce((s, a) => s + 1 + a.blobs.length, 0);
  const rows = new Float32Array(n * FEATURE_SIZE);
  let r = 0;
  for (const a of analyses) {
    writeBackgroundRow(a, rows, r * FEATURE_SIZE);
    r += 1;
    for (const b of a.blobs) {
      writeObjectRow(a, b, rows, r * FEATURE_SIZE);
      r += 1;
    }
  }
  return { rows, frames: analyses.map(({ image: _image, ...summary }) => summary) };
}
