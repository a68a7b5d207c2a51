/**
 * The reward over-optimisation curve, fitted online (Gao, Schulman & Hilton 2023, "Scaling laws for reward model
 * over-optimization"): against an auditor (a gold-ish judge the policy is not trained on), the gain over the initial
 * policy as a function of d = √KL(policy ‖ reference) follows R(d) = d·(α − β·ln d). Each step feeds (KL, auditor
 * score); R = score − baseline, the baseline being the mean score of the first `baselineSteps` usable steps (or a given
 * one). α and β come from least squares with features d and −d·ln d and no intercept (R(0) = 0 by construction), over
 * every usable step with d > 0, optionally recency-weighted (each older point's weight halves every `halfLifePoints`
 * points; default: all points weigh the same). It keeps sufficient statistics only, so memory and `state()` stay
 * constant in size. With β > 0 the curve peaks at d* = exp(α/β − 1) with gain R(d*) = β·d*; `distanceToPeak` = d* − d
 * (negative: past the predicted peak).
 * Limits: the functional form is Gao et al.'s best-of-n/RL fit, an assumption here; the baseline steps must be at (or
 * very near) the reference policy — gain they already carry shifts the baseline and biases α (give `baseline` when the
 * initial policy's auditor score is known); while the run stays near the
 * reference (small spread in d) β is poorly determined, so a peak is reported only with `minPoints` points whose d
 * spans at least `minRelativeSpread`, and `betaT` (β over its standard error) says how far to trust it. Steps with a
 * non-finite KL or score are skipped; a KL estimate below 0 (sampling noise) counts as 0.
 */
import { VrGrpoError } from '../../errors/index.js';

/** d = √KL; a negative estimate (sampling noise of a KL estimator) counts as 0; NaN for a non-finite KL. */
export function klToDistance(kl: number): number {
  if (!Number.isFinite(kl)) return NaN;
  return Math.sqrt(Math.max(0, kl));
}

export interface OveroptimisationOptions {
  /** Usable steps whose mean auditor score is the baseline (ignored when `baseline` is given). Default 3; ≥ 1. */
  readonly baselineSteps: number;
  /** A known baseline auditor score (the initial policy's); null = from the first `baselineSteps` steps. Default null. */
  readonly baseline: number | null;
  /** Points with d > 0 needed before a fit is reported. Default 5; ≥ 3. */
  readonly minPoints: number;
  /** The fit needs (max d − min d) / max d over its points at least this. Default 0.2; in [0, 1). */
  readonly minRelativeSpread: number;
  /** Recency weighting: points lose half their weight every this many newer points; null = no weighting. Default null. */
  readonly halfLifePoints: number | null;
}

export const DEFAULT_OVEROPTIMISATION_OPTIONS: OveroptimisationOptions = Object.freeze({
  baselineSteps: 3,
  baseline: null,
  minPoints: 5,
  minRelativeSpread: 0.2,
  halfLifePoints: null,
});

/** Weighted sums over the fit's points: x1 = d, x2 = −d·ln d, y = raw auditor score (the baseline is taken off at fit time). */
export interface OveroptimisationSums {
  readonly w: number;
  readonly x1: number;
  readonly x2: number;
  readonly x11: number;
  readonly x12: number;
  readonly x22: number;
  readonly y: number;
  readonly yy: number;
  readonly x1y: number;
  readonly x2y: number;
}

export interface OveroptimisationState {
  /** Scores of the usable steps so far while the baseline is being gathered (empty once it is known). */
  readonly baselineScores: readonly number[];
  readonly baseline: number | null;
  readonly sums: OveroptimisationSums;
  /** Points with d > 0 fed into the sums. */
  readonly points: number;
  readonly minDistance: number | null;
  readonly maxDistance: number | null;
  /** d of the latest usable step. */
  readonly currentDistance: number | null;
}

