/**
 * Reward calibration across a reward-model swap. A new judge scores on its own scale, so after a swap the per-prompt
 * statistics (and with them the advantage scale) jump. Given the same videos scored by the old and by the new judge
 * (the run's anchor videos, judged before and after the swap), this fits per reward dimension a non-decreasing map
 * new → old and applies it, fading out as the new judge's own statistics accumulate:
 * - `quantile`: quantile matching. The finite pairs' old and new scores are sorted separately and paired rank by rank
 *   (new scores that tie share one knot, at the mean of their old quantiles); between knots the map is piecewise
 *   linear. Beyond the ends it continues with the knots' overall slope ((last old − first old) / (last new − first
 *   new), steadier than an end segment's) and is clipped to the old range widened by `extrapolationMargin` × its span
 *   on each side.
 * - `affine`: least squares old ≈ a·new + b. A slope a ≤ 0 (the judges disagree on the order) falls back to mean/std
 *   matching (a = σ_old/σ_new); constant new or old scores fall back to the identity, with the reason recorded. Least
 *   squares shrinks the scale when the judges agree only loosely (a = r·σ_old/σ_new): prefer `quantile` when the
 *   spread of the rewards, not only their level, must carry over.
 * Decay is linear: w = max(0, 1 − judgedSinceSwap / decayJudgments) and apply = w·map(score) + (1 − w)·score, so the
 * map is exactly the identity once `decayJudgments` judgments have been made by the new judge (an exponential would
 * never get there). Set `decayJudgments` to about what refills the per-prompt statistics (prompts × buffer size).
 * Limits: the map is only as good as the anchor set (few anchors → a coarse map; a range the anchors do not cover is
 * extrapolated); it aligns marginal distributions, not the two judges' disagreements on single videos; it is pure
 * data (`toJSON` / {@link RewardCalibration.fromJSON}), so it rides in checkpoints and in the swap event.
 */
import { z } from 'zod';
import { VrGrpoError } from '../errors/index.js';
import { mean, std } from './advantages.js';

/** The reward dimensions a calibration covers (the keys of an anchor pass's scores). */
export const CALIBRATION_DIMENSIONS = ['combined', 'TA', 'MQ', 'VQ', 'overall'] as const;
export type CalibrationDimension = (typeof CALIBRATION_DIMENSIONS)[number];
export type CalibrationMethod = 'quantile' | 'affine';

export interface CalibrationOptions {
  readonly method: CalibrationMethod;
  /** Judgments by the new judge after which the map has faded to the identity (linear decay). Default 2048; > 0. */
  readonly decayJudgments: number;
  /** Finite (old, new) pairs a dimension needs, at least 2. Default 4. */
  readonly minPoints: number;
  /** Quantile method: how far beyond the old range an extrapolated value may go, as a fraction of its span. Default 0.5. */
  readonly extrapolationMargin: number;
  /**
   * A dimension given on both sides but with fewer than `minPoints` finite pairs: 'throw' (INVALID_ARGUMENT), or
   * 'identity' (left uncalibrated, the reason recorded; e.g. TA/MQ/VQ of a judge that answers overall only). Default 'throw'.
   */
  readonly insufficient: 'throw' | 'identity';
}

export const DEFAULT_CALIBRATION_OPTIONS: CalibrationOptions = Object.freeze({
  method: 'quantile',
  decayJudgments: 2048,
  minPoints: 4,
  extrapolationMargin: 0.5,
  insufficient: 'throw',
});

/** One dimension's fitted map. `n`: finite pairs used; `residual`: RMS of old − map(new) over them (0 for identity). */
export type DimensionCalibration =
  | {
      readonly kind: 'quantile';
      readonly n: number;
      readonly residual: number;
      /** [new, old] knots, new strictly increasing, old non-decreasing; at least 2. */
      readonly knots: readonly (readonly [number, number])[];
      /** Slope beyond the ends (≥ 0). */
      readonly slope: number;
      /** Clip range of extrapolated values. */
      readonly lo: number;
      readonly hi: number;
    }
  | {
      readonly kind: 'affine';
      readonly n: number;
      readonly residual: number;
      /** old ≈ a·new + b, a > 0. */
      readonly a: number;
      readonly b: number;
      /** 'least-squares', or 'mean-std' when least squares gave a ≤ 0. */
      readonly via: 'least-squares' | 'mean-std';
    }
  | { readonly kind: 'identity'; readonly n: number; readonly residual: number; readonly reason: string };

