/**
 * Measured signals over the frames of one video the judge has seen (any sparse subset): object tracks matched across
 * frames by colour and position, their least-squares velocities, and defect severities on the world's latent scale
 * (0 none, ~1 clearly visible; see DEFECT_SCALE in src/world/latent.ts):
 *   jitter  — residual of centroids around each track's linear fit (shared per-frame offsets),
 *   flicker — brightness changes that alternate with frame parity, read from the background level (so motion cannot
 *             cause them),
 *   blur    — edge steepness at object boundaries (1/steepness² grows with the blur variance, from a clean value that
 *             depends on the shape the classifier sees),
 *   noise   — spread of flat background pixels.
 * The mappings from raw measures to severities were calibrated on rendered videos with known latents (docs/perception.md;
 * the trainer re-measures their correlation with the truth for every model it ships).
 */
import { DEFECT_SCALE, type Rgb } from '../../../../world/index.js';

/** What {@link videoSignals} reads of a frame: {@link FramePerception} fits; the measured colours are optional. */
export interface SignalFrame {
  readonly frameIndex: number;
  readonly objects: readonly {
    readonly x: number;
    readonly y: number;
    readonly area: number;
    readonly colourProbs: Float32Array;
    readonly shapeProbs: Float32Array;
    readonly rgb?: Rgb;
    readonly touchesBorder?: boolean;
    readonly edgeSteepness?: number;
  }[];
  readonly brightness: number;
  readonly sharpness: number;
  readonly noise: number;
  readonly background?: Rgb;
}

/** A tracked object's motion. */
export interface TrackedVelocity {
  /** Least-squares velocity, px/frame at the frame size given (0 with fewer than 2 samples). */
  readonly vx: number;
  readonly vy: number;
  /** RMS distance of the centroids from the fitted line, px. */
  readonly fitResidualPx: number;
  /** Frames the object was found in. */
  readonly samples: number;
  /** Mean class probabilities over the track (OBJECT_COLOUR_NAMES, SHAPES order), to tell tracks apart. */
  readonly colourProbs: Float32Array;
  readonly shapeProbs: Float32Array;
  /** Mean area, px. */
  readonly area: number;
}

export interface VideoSignals {
  /** Per tracked object (at most 2), most samples first, then largest. */
  readonly velocity: readonly TrackedVelocity[];
  /** Defect severity estimates, latent units (0 none, ~1 clearly visible). */
  readonly jitter: number;
  readonly flicker: number;
  readonly blur: number;
  readonly noise: number;
  /** 0..1: how reliable the estimates are given the frames seen (count, motion samples, both flicker parities). */
  readonly confidence: number;
}

/** Raw measurements behind the severities (for calibration and diagnostics). */
export interface RawSignals {
  /** Pooled per-axis RMS residual of the track fits, px at 64×64 (null without enough samples). */
  readonly jitterRmsPx: number | null;
  /** Degrees of freedom behind `jitterRmsPx`. */
  readonly jitterDof: number;
  /** Relative brightness amplitude between even and odd frames (null without frames). */
  readonly flickerAmplitude: number | null;
  readonly bothParities: boolean;
  /**
   * Median over object sightings of 1/steepness² (px²) minus the clean value expected for the object's shape, over
   * (width/64)² (null without objects): grows with the blur variance, 0 for sharp edges.
   */
  readonly blurExcess: number | null;
  /** Median noise std, intensity 0–1. */
  readonly noiseStd: number;
}

/**
 * Calibration of raw measures to severities (fitted on rendered videos with known latents, see docs/perception.md).
 * jitter: √(rms² − floor²) / (amplitude per severity · RMS of U(−1, 1));
 * flicker: amplitude / (DEFECT_SCALE.flicker · E|U(0.5, 1)|) · gain; noise: (std − floor) / DEFECT_SCALE.noise;
 * blur: √((1/s² − clean(shape)) / slope), the clean value weighted by the object's shape probabilities.
 */
export const SIGNAL_CALIBRATION = Object.freeze({
  jitterFloorPx: 0.08,
  jitterPerSeverityPx: DEFECT_SCALE.jitter / Math.sqrt(3),
  /** 1/steepness² of a sharp edge, per shape (SHAPES order: circle, square, triangle, diamond, cross); corners differ. */
  blurInvSquaredClean: [8.0, 9.1, 8.3, 7.15, 9.2] as readonly number[],
  /** Growth of 1/steepness² per unit of blur severity squared. */
  blurInvSquaredPerSeverity2: 12.4,
  flickerMeanFactor: 0.75,
  flickerGain: 1,
  noiseFloor: 0.002,
});