export interface OveroptimisationFit {
  readonly alpha: number;
  readonly beta: number;
  /** β / its standard error (0 with 2 points or a perfect fit of β = 0); large and positive: the turn is real. */
  readonly betaT: number;
  /** d* = exp(α/β − 1) when β > 0 and d* is finite; else null. */
  readonly peakDistance: number | null;
  /** R(d*) = β·d*, the predicted best gain over the baseline; null without a peak. */
  readonly peakGain: number | null;
  /** d of the latest usable step. */
  readonly currentDistance: number;
  /** The fitted gain at the current d. */
  readonly currentGain: number;
  /** d* − d (negative: past the predicted peak); null without a peak. */
  readonly distanceToPeak: number | null;
  /** 1 − SSE/SST with SST about the weighted mean of R (can be below 0 for a bad fit). */
  readonly r2: number;
  readonly points: number;
  readonly baseline: number;
}

const ZERO_SUMS: OveroptimisationSums = Object.freeze({ w: 0, x1: 0, x2: 0, x11: 0, x12: 0, x22: 0, y: 0, yy: 0, x1y: 0, x2y: 0 });

const invalid = (message: string): VrGrpoError => new VrGrpoError('INVALID_ARGUMENT', `over-optimisation: ${message}`);

export class OveroptimisationCurve {
  private readonly o: OveroptimisationOptions;
  private baselineScores: number[];
  private baseline: number | null;
  private sums: OveroptimisationSums;
  private points: number;
  private minDistance: number | null;
  private maxDistance: number | null;
  private currentDistance: number | null;

  constructor(options: Partial<OveroptimisationOptions> = {}, state?: OveroptimisationState) {
    const o = { ...DEFAULT_OVEROPTIMISATION_OPTIONS, ...options };
    if (!Number.isInteger(o.baselineSteps) || o.baselineSteps < 1) throw invalid(`baselineSteps must be an integer >= 1, got ${o.baselineSteps}`);
    if (o.baseline !== null && !Number.isFinite(o.baseline)) throw invalid(`baseline must be finite or null, got ${o.baseline}`);
    if (!Number.isInteger(o.minPoints) || o.minPoints < 3) throw invalid(`minPoints must be an integer >= 3, got ${o.minPoints}`);
    if (!(o.minRelativeSpread >= 0 && o.minRelativeSpread < 1)) throw invalid(`minRelativeSpread must be in [0, 1), got ${o.minRelativeSpread}`);
    if (o.halfLifePoints !== null && !(o.halfLifePoints > 0 && Number.isFinite(o.halfLifePoints)))
      throw invalid(`halfLifePoints must be a finite number > 0 or null, got ${o.halfLifePoints}`);
    this.o = Object.freeze(o);
    if (state !== undefined) {
      const bad = Object.entries(state.sums).find(([, v]) => !Number.isFinite(v));
      if (bad !== undefined) throw invalid(`state: sums.${bad[0]} is not finite`);
      if (!state.baselineScores.every(Number.isFinite)) throw invalid('state: baselineScores must be finite');
    }
    this.baselineScores = [...(state?.baselineScores ?? [])];
    this.baseline = state?.baseline ?? o.baseline;
    this.sums = { ...(state?.sums ?? ZERO_SUMS) };
    this.points = state?.points ?? 0;
    this.minDistance = state?.minDistance ?? null;
    this.maxDistance = state?.maxDistance ?? null;
    this.currentDistance = state?.currentDistance ?? null;
  }

