/**
 * The network's input rows. An object row is a crop around a blob's centroid — a coverage plane (each pixel's position
 * on the background→object colour line, 0–1) and the R, G, B planes relative to the background (−1…1), sampled on a
 * 24×24 grid of world units (1 px at 64×64) with edge padding — followed by the background estimate and the blob's core
 * colour (each (c − 0.5)·4). A background row has empty planes and the background as core colour; its background head gives the
 * frame's background colour. Planes relative to the background keep the rows well conditioned for a dense network.
 */
import type { Rgb } from '../../../../world/index.js';
import type { Blob, FrameAnalysis } from './frame-analysis.js';

/** Crop side, in world units (pixels at 64×64). */
export const CROP_SIZE = 24;
/** Planes per crop: coverage, R, G, B. */
export const CROP_PLANES = 4;
/** Values per input row: the crop planes, then background RGB, then core RGB. */
export const FEATURE_SIZE = CROP_SIZE * CROP_SIZE * CROP_PLANES + 6;

const PLANE = CROP_SIZE * CROP_SIZE;

/** Colours enter centred and scaled, (c − 0.5)·4 ∈ [−2, 2]: six numbers among thousands need the larger scale to train quickly. */
const colourInput = (c: number): number => (c - 0.5) * 4;

function writeColours(out: Float32Array, offset: number, background: Rgb, core: Rgb): void {
  const tail = offset + PLANE * CROP_PLANES;
  for (let c = 0; c < 3; c++) {
    out[tail + c] = colourInput(background[c] ?? 0);
    out[tail + 3 + c] = colourInput(core[c] ?? 0);
  }
}

/** Writes the object row of `blob` at `out[offset .. offset + FEATURE_SIZE)`. */
export function writeObjectRow(analysis: FrameAnalysis, blob: Blob, out: Float32Array, offset: number): void {
  const { width: w, height: h, image, background: bg } = analysis;
  const unit = w / 64;
  const d0 = blob.rgb[0] - bg[0];
  const d1 = blob.rgb[1] - bg[1];
  const d2 = blob.rgb[2] - bg[2];
  const c2 = d0 * d0 + d1 * d1 + d2 * d2;
  for (let j = 0; j < CROP_SIZE; j++) {
    const sy = Math.min(h - 1, Math.max(0, Math.floor(blob.y + (j + 0.5 - CROP_SIZE / 2) * unit)));
    for (let i = 0; i < CROP_SIZE; i++) {
      const sx = Math.min(w - 1, Math.max(0, Math.floor(blob.x + (i + 0.5 - CROP_SIZE / 2) * unit)));
      const p = (sy * w + sx) * 3;
      const r = image[p] ?? 0;
      const g = image[p + 1] ?? 0;
      const b = image[p + 2] ?? 0;
      const k = offset + j * CROP_SIZE + i;
      out[k] = c2 > 1e-9 ? Math.min(1, Math.max(0, ((r - bg[0]) * d0 + (g - bg[1]) * d1 + (b - bg[2]) * d2) / c2)) : 0;
      out[k + PLANE] = r - bg[0];
      out[k + 2 * PLANE] = g - bg[1];
      out[k + 3 * PLANE] = b - bg[2];
    }
  }
  writeColours(out, offset, bg, blob.rgb);
}

/** Writes the background row of a frame: empty planes (nothing differs from the background), core colour = background. */
export function writeBackgroundRow(analysis: FrameAnalysis, out: Float32Array, offset: number): void {
  const bg = analysis.background;
  out.fill(0, offset, offset + PLANE * CROP_PLANES);
  writeColours(out, offset, bg, bg);
}
