/**
 * The audit tracker: what the oracle-free hacking signals conclude from each audited step. It is fed the step's audit
 * readings — every auditor's mean score of the audited videos and its agreement with the training judge's rewards, the
 * full-view audit's, and the training judge's own level on the same videos (the proxy) — and watches the **judge gap**:
 * the proxy minus the auditors' mean score, on the same videos. Policy quality moves both judges alike and cancels in
 * the gap; what is left is how much more the training judge pays than the held-out judges. A policy that exploits the
 * training judge widens it. Over a sliding window of audited steps the gap's trend is fitted (slope and t-statistic);
 * the detector trips when the gap rises beyond noise and by a minimum amount, once per episode (it re-arms when the
 * t-statistic falls below half the threshold).
 * It also watches the **full-view gap** (`fullViewMinGap` set): the proxy minus the full-view audit's score. Both are
 * the *same* judge on the same videos, once choosing where to look and once shown every frame, so no offset between
 * two models is expected and the gap's *level* is the signal: a policy that puts what the judge pays for where its
 * frame selection does not look makes the thinking verdicts pay more than the full view. The detector trips when the
 * gap's mean over the window is ≥ `fullViewMinGap` and ≥ `tThreshold` standard errors above 0 (re-armed below half
 * the threshold). Only meaningful where the proxy is the training judge's own pointwise level (pointwise rewards).
 * Pure logic, no I/O; the state is plain data for checkpoints.
 */
import { VrGrpoError } from '../../errors/index.js';
import { MAX_T, linearTrend } from '../drift/linear-trend.js';

/** What one judge said of the audited videos of a step. */
export interface AuditReading {
  /** Mean combined score of the audited videos (pointwise, the run's weights); NaN when every judgment failed. */
  readonly score: number;
  /** Mean over audited groups of Kendall τ between this judge's scores and the training rewards (NaN: undefined). */
  readonly agreement: number;
  /** Videos it scored. */
  readonly videos: number;
  /** RM versions that produced its verdicts. */
  readonly rmVersions: readonly string[];
}

export interface AuditObservation {
  readonly step: number;
  /** Groups audited this step. */
  readonly groups: number;
  /** Per auditor name. */
  readonly auditors: Readonly<Record<string, AuditReading>>;
  /** The training judge re-judging with a wide view; null when not enabled. */
  readonly fullView: AuditReading | null;
  /** The training judge's level on the audited videos (see `monitoring.audit.hacking`); null without one. */
  readonly proxy: number | null;
}

export interface AuditTrackerOptions {
  /** Audited steps in the sliding window (steps without a gap are skipped), ≥ 3. */
  readonly window: number;
  /** The gap's slope must be this many standard errors above 0. */
  readonly tThreshold: number;
  /** Minimum rise of the gap's fitted line over the window (reward units). */
  readonly minGapRise: number;
  /** The full-view gap detector: minimum mean gap over the window (reward units); null: off. */
  readonly fullViewMinGap?: number | null;
}

export const AUDIT_DETECTOR_NAMES = ['proxy_auditor_divergence', 'proxy_fullview_gap'] as const;
export type AuditDetectorName = (typeof AUDIT_DETECTOR_NAMES)[number];

export interface AuditTrip {
  readonly detector: AuditDetectorName;
  readonly step: number;
  readonly value: number;
  readonly threshold: number;
}

/** The judge gap's trend over the window. */
export interface GapTrend {
  /** The gap this step (proxy − auditors); null without both. */
  readonly gap: number | null;
  /** t-statistic of the gap's slope; null until the window is full (the divergence gauge). */
  readonly value: number | null;
  /** Slope per step, and the rise of the fitted line over the window. */
  readonly slope: number;
  readonly rise: number;
  /** Above both thresholds now (tripped or not). */
  readonly firing: boolean;
  readonly tripped: boolean;
}

/** The full-view gap's level over the window. */
export interface GapLevel {
  /** The gap this step (proxy − full view); null without both, or when the detector is off. */
  readonly gap: number | null;
  /** t-statistic of the window's mean gap (mean over its standard error); null until the window is full or when off. */
  readonly value: number | null;
  readonly mean: number;
  readonly firing: boolean;
  readonly tripped: boolean;
}

export interface AuditReport {
  readonly step: number;
  /** Mean of the auditors' scores (NaN-free auditors only); null without auditors. */
  readonly auditorScore: number | null;
  /** Mean of the auditors' agreements; null without auditors. */
  readonly auditorAgreement: number | null;
  readonly divergence: GapTrend;
  readonly fullViewGap: GapLevel;
  readonly trips: readonly AuditTrip[];
}

interface WindowState {
  /** [step, gap] of the window, oldest first. */
  readonly points: readonly (readonly [number, number])[];
  readonly armed: boolean;
}

export interface AuditTrackerState extends WindowState {
  /** The full-view gap detector's window (absent in checkpoints from before it). */
  readonly fullView?: WindowState;
}

const meanFinite = (xs: readonly number[]): number | null => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? null : f.reduce((s, x) => s + x, 0) / f.length;
};

/** A bounded window of [step, gap] points and whether its detector may trip (the rising edge of an episode). */
class GapWindow {
  #points: [number, number][];
  #armed: boolean;