  /**
   * One step's KL(policy ‖ reference) and mean auditor score; returns the fit (null until it can be trusted, see the
   * module header). A step with a non-finite KL or score is skipped (the previous fit is returned).
   */
  observe(kl: number, auditorScore: number): OveroptimisationFit | null {
    const d = klToDistance(kl);
    if (!Number.isFinite(d) || !Number.isFinite(auditorScore)) return this.fit();
    this.currentDistance = d;
    if (this.baseline === null) {
      this.baselineScores.push(auditorScore);
      if (this.baselineScores.length >= this.o.baselineSteps) {
        this.baseline = this.baselineScores.reduce((s, x) => s + x, 0) / this.baselineScores.length;
        this.baselineScores = [];
      }
    }
    if (d > 0) {
      const decay = this.o.halfLifePoints === null ? 1 : Math.pow(0.5, 1 / this.o.halfLifePoints);
      const x1 = d;
      const x2 = -d * Math.log(d);
      const y = auditorScore;
      const s = this.sums;
      this.sums = {
        w: s.w * decay + 1,
        x1: s.x1 * decay + x1,
        x2: s.x2 * decay + x2,
        x11: s.x11 * decay + x1 * x1,
        x12: s.x12 * decay + x1 * x2,
        x22: s.x22 * decay + x2 * x2,
        y: s.y * decay + y,
        yy: s.yy * decay + y * y,
        x1y: s.x1y * decay + x1 * y,
        x2y: s.x2y * decay + x2 * y,
      };
      this.points += 1;
      this.minDistance = Math.min(this.minDistance ?? d, d);
      this.maxDistance = Math.max(this.maxDistance ?? d, d);
    }
    return this.fit();
  }

  /** The current fit, or null: no baseline yet, fewer than `minPoints` points, too little spread in d, or a singular system. */
  fit(): OveroptimisationFit | null {
    const b = this.baseline;
    const dMin = this.minDistance;
    const dMax = this.maxDistance;
    const dNow = this.currentDistance;
    if (b === null || dMin === null || dMax === null || dNow === null || this.points < this.o.minPoints) return null;
    if ((dMax - dMin) / dMax < this.o.minRelativeSpread) return null;
    const s = this.sums;
    // Normal equations with y = score − b: Σx·y = Σx·score − b·Σx.
    const r1 = s.x1y - b * s.x1;
    const r2 = s.x2y - b * s.x2;
    const det = s.x11 * s.x22 - s.x12 * s.x12;
    if (!(det > 1e-12 * s.x11 * s.x22)) return null;
    const alpha = (s.x22 * r1 - s.x12 * r2) / det;
    const beta = (s.x11 * r2 - s.x12 * r1) / det;
    const yy = s.yy - 2 * b * s.y + b * b * s.w;
    const ySum = s.y - b * s.w;
    const sse = Math.max(0, yy - alpha * r1 - beta * r2);
    const sst = yy - (ySum * ySum) / s.w;
    const r2fit = sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0;
    // se(β)² = σ² · (XᵀX)⁻¹₂₂, σ² = SSE / (n − 2) with n the (effective) weight.
    const dof = s.w - 2;
    const seBeta = dof > 0 ? Math.sqrt(((sse / dof) * s.x11) / det) : 0;
    const betaT = seBeta > 0 ? beta / seBeta : 0;
    const peak = beta > 0 ? Math.exp(alpha / beta - 1) : NaN;
    const peakDistance = Number.isFinite(peak) ? peak : null;
    return {
      alpha,
      beta,
      betaT,
      peakDistance,
      peakGain: peakDistance === null ? null : beta * peakDistance,
      currentDistance: dNow,
      currentGain: gainAt(alpha, beta, dNow),
      distanceToPeak: peakDistance === null ? null : peakDistance - dNow,
      r2: r2fit,
      points: this.points,
      baseline: b,
    };
  }

  state(): OveroptimisationState {
    return {
      baselineScores: [...this.baselineScores],
      baseline: this.baseline,
      sums: { ...this.sums },
      points: this.points,
      minDistance: this.minDistance,
      maxDistance: this.maxDistance,
      currentDistance: this.currentDistance,
    };
  }
}

/** R(d) = d·(α − β·ln d), with R(0) = 0. */
export function gainAt(alpha: number, beta: number, d: number): number {
  return d > 0 ? d * (alpha - beta * Math.log(d)) : 0;
}
