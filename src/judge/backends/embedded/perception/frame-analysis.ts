/**
 * Classical per-frame measurements, no learning: background colour (median of the border after a 3×3 box blur), a
 * foreground mask whose threshold adapts to the frame's noise, connected components (a component holding two touching
 * objects of clearly different colours is split in two), the largest blobs with their
 * centroid, area, bounding box, core colour and edge steepness, and frame-level brightness, sharpness and noise.
 * Training and inference both call {@link analyseFrame}, so the network always sees crops cut the same way.
 */
import { VrGrpoError } from '../../../../errors/index.js';
import type { Rgb } from '../../../../world/index.js';

/** Tunables of {@link analyseFrame}; every field has a default in {@link DEFAULT_ANALYSIS}. */
export interface AnalysisOptions {
  /** Blobs kept per frame (largest first); default 2. */
  readonly maxBlobs: number;
  /** Minimum blob area at 64×64, px (scaled by (width/64)² for other sizes); default 6. */
  readonly minAreaPx: number;
  /** Lowest foreground threshold, RGB distance from the background (0–√3, intensities 0–1); default 0.15. */
  readonly minThreshold: number;
  /** Threshold in multiples of the median border distance (the noise level after the box blur); default 3.5. */
  readonly noiseThresholdFactor: number;
}

export const DEFAULT_ANALYSIS: Readonly<AnalysisOptions> = Object.freeze({ maxBlobs: 2, minAreaPx: 6, minThreshold: 0.15, noiseThresholdFactor: 3.5 });

/** Inclusive pixel bounds. */
export interface BoundingBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** One foreground blob. Coordinates are continuous pixels: pixel (i, j) covers [i, i+1) × [j, j+1). */
export interface Blob {
  /** Centroid, px (coverage-weighted, so sub-pixel accurate on clean frames). */
  readonly x: number;
  readonly y: number;
  /** Mask pixels. */
  readonly area: number;
  readonly bbox: BoundingBox;
  /** Mean colour of the blob's core pixels, 0–1. */
  readonly rgb: Rgb;
  /** RGB distance between core colour and background. */
  readonly contrast: number;
  /** The blob reaches the frame border (its centroid and shape are then cut). */
  readonly touchesBorder: boolean;
  /** Edge steepness: strongest boundary gradients over contrast, 1/px (≈ 1/(√(2π)·edge σ)); 0 when not measurable. */
  readonly edgeSteepness: number;
}

export interface FrameAnalysis {
  readonly width: number;
  readonly height: number;
  /** Background colour estimate, 0–1. */
  readonly background: Rgb;
  /** Foreground threshold used (RGB distance). */
  readonly threshold: number;
  /** Largest blobs, by area descending. */
  readonly blobs: readonly Blob[];
  /** Mean intensity over all pixels and channels, 0–1. */
  readonly brightness: number;
  /** Mean edge steepness of the blobs, 1/px; 0 without blobs. */
  readonly sharpness: number;
  /** Estimated per-channel noise std in flat background, intensity 0–1. */
  readonly noise: number;
  /** The frame as floats 0–1 (RGB, row-major), for crops. */
  readonly image: Float32Array;
}

/** 3×3 box blur with clamped edges (separable). */
export function boxBlur3(img: Float32Array, w: number, h: number): Float32Array {
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xl = x > 0 ? x - 1 : 0;
      const xr = x < w - 1 ? x + 1 : w - 1;
      for (let c = 0; c < 3; c++) {
        tmp[(y * w + x) * 3 + c] = ((img[(y * w + xl) * 3 + c] ?? 0) + (img[(y * w + x) * 3 + c] ?? 0) + (img[(y * w + xr) * 3 + c] ?? 0)) / 3;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    const yu = y > 0 ? y - 1 : 0;
    const yd = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        out[(y * w + x) * 3 + c] = ((tmp[(yu * w + x) * 3 + c] ?? 0) + (tmp[(y * w + x) * 3 + c] ?? 0) + (tmp[(yd * w + x) * 3 + c] ?? 0)) / 3;
      }
    }
  }
  return out;
}

function median(values: Float32Array | number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Indices of the border pixels (each once). */
function borderPixels(w: number, h: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < w; x++) out.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) out.push(y * w, y * w + w - 1);
  return h === 1 ? out.slice(0, w) : out;
}