/** The serialisable state: what a checkpoint and the swap event carry. */
export interface CalibrationState {
  readonly version: 1;
  readonly method: CalibrationMethod;
  readonly decayJudgments: number;
  readonly dimensions: Readonly<Partial<Record<CalibrationDimension, DimensionCalibration>>>;
}

/** A compact account of a fit (for a run event): per dimension its kind, n, residual and parameters or knot count. */
export interface CalibrationSummary {
  readonly method: CalibrationMethod;
  readonly decayJudgments: number;
  readonly dimensions: Readonly<
    Partial<
      Record<
        CalibrationDimension,
        { readonly kind: DimensionCalibration['kind']; readonly n: number; readonly residual: number; readonly detail: string | number | readonly number[] }
      >
    >
  >;
}

const invalid = (message: string, details: Record<string, unknown> = {}): VrGrpoError => new VrGrpoError('INVALID_ARGUMENT', message, { details });

export class RewardCalibration {
  private constructor(private readonly s: CalibrationState) {}

  /**
   * Fits a map per dimension present in both score sets (the other keys are ignored; a dimension on one side only is
   * left as the identity). Throws INVALID_ARGUMENT for mismatched lengths, too few finite pairs (see `insufficient`)
   * and options out of range.
   */
  static fit(
    oldScores: Readonly<Record<string, readonly number[]>>,
    newScores: Readonly<Record<string, readonly number[]>>,
    options: Partial<CalibrationOptions> = {},
  ): RewardCalibration {
    const o = { ...DEFAULT_CALIBRATION_OPTIONS, ...options };
    if (o.method !== 'quantile' && o.method !== 'affine') throw invalid(`calibration: method must be 'quantile' or 'affine', got ${String(o.method)}`);
    if (o.insufficient !== 'throw' && o.insufficient !== 'identity')
      throw invalid(`calibration: insufficient must be 'throw' or 'identity', got ${String(o.insufficient)}`);
    checkDecay(o.decayJudgments);
    if (!Number.isInteger(o.minPoints) || o.minPoints < 2) throw invalid(`calibration: minPoints must be an integer >= 2, got ${o.minPoints}`);
    if (!(o.extrapolationMargin >= 0) || !Number.isFinite(o.extrapolationMargin))
      throw invalid(`calibration: extrapolationMargin must be a finite number >= 0, got ${o.extrapolationMargin}`);
    const dimensions: Partial<Record<CalibrationDimension, DimensionCalibration>> = {};
    for (const d of CALIBRATION_DIMENSIONS) {
      const before = oldScores[d];
      const after = newScores[d];
      if (before === undefined && after === undefined) continue;
      if (before === undefined || after === undefined) {
        dimensions[d] = { kind: 'identity', n: 0, residual: 0, reason: `scores missing on the ${before === undefined ? 'old' : 'new'} side` };
        continue;
      }
      if (before.length !== after.length)
        throw invalid(`calibration: ${d} has ${before.length} old scores and ${after.length} new scores; they must be the same videos`, {
          dimension: d,
          old: before.length,
          new: after.length,
        });
      const pairs: [number, number][] = [];
      for (let i = 0; i < before.length; i++) {
        const y = before[i] ?? NaN;
        const x = after[i] ?? NaN;
        if (Number.isFinite(x) && Number.isFinite(y)) pairs.push([x, y]);
      }
      if (pairs.length < o.minPoints) {
        const reason = `${pairs.length} finite (old, new) pairs, fewer than ${o.minPoints}`;
        if (o.insufficient === 'identity') {
          dimensions[d] = { kind: 'identity', n: pairs.length, residual: 0, reason };
          continue;
        }
        throw invalid(`calibration: ${d} has ${reason}`, { dimension: d, pairs: pairs.length, minPoints: o.minPoints });
      }
      dimensions[d] = o.method === 'quantile' ? fitQuantile(pairs, o.extrapolationMargin) : fitAffine(pairs);
    }
    return new RewardCalibration({ version: 1, method: o.method, decayJudgments: o.decayJudgments, dimensions });
  }

