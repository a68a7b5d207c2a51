/**
 * Frames to `image_url` data URLs: resize RGB24 frames into a pixel budget (sides multiples of the model's patch, the
 * way Qwen2.5-VL's processor sizes images, so the server does not resample again), then encode with a real encoder
 * (jpeg-js or pngjs) and wrap as base64 `data:` URLs.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { VrGrpoError } from '../../../errors/index.js';

export interface PixelBudget {
  /** Fewest pixels (width·height) after resizing: smaller frames are scaled up. */
  readonly minPixels: number;
  /** Most pixels after resizing: larger frames are scaled down. */
  readonly maxPixels: number;
  /** Sides are multiples of this (≥ 1). */
  readonly factor: number;
}

/**
 * The size a `width`×`height` frame is resized to: aspect ratio kept as closely as the factor allows, sides rounded to
 * multiples of `factor`, area inside [minPixels, maxPixels] (rounded down when too large, up when too small).
 */
export function fitToBudget(width: number, height: number, budget: PixelBudget): { width: number; height: number } {
  const { factor, minPixels, maxPixels } = budget;
  if (!(width > 0 && height > 0)) throw new VrGrpoError('INVALID_ARGUMENT', `frame size must be positive, got ${width}x${height}`);
  const snap = (x: number, round: (v: number) => number): number => Math.max(factor, round(x / factor) * factor);
  let w = snap(width, Math.round);
  let h = snap(height, Math.round);
  if (w * h > maxPixels) {
    const scale = Math.sqrt((width * height) / maxPixels);
    w = snap(width / scale, Math.floor);
    h = snap(height / scale, Math.floor);
  } else if (w * h < minPixels) {
    const scale = Math.sqrt(minPixels / (width * height));
    w = snap(width * scale, Math.ceil);
    h = snap(height * scale, Math.ceil);
  }
  return { width: w, height: h };
}

/** Per output position: the first source index and the normalised weights of a triangle filter (antialiased when shrinking). */
function filterTable(src: number, dst: number): { start: Int32Array; weights: Float32Array[] } {
  const ratio = src / dst;
  const support = Math.max(1, ratio);
  const start = new Int32Array(dst);
  const weights: Float32Array[] = [];
  for (let o = 0; o < dst; o++) {
    const centre = (o + 0.5) * ratio - 0.5;
    const lo = Math.max(0, Math.ceil(centre - support));
    const hi = Math.min(src - 1, Math.floor(centre + support));
    const w = new Float32Array(Math.max(1, hi - lo + 1));
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const v = Math.max(0, 1 - Math.abs(i - centre) / support);
      w[i - lo] = v;
      sum += v;
    }
    if (sum > 0) for (let k = 0; k < w.length; k++) w[k] = (w[k] ?? 0) / sum;
    else w[0] = 1;
    start[o] = Math.min(lo, src - 1);
    weights.push(w);
  }
  return { start, weights };
}

/** Resizes an RGB24 image (separable triangle filter: bilinear when enlarging, area-like when shrinking). */
export function resizeRgb(rgb: Uint8Array, width: number, height: number, toWidth: number, toHeight: number): Uint8Array {
  if (rgb.length !== width * height * 3)
    throw new VrGrpoError('INVALID_ARGUMENT', `expected ${width * height * 3} RGB bytes for ${width}x${height}, got ${rgb.length}`);
  if (toWidth === width && toHeight === height) return rgb;
  const cols = filterTable(width, toWidth);
  const rows = filterTable(height, toHeight);
  const mid = new Float32Array(height * toWidth * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < toWidth; x++) {
      const s = cols.start[x] ?? 0;
      const w = cols.weights[x] ?? new Float32Array(1);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const p = (y * width + s + k) * 3;
        const wk = w[k] ?? 0;
        r += (rgb[p] ?? 0) * wk;
        g += (rgb[p + 1] ?? 0) * wk;
        b += (rgb[p + 2] ?? 0) * wk;
      }
      const q = (y * toWidth + x) * 3;
      mid[q] = r;
      mid[q + 1] = g;
      mid[q + 2] = b;
    }
  }
  const out = new Uint8Array(toWidth * toHeight * 3);
  for (let y = 0; y < toHeight; y++) {
    const s = rows.start[y] ?? 0;
    const w = rows.weights[y] ?? new Float32Array(1);
    for (let x = 0; x < toWidth; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < w.length; k++) v += (mid[((s + k) * toWidth + x) * 3 + c] ?? 0) * (w[k] ?? 0);
        out[(y * toWidth + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

function rgba(rgb: Uint8Array, pixels: number): Buffer {
  const out = Buffer.alloc(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    out[i * 4] = rgb[i * 3] ?? 0;
    out[i * 4 + 1] = rgb[i * 3 + 1] ?? 0;
    out[i * 4 + 2] = rgb[i * 3 + 2] ?? 0;
    out[i * 4 + 3] = 255;
  }
  return out;
}

export interface EncodedImage {
  /** `data:image/jpeg;base64,…` or `data:image/png;base64,…`. */
  readonly url: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

/**
 * Resizes an RGB24 frame into `budget` (or to an exact size: the frames of one video part must share theirs) and
 * encodes it as a base64 data URL.
 */
export function encodeFrame(
  rgb: Uint8Array,
  width: number,
  height: number,
  budget: PixelBudget | { readonly width: number; readonly height: number },
  format: { readonly type: 'jpeg' | 'png'; readonly jpegQuality?: number },
): EncodedImage {
  const size = 'maxPixels' in budget ? fitToBudget(width, height, budget) : budget;
  const resized = resizeRgb(rgb, width, height, size.width, size.height);
  const data = rgba(resized, size.width * size.height);
  const encoded =
    format.type === 'jpeg'
      ? jpeg.encode({ data, width: size.width, height: size.height }, format.jpegQuality ?? 90).data
      : PNG.sync.write(Object.assign(new PNG({ width: size.width, height: size.height }), { data }));
  return { url: `data:image/${format.type};base64,${encoded.toString('base64')}`, width: size.width, height: size.height, bytes: encoded.length };
}
