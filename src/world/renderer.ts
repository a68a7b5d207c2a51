/** Deterministic renderer: scene → RGB24 frames with anti-aliased shapes and the latent's quality defects applied. */
import { Rng, deriveSeed } from '../common/rng.js';
import type { RawVideo } from '../media/raw-video.js';
import type { Scene, SceneObject } from './latent.js';
import { frameEffects, sceneObjectsAt } from './temporal.js';
import type { Shape } from './vocabulary.js';

export interface RenderOptions {
  /** Frames per video; default 24. */
  readonly frames: number;
  /** Frames per second stored with the video; default 8. */
  readonly fps: number;
  /** Seed of the noise/jitter/flicker patterns (fixed, so rendering is deterministic); default 0. */
  readonly patternSeed?: number;
}

/** Position of an object's centre in frame `f` of `frames`, without jitter. */
export function objectPosition(o: SceneObject, f: number, frames: number): [number, number] {
  const dt = f - (frames - 1) / 2;
  return [o.cx + o.vx * dt, o.cy + o.vy * dt];
}

function boxSdf(px: number, py: number, bx: number, by: number): number {
  const qx = Math.abs(px) - bx;
  const qy = Math.abs(py) - by;
  const ox = Math.max(qx, 0);
  const oy = Math.max(qy, 0);
  return Math.hypot(ox, oy) + Math.min(Math.max(qx, qy), 0);
}

/** Signed distance (px) from a point relative to the shape centre to the shape's edge; negative inside. */
export function shapeSdf(shape: Shape, px: number, py: number, r: number): number {
  switch (shape) {
    case 'circle':
      return Math.hypot(px, py) - r;
    case 'square':
      return boxSdf(px, py, r * 0.85, r * 0.85);
    case 'diamond':
      return (Math.abs(px) + Math.abs(py) - r * 1.1) / Math.SQRT2;
    case 'cross':
      return Math.min(boxSdf(px, py, r, r * 0.36), boxSdf(px, py, r * 0.36, r));
    case 'triangle': {
      // Equilateral triangle pointing up (image y grows downwards), circumradius ≈ 1.15 r.
      const k = Math.sqrt(3);
      const s = r * 1.0;
      let x = Math.abs(px) - s;
      let y = -py + s / k;
      if (x + k * y > 0) {
        const nx = (x - k * y) / 2;
        const ny = (-k * x - y) / 2;
        x = nx;
        y = ny;
      }
      x -= Math.min(Math.max(x, -2 * s), 0);
      return -Math.hypot(x, y) * Math.sign(y);
    }
  }
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(sigma * 2.5));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] ?? 0) / sum;
  return k;
}

/** Separable Gaussian blur of a float RGB frame in place (edges clamped). */
function blurFrame(img: Float32Array, w: number, h: number, sigma: number, tmp: Float32Array): void {
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) {
          const xx = Math.min(w - 1, Math.max(0, x + i));
          acc += (k[i + r] ?? 0) * (img[(y * w + xx) * 3 + c] ?? 0);
        }
        tmp[(y * w + x) * 3 + c] = acc;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) {
          const yy = Math.min(h - 1, Math.max(0, y + i));
          acc += (k[i + r] ?? 0) * (tmp[(yy * w + x) * 3 + c] ?? 0);
        }
        img[(y * w + x) * 3 + c] = acc;
      }
    }
  }
}

/** Per-frame jitter offsets (px, unit amplitude) and flicker factors (unit amplitude), fixed by the pattern seed. */
export function framePatterns(frames: number, patternSeed: number): { jitter: Float32Array; flicker: Float32Array } {
  const rng = Rng.fromSeed(deriveSeed(patternSeed, 0x6a177e5));
  const jitter = new Float32Array(frames * 2);
  const flicker = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    jitter[2 * f] = rng.uniform(-1, 1);
    jitter[2 * f + 1] = rng.uniform(-1, 1);
    // Alternating sign keeps flicker visible from one frame to the next.
    flicker[f] = (f % 2 === 0 ? 1 : -1) * rng.uniform(0.5, 1);
  }
  return { jitter, flicker };
}