/** Expected clean 1/steepness² under a shape distribution (the mean floor when the probabilities are unusable). */
function cleanInvSquared(shapeProbs: Float32Array): number {
  const floors = SIGNAL_CALIBRATION.blurInvSquaredClean;
  const total = shapeProbs.reduce((s, p) => s + p, 0);
  if (shapeProbs.length !== floors.length || !(total > 0.5)) return mean([...floors]);
  return floors.reduce((s, f, i) => s + f * (shapeProbs[i] ?? 0), 0) / total;
}

interface Obs {
  readonly f: number;
  readonly x: number;
  readonly y: number;
  readonly area: number;
  readonly colour: Float32Array;
  readonly shape: Float32Array;
  readonly chroma: Rgb | null;
  readonly rgb: Rgb | null;
  readonly border: boolean;
}

interface Fit {
  readonly x0: number;
  readonly vx: number;
  readonly y0: number;
  readonly vy: number;
  readonly rss: number;
  readonly n: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Least-squares line through positions over frame indices (velocity 0 with one sample). */
function fitLine(obs: readonly Obs[]): Fit {
  const n = obs.length;
  const fm = mean(obs.map((o) => o.f));
  const xm = mean(obs.map((o) => o.x));
  const ym = mean(obs.map((o) => o.y));
  let sff = 0;
  let sfx = 0;
  let sfy = 0;
  for (const o of obs) {
    sff += (o.f - fm) ** 2;
    sfx += (o.f - fm) * (o.x - xm);
    sfy += (o.f - fm) * (o.y - ym);
  }
  const vx = sff > 0 ? sfx / sff : 0;
  const vy = sff > 0 ? sfy / sff : 0;
  const x0 = xm - vx * fm;
  const y0 = ym - vy * fm;
  let rss = 0;
  for (const o of obs) rss += (o.x - x0 - vx * o.f) ** 2 + (o.y - y0 - vy * o.f) ** 2;
  return { x0, vx, y0, vy, rss, n };
}

/**
 * The observations a fit should use: those clear of the border and of normal size for the track (a merged pair of
 * objects or a fragment has a displaced centroid), when at least `min` of them remain; then, with four or more, those
 * whose residual is not an outlier (beyond 3 robust standard deviations of the residual norms).
 */
function usable(obs: readonly Obs[], min: number): Obs[] {
  let use = obs.filter((o) => !o.border);
  if (use.length < min) use = [...obs];
  const area = median(use.map((o) => o.area));
  const normal = use.filter((o) => o.area >= 0.6 * area && o.area <= 1.5 * area);
  if (normal.length >= min) use = normal;
  if (use.length >= 4) {
    const fit = fitLine(use);
    const res = use.map((o) => Math.hypot(o.x - fit.x0 - fit.vx * o.f, o.y - fit.y0 - fit.vy * o.f));
    const scale = 1.4826 * median(res);
    const kept = use.filter((_, i) => (res[i] ?? 0) <= Math.max(3 * scale, 1));
    if (kept.length >= Math.max(min, 3)) use = kept;
  }
  return use;
}

function chromaOf(rgb: Rgb | undefined): Rgb | null {
  if (rgb === undefined) return null;
  const s = rgb[0] + rgb[1] + rgb[2];
  return s > 0.05 ? [rgb[0] / s, rgb[1] / s, rgb[2] / s] : [1 / 3, 1 / 3, 1 / 3];
}

function bhattacharyya(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += Math.sqrt(Math.max(0, (a[i] ?? 0) * (b[i] ?? 0)));
  return s;
}

class Track {
  readonly obs: Obs[] = [];

  constructor(first: Obs) {
    this.obs.push(first);
  }

  predict(f: number): [number, number] {
    const use = usable(this.obs, 2);
    if (use.length >= 2) {
      const fit = fitLine(use);
      return [fit.x0 + fit.vx * f, fit.y0 + fit.vy * f];
    }
    const last = this.obs[this.obs.length - 1] ?? this.obs[0];
    return last === undefined ? [0, 0] : [last.x, last.y];
  }

  /** Colour mismatch 0 (same) … 1 (different): measured chromaticity when known (flicker-invariant), else class probabilities. */
  colourCost(o: Obs): number {
    const withChroma = this.obs.filter((p) => p.chroma !== null);
    if (o.chroma !== null && withChroma.length > 0) {
      const c = [0, 1, 2].map((i) => mean(withChroma.map((p) => p.chroma?.[i] ?? 0)));
      const d = Math.hypot((c[0] ?? 0) - o.chroma[0], (c[1] ?? 0) - o.chroma[1], (c[2] ?? 0) - o.chroma[2]);
      return Math.min(1, d / 0.12);
    }
    const k = o.colour.length;
    const avg = new Float32Array(k);
    for (const p of this.obs) for (let i = 0; i < k; i++) avg[i] = (avg[i] ?? 0) + (p.colour[i] ?? 0) / this.obs.length;
    return Math.min(1, Math.max(0, 1 - bhattacharyya(avg, o.colour)) / 0.6);
  }