  constructor(
    private readonly size: number,
    state?: WindowState,
  ) {
    this.#points = (state?.points ?? []).map(([s, g]) => [s, g]);
    this.#armed = state?.armed ?? true;
  }

  push(step: number, gap: number | null): void {
    if (gap === null) return;
    this.#points.push([step, gap]);
    if (this.#points.length > this.size) this.#points = this.#points.slice(this.#points.length - this.size);
  }

  get full(): boolean {
    return this.#points.length >= this.size;
  }

  get points(): readonly (readonly [number, number])[] {
    return this.#points;
  }

  /** The detector's edge: trips once per episode; re-armed when `value` is unknown or below `rearmBelow`. */
  edge(firing: boolean, value: number | null, rearmBelow: number): boolean {
    const tripped = firing && this.#armed;
    if (tripped) this.#armed = false;
    else if (value === null || value < rearmBelow) this.#armed = true;
    return tripped;
  }

  state(): WindowState {
    return { points: this.#points.map(([s, g]) => [s, g] as const), armed: this.#armed };
  }
}

export class AuditTracker {
  readonly #options: AuditTrackerOptions;
  readonly #gap: GapWindow;
  readonly #fullView: GapWindow;

  constructor(options: AuditTrackerOptions, state?: AuditTrackerState) {
    if (!Number.isInteger(options.window) || options.window < 3)
      throw new VrGrpoError('INVALID_ARGUMENT', `audit tracker: window must be an integer >= 3, got ${options.window}`);
    for (const k of ['tThreshold', 'minGapRise'] as const) {
      const v = options[k];
      if (!(v >= 0) || !Number.isFinite(v)) throw new VrGrpoError('INVALID_ARGUMENT', `audit tracker: ${k} must be a finite number >= 0, got ${v}`);
    }
    const minGap = options.fullViewMinGap;
    if (minGap !== undefined && minGap !== null && (!(minGap >= 0) || !Number.isFinite(minGap)))
      throw new VrGrpoError('INVALID_ARGUMENT', `audit tracker: fullViewMinGap must be a finite number >= 0 or null, got ${minGap}`);
    this.#options = options;
    this.#gap = new GapWindow(options.window, state);
    this.#fullView = new GapWindow(options.window, state?.fullView);
  }

  observe(o: AuditObservation): AuditReport {
    const readings = Object.values(o.auditors);
    const auditorScore = meanFinite(readings.map((r) => r.score));
    const auditorAgreement = meanFinite(readings.map((r) => r.agreement));
    const proxy = o.proxy === null || !Number.isFinite(o.proxy) ? null : o.proxy;
    const gap = proxy === null || auditorScore === null ? null : proxy - auditorScore;
    this.#gap.push(o.step, gap);
    const divergence = this.#trend(gap);
    const fvScore = o.fullView?.score;
    const fvGap = proxy === null || fvScore === undefined || !Number.isFinite(fvScore) ? null : proxy - fvScore;
    const fullViewGap = this.#level(o.step, fvGap);
    const t = this.#options.tThreshold;
    const trips: AuditTrip[] = [];
    if (divergence.tripped && divergence.value !== null)
      trips.push({ detector: 'proxy_auditor_divergence', step: o.step, value: divergence.value, threshold: t });
    if (fullViewGap.tripped && fullViewGap.value !== null) trips.push({ detector: 'proxy_fullview_gap', step: o.step, value: fullViewGap.value, threshold: t });
    return { step: o.step, auditorScore, auditorAgreement, divergence, fullViewGap, trips };
  }

  #trend(gap: number | null): GapTrend {
    const points = this.#gap.points;
    const steps = points.map((p) => p[0]);
    const t = linearTrend(
      steps,
      points.map((p) => p[1]),
    );
    const span = steps.length === 0 ? 0 : (steps[steps.length - 1] ?? 0) - (steps[0] ?? 0);
    const value = this.#gap.full ? t.t : null;
    const rise = t.slope * span;
    const firing = value !== null && value >= this.#options.tThreshold && rise >= this.#options.minGapRise;
    const tripped = this.#gap.edge(firing, value, this.#options.tThreshold / 2);
    return { gap, value, slope: t.slope, rise, firing, tripped };
  }

  #level(step: number, gap: number | null): GapLevel {
    const minGap = this.#options.fullViewMinGap ?? null;
    if (minGap === null) return { gap: null, value: null, mean: Number.NaN, firing: false, tripped: false };
    this.#fullView.push(step, gap);
    const ys = this.#fullView.points.map((p) => p[1]);
    const n = ys.length;
    const mean = n === 0 ? Number.NaN : ys.reduce((s, y) => s + y, 0) / n;
    const sd = n < 2 ? 0 : Math.sqrt(ys.reduce((s, y) => s + (y - mean) ** 2, 0) / (n - 1));
    // A constant gap has no standard error: its t is clamped like a trend's.
    const value = this.#fullView.full ? Math.max(-MAX_T, Math.min(MAX_T, sd === 0 ? Math.sign(mean) * MAX_T : mean / (sd / Math.sqrt(n)))) : null;
    const firing = value !== null && value >= this.#options.tThreshold && mean >= minGap;
    const tripped = this.#fullView.edge(firing, value, this.#options.tThreshold / 2);
    return { gap, value, mean, firing, tripped };
  }

  state(): AuditTrackerState {
    return { ...this.#gap.state(), fullView: this.#fullView.state() };
  }
}