/** Strength of a corruption burst per unit severity: noise std and block tint (intensity 0–1). */
const BURST_NOISE = 0.22;
const BURST_TINT = 0.35;
/** Local flicker: brightness amplitude per unit severity. */
const LOCAL_FLICKER = 0.3;

/** Corrupts a frame as a burst: strong noise and tinted 8×8 blocks (world v2). */
function applyBurst(img: Float32Array, w: number, h: number, severity: number, rng: Rng): void {
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      const tint = rng.bool(0.3) ? [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)] : null;
      for (let y = by; y < Math.min(h, by + 8); y++) {
        for (let x = bx; x < Math.min(w, bx + 8); x++) {
          const p = (y * w + x) * 3;
          for (let c = 0; c < 3; c++) {
            img[p + c] = (img[p + c] ?? 0) + (tint === null ? 0 : (tint[c] ?? 0) * BURST_TINT * severity) + BURST_NOISE * severity * rng.normal();
          }
        }
      }
    }
  }
}

/** Renders a scene to raw RGB24 frames. Deterministic: the same scene and options give the same bytes. */
export function renderScene(scene: Scene, options: RenderOptions): RawVideo {
  const { width: w, height: h } = scene;
  const frames = options.frames;
  const data = new Uint8Array(frames * w * h * 3);
  const img = new Float32Array(w * h * 3);
  const tmp = new Float32Array(w * h * 3);
  const { jitter, flicker } = framePatterns(frames, options.patternSeed ?? 0);
  const noiseRng = Rng.fromSeed(deriveSeed(options.patternSeed ?? 0, 0x40153));
  const burstRng = Rng.fromSeed(deriveSeed(options.patternSeed ?? 0, 0xb0757));
  const [br, bg, bb] = scene.background;
  const localDefects = scene.temporal?.localDefects ?? [];
  for (let f = 0; f < frames; f++) {
    const effects = frameEffects(f, frames, localDefects);
    const states = sceneObjectsAt(scene, f, frames);
    for (let i = 0; i < w * h; i++) {
      img[3 * i] = br;
      img[3 * i + 1] = bg;
      img[3 * i + 2] = bb;
    }
    const jx = (jitter[2 * f] ?? 0) * scene.defects.jitter;
    const jy = (jitter[2 * f + 1] ?? 0) * scene.defects.jitter;
    scene.objects.forEach((o, k) => {
      const state = states[k];
      if (state === undefined || !state.present) return;
      const cx = state.x + jx;
      const cy = state.y + jy;
      const reach = o.radius * 1.6 + 1;
      const xa = Math.max(0, Math.floor(cx - reach));
      const xb = Math.min(w - 1, Math.ceil(cx + reach));
      const ya = Math.max(0, Math.floor(cy - reach));
      const yb = Math.min(h - 1, Math.ceil(cy + reach));
      for (let y = ya; y <= yb; y++) {
        for (let x = xa; x <= xb; x++) {
          const d = shapeSdf(o.shape, x + 0.5 - cx, y + 0.5 - cy, o.radius);
          const cover = Math.min(1, Math.max(0, 0.5 - d));
          if (cover <= 0) continue;
          const p = (y * w + x) * 3;
          for (let c = 0; c < 3; c++) img[p + c] = (img[p + c] ?? 0) * (1 - cover) + (state.rgb[c] ?? 0) * cover;
        }
      }
    });
    if (scene.defects.blur > 0.05) blurFrame(img, w, h, scene.defects.blur, tmp);
    if (effects.burst > 0) applyBurst(img, w, h, effects.burst, burstRng);
    const gain = 1 + (flicker[f] ?? 0) * scene.defects.flicker + (f % 2 === 0 ? 1 : -1) * LOCAL_FLICKER * effects.flicker;
    const noise = scene.defects.noise;
    const base = f * w * h * 3;
    for (let i = 0; i < w * h * 3; i++) {
      let v = (img[i] ?? 0) * gain;
      if (noise > 0) v += noise * noiseRng.normal();
      data[base + i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { width: w, height: h, frameCount: frames, fps: options.fps, data };
}