/** The 4-connected components of `mask`, as pixel lists. */
function components(mask: Uint8Array, w: number, h: number): { pixels: number[][] } {
  const labels = new Int32Array(w * h);
  const pixels: number[][] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (mask[start] !== 1 || labels[start] !== 0) continue;
    const label = pixels.length + 1;
    const list: number[] = [];
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop() ?? 0;
      list.push(p);
      const x = p % w;
      const y = (p - x) / w;
      const visit = (q: number): void => {
        if (mask[q] === 1 && labels[q] === 0) {
          labels[q] = label;
          stack.push(q);
        }
      };
      if (x > 0) visit(p - 1);
      if (x < w - 1) visit(p + 1);
      if (y > 0) visit(p - w);
      if (y < h - 1) visit(p + w);
    }
    pixels.push(list);
  }
  return { pixels };
}

/** Squared gradient magnitude (central differences, summed over channels) of an RGB float image. */
function gradientEnergy(img: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const yu = y > 0 ? y - 1 : 0;
    const yd = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const xl = x > 0 ? x - 1 : 0;
      const xr = x < w - 1 ? x + 1 : w - 1;
      let e = 0;
      for (let c = 0; c < 3; c++) {
        const gx = ((img[(y * w + xr) * 3 + c] ?? 0) - (img[(y * w + xl) * 3 + c] ?? 0)) / 2;
        const gy = ((img[(yd * w + x) * 3 + c] ?? 0) - (img[(yu * w + x) * 3 + c] ?? 0)) / 2;
        e += gx * gx + gy * gy;
      }
      out[y * w + x] = e;
    }
  }
  return out;
}

/** Square dilation of a binary mask by `r` pixels. */
function dilate(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const tmp = new Uint8Array(w * h);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let on = 0;
      for (let i = Math.max(0, x - r); i <= Math.min(w - 1, x + r) && on === 0; i++) on = mask[y * w + i] ?? 0;
      tmp[y * w + x] = on;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let on = 0;
      for (let j = Math.max(0, y - r); j <= Math.min(h - 1, y + r) && on === 0; j++) on = tmp[j * w + x] ?? 0;
      out[y * w + x] = on;
    }
  }
  return out;
}

/**
 * Noise std of one channel from its values in flat background, robust to clipping at 0 or 1: the one-sided spread
 * between the median and the 16th/84th percentile on the side away from the nearer clip limit.
 */
function oneSidedSpread(hist: Uint32Array, total: number): { median: number; spread: number } {
  const quantile = (q: number): number => {
    const target = q * total;
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      const next = acc + (hist[v] ?? 0);
      // Linear interpolation inside the bin keeps the estimate continuous for low noise.
      if (next >= target && (hist[v] ?? 0) > 0) return (v - 0.5 + (target - acc) / (hist[v] ?? 1)) / 255;
      acc = next;
    }
    return 1;
  };
  const med = quantile(0.5);
  const spread = med < 0.5 ? quantile(0.8413) - med : med - quantile(0.1587);
  return { median: med, spread: Math.max(0, spread) };
}

/** Distance from colour `p` to the segment from `a` to `b` in RGB space. */
function segmentDistance(p: Rgb, a: Rgb, b: Rgb): number {
  const d: Rgb = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  const t = len2 > 1e-12 ? Math.min(1, Math.max(0, ((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1] + (p[2] - a[2]) * d[2]) / len2)) : 0;
  return Math.hypot(p[0] - a[0] - t * d[0], p[1] - a[1] - t * d[1], p[2] - a[2] - t * d[2]);
}

/**
 * Splits a component that holds two touching objects of different colours: 2-means over the colours of its strong
 * pixels; a split is kept only when both colours are far from the line between the background and the other colour
 * (an object's blurred rim lies on that line, so one object never splits) and both parts are large enough.
 */