  get lastFrame(): number {
    return this.obs[this.obs.length - 1]?.f ?? 0;
  }

  velocity(): TrackedVelocity {
    const use = usable(this.obs, 2);
    const fit = fitLine(use);
    const k = this.obs[0]?.colour.length ?? 0;
    const ks = this.obs[0]?.shape.length ?? 0;
    const colour = new Float32Array(k);
    const shape = new Float32Array(ks);
    for (const p of this.obs) {
      for (let i = 0; i < k; i++) colour[i] = (colour[i] ?? 0) + (p.colour[i] ?? 0) / this.obs.length;
      for (let i = 0; i < ks; i++) shape[i] = (shape[i] ?? 0) + (p.shape[i] ?? 0) / this.obs.length;
    }
    return {
      vx: fit.vx,
      vy: fit.vy,
      fitResidualPx: fit.n > 0 ? Math.sqrt(fit.rss / fit.n) : 0,
      samples: this.obs.length,
      colourProbs: colour,
      shapeProbs: shape,
      area: mean(this.obs.map((p) => p.area)),
    };
  }
}

/** Builds object tracks: each frame's objects are assigned greedily to the track with the lowest colour+position cost. */
function buildTracks(frames: readonly SignalFrame[], unit: number): Track[] {
  const tracks: Track[] = [];
  for (const frame of frames) {
    const obs: Obs[] = frame.objects.map((o) => ({
      f: frame.frameIndex,
      x: o.x,
      y: o.y,
      area: o.area,
      colour: o.colourProbs,
      shape: o.shapeProbs,
      chroma: chromaOf(o.rgb),
      rgb: o.rgb ?? null,
      border: o.touchesBorder ?? false,
    }));
    const pairs: { t: number; o: number; cost: number }[] = [];
    tracks.forEach((track, t) => {
      if (track.lastFrame === frame.frameIndex) return;
      const gap = Math.abs(frame.frameIndex - track.lastFrame);
      // World objects move at most ~4 px/frame (64×64); typical speeds are below 1.5.
      const reach = (6 + 2 * gap) * unit;
      obs.forEach((o, i) => {
        const [px, py] = track.predict(o.f);
        const d = Math.hypot(o.x - px, o.y - py);
        const colour = track.colourCost(o);
        if (d <= reach && colour < 1) pairs.push({ t, o: i, cost: 2 * colour + d / reach });
      });
    });
    pairs.sort((a, b) => a.cost - b.cost);
    const usedT = new Set<number>();
    const usedO = new Set<number>();
    for (const p of pairs) {
      if (usedT.has(p.t) || usedO.has(p.o)) continue;
      const o = obs[p.o];
      if (o === undefined) continue;
      tracks[p.t]?.obs.push(o);
      usedT.add(p.t);
      usedO.add(p.o);
    }
    obs.forEach((o, i) => {
      if (!usedO.has(i)) tracks.push(new Track(o));
    });
  }
  return tracks;
}

/** The raw measurements of {@link videoSignals}. */
export function rawSignals(perceptions: readonly SignalFrame[], width: number): { raw: RawSignals; tracks: TrackedVelocity[] } {
  const unit = width / 64;
  const frames = [...perceptions].sort((a, b) => a.frameIndex - b.frameIndex);
  const tracks = buildTracks(frames, unit);
  const ranked = tracks
    .map((t) => ({ t, v: t.velocity() }))
    .sort((a, b) => b.v.samples - a.v.samples || b.v.area - a.v.area)
    .slice(0, 2);

  // Jitter: pooled residuals of the tracks with at least 3 usable samples.
  let rss = 0;
  let dof = 0;
  const most = ranked[0]?.v.samples ?? 0;
  for (const { t } of ranked) {
    if (t.obs.length < 0.5 * most) continue;
    const use = usable(t.obs, 3);
    if (use.length < 3) continue;
    const fit = fitLine(use);
    rss += fit.rss;
    dof += 2 * (use.length - 2);
  }
  const jitterRmsPx = dof > 0 ? Math.sqrt(rss / dof) / unit : null;

  // Flicker: brightness relative to its mean against frame parity, from several sources — the background and each
  // tracked object's core colour (channels away from the clip limits; motion does not change either) — weighted by
  // their intensity (8-bit quantisation hurts dark sources) and by how balanced their parities are.
  const sources: { f: number; level: number }[][] = [];
  const levelSeries = (items: readonly { f: number; rgb: Rgb }[], hi: number): { f: number; level: number }[] => {
    const channels = [0, 1, 2].filter((c) => {
      const m = median(items.map((it) => it.rgb[c] ?? 0));
      return m > 0.02 && m < hi;
    });
    if (channels.length === 0) return [];
    return items.map((it) => ({ f: it.f, level: channels.reduce((s, c) => s + (it.rgb[c] ?? 0), 0) }));
  };
  const bgItems = frames.flatMap((f) => (f.background === undefined ? [] : [{ f: f.frameIndex, rgb: f.background }]));
  if (bgItems.length === frames.length && frames.length > 0) sources.push(levelSeries(bgItems, 0.7));
  else sources.push(frames.map((f) => ({ f: f.frameIndex, level: f.brightness })));
  for (const { t } of ranked) {
    const items = t.obs.flatMap((o) => (o.rgb === null || o.border ? [] : [{ f: o.f, rgb: o.rgb }]));
    if (items.length >= 2) sources.push(levelSeries(items, 0.7));
  }
  let num = 0;
  let den = 0;
  let bothParities = false;
  for (const series of sources) {
    const level = mean(series.map((s) => s.level));
    if (level <= 1e-3) continue;
    const even = series.filter((s) => s.f % 2 === 0).map((s) => s.level / level - 1);
    const odd = series.filter((s) => s.f % 2 === 1).map((s) => s.level / level - 1);
    if (even.length === 0 || odd.length === 0) continue;
    bothParities = true;
    const w = level * ((even.length * odd.length) / (even.length + odd.length));
    num += w * Math.max(0, (mean(even) - mean(odd)) / 2);
    den += w;
  }
  let flickerAmplitude: number | null = null;
  if (den > 0) flickerAmplitude = num / den / SIGNAL_CALIBRATION.flickerMeanFactor;
  else {
    const bg = sources[0] ?? [];
    if (bg.length >= 3) {
      // One parity only: the spread of |U(0.5, 1)| (std ≈ 0.144) is all that shows.
      const level = mean(bg.map((s) => s.level));
      const rel = bg.map((s) => (level > 1e-6 ? s.level / level - 1 : 0));
      const m = mean(rel);
      flickerAmplitude = Math.sqrt(mean(rel.map((r) => (r - m) ** 2))) / 0.144;
    }
  }

  // Blur: per object sighting (clear of the border when possible), the excess of 1/steepness² over its shape's clean value.
  const sightings = frames.flatMap((f) =>
    f.objects.map((o) => ({ border: o.touchesBorder ?? false, s: o.edgeSteepness ?? f.sharpness, floor: cleanInvSquared(o.shapeProbs) })),
  );
  const measurable = sightings.filter((x) => x.s > 0);
  const clearOnes = measurable.filter((x) => !x.border);
  // The sharp-edge width (anti-aliasing) is a pixel property; the blur σ scales with the frame (σ = 1.5·severity·width/64).
  const blurSamples = (clearOnes.length > 0 ? clearOnes : measurable).map((x) => (1 / (x.s * x.s) - x.floor) / (unit * unit));

  return {
    raw: {
      jitterRmsPx,
      jitterDof: dof,
      flickerAmplitude,
      bothParities,
      blurExcess: blurSamples.length > 0 ? median(blurSamples) : null,
      noiseStd: median(frames.map((f) => f.noise)),
    },
    tracks: ranked.map((r) => r.v),
  };
}

/** Severity estimates and object velocities over the frames of ONE video that were seen (any subset, any order). */
export function videoSignals(perceptions: readonly SignalFrame[], width: number, _height: number): VideoSignals {
  const cal = SIGNAL_CALIBRATION;
  const { raw, tracks } = rawSignals(perceptions, width);
  const jitter = raw.jitterRmsPx === null ? 0 : Math.sqrt(Math.max(0, raw.jitterRmsPx ** 2 - cal.jitterFloorPx ** 2)) / cal.jitterPerSeverityPx;
  const flicker = raw.flickerAmplitude === null ? 0 : (cal.flickerGain * raw.flickerAmplitude) / DEFECT_SCALE.flicker;
  const blur = raw.blurExcess === null ? 0 : Math.sqrt(Math.max(0, raw.blurExcess) / cal.blurInvSquaredPerSeverity2);
  const noise = Math.max(0, raw.noiseStd - cal.noiseFloor) / DEFECT_SCALE.noise;
  const n = perceptions.length;
  const withObjects = perceptions.filter((p) => p.objects.length > 0).length;
  const confidence = n === 0 ? 0 : ((Math.min(1, n / 8) + Math.min(1, raw.jitterDof / 12) + (raw.bothParities ? 1 : 0.4)) / 3) * (withObjects > 0 ? 1 : 0.5);
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return { velocity: tracks, jitter: round(jitter), flicker: round(flicker), blur: round(blur), noise: round(noise), confidence: round(confidence) };
}