  /** Back from {@link toJSON}'s output (a checkpoint); throws INVALID_ARGUMENT naming the field when it is malformed. */
  static fromJSON(value: unknown): RewardCalibration {
    const parsed = stateSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalid(`calibration state: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    const s: CalibrationState = parsed.data;
    checkDecay(s.decayJudgments);
    for (const [d, fit] of Object.entries(s.dimensions)) {
      if (fit.kind !== 'quantile') continue;
      for (let i = 1; i < fit.knots.length; i++) {
        const [x0, y0] = fit.knots[i - 1] ?? [0, 0];
        const [x1, y1] = fit.knots[i] ?? [0, 0];
        if (!(x1 > x0) || !(y1 >= y0)) throw invalid(`calibration state: dimensions.${d}.knots must rise in new and not fall in old (knot ${i})`);
      }
      if (!(fit.lo <= fit.hi)) throw invalid(`calibration state: dimensions.${d}: lo must not exceed hi`);
    }
    return new RewardCalibration(s);
  }

  toJSON(): CalibrationState {
    return structuredClone(this.s);
  }

  get method(): CalibrationMethod {
    return this.s.method;
  }

  /** The fitted map of one dimension (no decay); the identity for a dimension not fitted. NaN in, NaN out. */
  map(dimension: CalibrationDimension, score: number): number {
    if (!Number.isFinite(score)) return NaN;
    const fit = this.s.dimensions[dimension];
    if (fit === undefined || fit.kind === 'identity') return score;
    if (fit.kind === 'affine') return fit.a * score + fit.b;
    return quantileMap(fit, score);
  }

  /** The map's weight after `judgedSinceSwap` judgments by the new judge: max(0, 1 − judgedSinceSwap / decayJudgments). */
  weight(judgedSinceSwap: number): number {
    if (!(judgedSinceSwap >= 0) || !Number.isFinite(judgedSinceSwap))
      throw invalid(`calibration: judgedSinceSwap must be a finite number >= 0, got ${judgedSinceSwap}`);
    return Math.max(0, 1 - judgedSinceSwap / this.s.decayJudgments);
  }

  /** w·map(score) + (1 − w)·score with w = {@link weight}; NaN (a masked score) passes through. */
  apply(dimension: CalibrationDimension, score: number, judgedSinceSwap: number): number {
    const w = this.weight(judgedSinceSwap);
    if (!Number.isFinite(score)) return NaN;
    return w === 0 ? score : w * this.map(dimension, score) + (1 - w) * score;
  }

  /** {@link apply} over a list of scores (a group's rewards). */
  applyAll(dimension: CalibrationDimension, scores: readonly number[], judgedSinceSwap: number): number[] {
    return scores.map((x) => this.apply(dimension, x, judgedSinceSwap));
  }

  summary(): CalibrationSummary {
    const dimensions: Partial<Record<CalibrationDimension, CalibrationSummary['dimensions'][CalibrationDimension]>> = {};
    for (const d of CALIBRATION_DIMENSIONS) {
      const f = this.s.dimensions[d];
      if (f === undefined) continue;
      const detail = f.kind === 'quantile' ? f.knots.length : f.kind === 'affine' ? [f.a, f.b] : f.reason;
      dimensions[d] = { kind: f.kind, n: f.n, residual: f.residual, detail };
    }
    return { method: this.s.method, decayJudgments: this.s.decayJudgments, dimensions };
  }
}

function checkDecay(decayJudgments: number): void {
  if (!(decayJudgments > 0) || !Number.isFinite(decayJudgments))
    throw invalid(`calibration: decayJudgments must be a finite number > 0, got ${decayJudgments}`);
}

function rmsResidual(pairs: readonly (readonly [number, number])[], f: (x: number) => number): number {
  return Math.sqrt(mean(pairs.map(([x, y]) => (y - f(x)) ** 2)));
}

/** Pairs are [new, old]. */
function fitQuantile(pairs: readonly (readonly [number, number])[], margin: number): DimensionCalibration {
  const xs = pairs.map((p) => p[0]).sort((a, b) => a - b);
  const ys = pairs.map((p) => p[1]).sort((a, b) => a - b);
  // Ties in new: one knot at the mean of the old quantiles they pair with (keeps the map a function, still monotone).
  const knots: [number, number][] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    let sum = 0;
    while (j < xs.length && xs[j] === xs[i]) sum += ys[j++] ?? 0;
    knots.push([xs[i] ?? 0, sum / (j - i)]);
    i = j;
  }
  const n = pairs.length;
  if (knots.length < 2) return { kind: 'identity', n, residual: 0, reason: 'new scores are all equal: no quantile map' };
  const [x0, y0] = knots[0] ?? [0, 0];
  const [x1, y1] = knots[knots.length - 1] ?? [0, 0];
  const slope = (y1 - y0) / (x1 - x0);
  const span = (ys[ys.length - 1] ?? 0) - (ys[0] ?? 0);
  const fit = { kind: 'quantile' as const, n, residual: 0, knots, slope, lo: (ys[0] ?? 0) - margin * span, hi: (ys[ys.length - 1] ?? 0) + margin * span };
  return { ...fit, residual: rmsResidual(pairs, (x) => quantileMap(fit, x)) };
}

function quantileMap(fit: Extract<DimensionCalibration, { kind: 'quantile' }>, x: number): number {
  const k = fit.knots;
  const [x0, y0] = k[0] ?? [0, 0];
  const [xn, yn] = k[k.length - 1] ?? [0, 0];
  const clip = (y: number): number => Math.min(fit.hi, Math.max(fit.lo, y));
  if (x <= x0) return clip(y0 + fit.slope * (x - x0));
  if (x >= xn) return clip(yn + fit.slope * (x - xn));
  // Binary search for the segment [k[lo], k[lo + 1]] holding x.
  let lo = 0;
  let hi = k.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((k[mid]?.[0] ?? 0) <= x) lo = mid;
    else hi = mid;
  }
  const [xa, ya] = k[lo] ?? [0, 0];
  const [xb, yb] = k[hi] ?? [0, 0];
  return ya + ((yb - ya) * (x - xa)) / (xb - xa);
}

/** Pairs are [new, old]. */
function fitAffine(pairs: readonly (readonly [number, number])[]): DimensionCalibration {
  const n = pairs.length;
  const xs = pairs.map((p) => p[0]);
  const ys = pairs.map((p) => p[1]);
  const mx = mean(xs);
  const my = mean(ys);
  const sx = std(xs);
  const sy = std(ys);
  // Relative guards: a spread below 1e-12 of the scores' magnitude is rounding, not signal.
  if (!(sx > 1e-12 * Math.max(1, Math.abs(mx)))) return { kind: 'identity', n, residual: rmsResidual(pairs, (x) => x), reason: 'new scores are constant' };
  if (!(sy > 1e-12 * Math.max(1, Math.abs(my)))) return { kind: 'identity', n, residual: rmsResidual(pairs, (x) => x), reason: 'old scores are constant' };
  const cov = mean(pairs.map(([x, y]) => (x - mx) * (y - my)));
  const lsA = cov / (sx * sx);
  const ls = lsA > 0 && Number.isFinite(lsA);
  const a = ls ? lsA : sy / sx;
  const b = my - a * mx;
  return { kind: 'affine', n, residual: rmsResidual(pairs, (x) => a * x + b), a, b, via: ls ? 'least-squares' : 'mean-std' };
}

const finite = z.number(); // zod 4 numbers are finite
const dimensionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('quantile'),
      n: z.number().int().min(0),
      residual: finite.min(0),
      knots: z.array(z.tuple([finite, finite])).min(2),
      slope: finite.min(0),
      lo: finite,
      hi: finite,
    })
    .strict(),
  z
    .object({
      kind: z.literal('affine'),
      n: z.number().int().min(0),
      residual: finite.min(0),
      a: finite.positive(),
      b: finite,
      via: z.enum(['least-squares', 'mean-std']),
    })
    .strict(),
  z.object({ kind: z.literal('identity'), n: z.number().int().min(0), residual: finite.min(0), reason: z.string() }).strict(),
]);
const stateSchema = z
  .object({
    version: z.literal(1),
    method: z.enum(['quantile', 'affine']),
    decayJudgments: finite.positive(),
    dimensions: z
      .object({
        combined: dimensionSchema.optional(),
        TA: dimensionSchema.optional(),
        MQ: dimensionSchema.optional(),
        VQ: dimensionSchema.optional(),
        overall: dimensionSchema.optional(),
      })
      .strict(),
  })
  .strict();