function splitByColour(list: readonly number[], blurred: Float32Array, dist: Float32Array, bg: Rgb, minArea: number): number[][] {
  if (list.length < 2 * minArea) return [[...list]];
  const colourAt = (p: number): Rgb => [blurred[p * 3] ?? 0, blurred[p * 3 + 1] ?? 0, blurred[p * 3 + 2] ?? 0];
  let maxDist = 0;
  let seed = list[0] ?? 0;
  for (const p of list) {
    if ((dist[p] ?? 0) > maxDist) {
      maxDist = dist[p] ?? 0;
      seed = p;
    }
  }
  const strong = list.filter((p) => (dist[p] ?? 0) >= 0.5 * maxDist);
  let c1 = colourAt(seed);
  let c2 = c1;
  let far = -1;
  for (const p of strong) {
    const c = colourAt(p);
    const d = Math.hypot(c[0] - c1[0], c[1] - c1[1], c[2] - c1[2]);
    if (d > far) {
      far = d;
      c2 = c;
    }
  }
  let n1 = 0;
  let n2 = 0;
  for (let iter = 0; iter < 6; iter++) {
    const s1 = [0, 0, 0];
    const s2 = [0, 0, 0];
    n1 = 0;
    n2 = 0;
    for (const p of strong) {
      const c = colourAt(p);
      const first = Math.hypot(c[0] - c1[0], c[1] - c1[1], c[2] - c1[2]) <= Math.hypot(c[0] - c2[0], c[1] - c2[1], c[2] - c2[2]);
      const acc = first ? s1 : s2;
      for (let k = 0; k < 3; k++) acc[k] = (acc[k] ?? 0) + (c[k] ?? 0);
      if (first) n1 += 1;
      else n2 += 1;
    }
    if (n1 === 0 || n2 === 0) return [[...list]];
    c1 = [(s1[0] ?? 0) / n1, (s1[1] ?? 0) / n1, (s1[2] ?? 0) / n1];
    c2 = [(s2[0] ?? 0) / n2, (s2[1] ?? 0) / n2, (s2[2] ?? 0) / n2];
  }
  if (Math.min(n1, n2) < minArea / 2 || segmentDistance(c2, bg, c1) < 0.25 || segmentDistance(c1, bg, c2) < 0.25) return [[...list]];
  const a: number[] = [];
  const b: number[] = [];
  for (const p of list) {
    const c = colourAt(p);
    (segmentDistance(c, bg, c1) <= segmentDistance(c, bg, c2) ? a : b).push(p);
  }
  return a.length >= minArea && b.length >= minArea ? [a, b] : [[...list]];
}

/** INVALID_ARGUMENT unless `rgb` holds one RGB24 frame of `width`×`height` (both integers ≥ 3). */
export function checkFrameSize(rgb: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 3 || height < 3 || rgb.length !== width * height * 3) {
    throw new VrGrpoError('INVALID_ARGUMENT', `frame has ${rgb.length} bytes; expected ${width}×${height}×3 (width and height ≥ 3)`, {
      details: { width, height, bytes: rgb.length },
    });
  }
}

/** Analyses one RGB24 frame (`width·height·3` bytes). INVALID_ARGUMENT for a wrong buffer size. */
export function analyseFrame(rgb: Uint8Array, width: number, height: number, options: Partial<AnalysisOptions> = {}): FrameAnalysis {
  const o: AnalysisOptions = { ...DEFAULT_ANALYSIS, ...options };
  const w = width;
  const h = height;
  checkFrameSize(rgb, w, h);
  const n = w * h;
  const image = new Float32Array(n * 3);
  let sum = 0;
  for (let i = 0; i < n * 3; i++) {
    const v = (rgb[i] ?? 0) / 255;
    image[i] = v;
    sum += v;
  }
  const blurred = boxBlur3(image, w, h);
  const border = borderPixels(w, h);
  const channel = (c: number): Float32Array => Float32Array.from(border, (p) => blurred[p * 3 + c] ?? 0);
  const background: Rgb = [median(channel(0)), median(channel(1)), median(channel(2))];
  const [b0, b1, b2] = background;
  const dist = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    dist[p] = Math.hypot((blurred[p * 3] ?? 0) - b0, (blurred[p * 3 + 1] ?? 0) - b1, (blurred[p * 3 + 2] ?? 0) - b2);
  }
  const borderDist = median(Float32Array.from(border, (p) => dist[p] ?? 0));
  const threshold = Math.max(o.minThreshold, o.noiseThresholdFactor * borderDist);
  const mask = new Uint8Array(n);
  for (let p = 0; p < n; p++) mask[p] = (dist[p] ?? 0) > threshold ? 1 : 0;
  const unit = w / 64;
  const minArea = Math.max(1, o.minAreaPx * unit * unit);
  const labels = new Int32Array(n);
  const pixels = components(mask, w, h).pixels.flatMap((list) => splitByColour(list, blurred, dist, background, minArea));
  pixels.forEach((list, i) => {
    for (const p of list) labels[p] = i + 1;
  });
  const kept = pixels
    .map((list, i) => ({ list, label: i + 1 }))
    .filter((c) => c.list.length >= minArea)
    .sort((a, b) => b.list.length - a.list.length || (a.list[0] ?? 0) - (b.list[0] ?? 0))
    .slice(0, o.maxBlobs);

  // Flat background: far (> 2 px) from any foreground pixel. Its gradient energy is the noise floor for edges.
  const near = dilate(mask, w, h, 2);
  const energy = gradientEnergy(blurred, w, h);
  const hist = new Uint32Array(3 * 256);
  let flat = 0;
  let flatEnergy = 0;
  for (let p = 0; p < n; p++) {
    if (near[p] === 1) continue;
    flat += 1;
    flatEnergy += energy[p] ?? 0;
    for (let c = 0; c < 3; c++) {
      const bin = c * 256 + (rgb[p * 3 + c] ?? 0);
      hist[bin] = (hist[bin] ?? 0) + 1;
    }
  }
  const noiseFloor = flat > 0 ? flatEnergy / flat : 0;
  let noise = 0;
  if (flat >= 16) {
    // The channel whose level is farthest from the clip limits gives the least biased spread.
    let best = Infinity;
    for (let c = 0; c < 3; c++) {
      const { median: m, spread } = oneSidedSpread(hist.subarray(c * 256, (c + 1) * 256), flat);
      const clipDistance = Math.abs(m - 0.5);
      if (clipDistance < best) {
        best = clipDistance;
        noise = spread;
      }
    }
  }

  const blobs: Blob[] = kept.map(({ list, label }) => {
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    let maxDist = 0;
    for (const p of list) {
      const x = p % w;
      const y = (p - x) / w;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      maxDist = Math.max(maxDist, dist[p] ?? 0);
    }
    // Core colour: raw pixels whose blurred distance is near the blob's strongest.
    let cr = 0;
    let cg = 0;
    let cb = 0;
    let cn = 0;
    for (const p of list) {
      if ((dist[p] ?? 0) < 0.8 * maxDist) continue;
      cr += image[p * 3] ?? 0;
      cg += image[p * 3 + 1] ?? 0;
      cb += image[p * 3 + 2] ?? 0;
      cn += 1;
    }
    const core: Rgb = cn > 0 ? [cr / cn, cg / cn, cb / cn] : [b0, b1, b2];
    const d0 = core[0] - b0;
    const d1 = core[1] - b1;
    const d2 = core[2] - b2;
    const c2 = d0 * d0 + d1 * d1 + d2 * d2;
    const contrast = Math.sqrt(c2);
    // Coverage-weighted centroid: each pixel's projection onto the background→core colour line, clamped to [0, 1].
    let sw = 0;
    let sx = 0;
    let sy = 0;
    for (const p of list) {
      const a =
        c2 > 1e-9
          ? Math.min(1, Math.max(0, (((image[p * 3] ?? 0) - b0) * d0 + ((image[p * 3 + 1] ?? 0) - b1) * d1 + ((image[p * 3 + 2] ?? 0) - b2) * d2) / c2))
          : 1;
      const x = p % w;
      const y = (p - x) / w;
      sw += a;
      sx += a * (x + 0.5);
      sy += a * (y + 0.5);
    }
    if (sw <= 1e-9) {
      sw = list.length;
      sx = list.reduce((s, p) => s + (p % w) + 0.5, 0);
      sy = list.reduce((s, p) => s + Math.floor(p / w) + 0.5, 0);
    }
    // Edge steepness: the strongest gradients around the blob, as many as it has boundary pixels, minus the noise floor.
    let perimeter = 0;
    for (const p of list) {
      const x = p % w;
      const y = (p - x) / w;
      const inside = (q: number, ok: boolean): boolean => ok && labels[q] === label;
      if (!inside(p - 1, x > 0) || !inside(p + 1, x < w - 1) || !inside(p - w, y > 0) || !inside(p + w, y < h - 1)) perimeter += 1;
    }
    const around: number[] = [];
    for (let y = Math.max(0, y0 - 2); y <= Math.min(h - 1, y1 + 2); y++) {
      for (let x = Math.max(0, x0 - 2); x <= Math.min(w - 1, x1 + 2); x++) around.push(energy[y * w + x] ?? 0);
    }
    around.sort((a, b) => b - a);
    const top = around.slice(0, Math.max(1, perimeter));
    const meanTop = top.reduce((s, v) => s + v, 0) / top.length;
    const edge = Math.sqrt(Math.max(0, meanTop - noiseFloor));
    return {
      x: sx / sw,
      y: sy / sw,
      area: list.length,
      bbox: { x0, y0, x1, y1 },
      rgb: core,
      contrast,
      touchesBorder: x0 === 0 || y0 === 0 || x1 === w - 1 || y1 === h - 1,
      edgeSteepness: contrast > 1e-6 ? edge / contrast : 0,
    };
  });
  const sharpness = blobs.length === 0 ? 0 : blobs.reduce((s, b) => s + b.edgeSteepness, 0) / blobs.length;
  return { width: w, height: h, background, threshold, blobs, brightness: sum / (n * 3), sharpness, noise, image };
}
