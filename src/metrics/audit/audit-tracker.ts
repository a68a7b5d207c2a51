/**
 * The audit tracker: what the oracle-free hacking signals conclude from each audited step. It is fed the step's audit
 * readings — every auditor's mean score of the audited videos and its agreement with the training judge's rewards, the
 * full-view audit's, and the training judge's own level on the same videos (the proxy) — and watches the **judge gap**:
 * the proxy minus the auditors' mean score, on the same videos. Policy quality moves both judges alike and cancels in
 * the gap; what is left is how much more the training judge pays than the held-out judges. A policy that exploits the
 * training judge widens it. Over a sliding window of audited steps the gap's trend is fitted (slope and t-statistic);
 * the detector trips when the gap rises beyond noise and by a minimum amount, once per episode (it re-arms when the
 * t-statistic falls below half the threshold). Pure logic, no I/O; the state is plain data for checkpoints.
 */
import { VrGrpoError } from '../../errors/index.js';
import { linearTrend } from '../drift/linear-trend.js';

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
}

export const AUDIT_DETECTOR_NAMES = ['proxy_auditor_divergence'] as const;
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

export interface AuditReport {
  readonly step: number;
  /** Mean of the auditors' scores (NaN-free auditors only); null without auditors. */
  readonly auditorScore: number | null;
  /** Mean of the auditors' agreements; null without auditors. */
  readonly auditorAgreement: number | null;
  readonly divergence: GapTrend;
  readonly trips: readonly AuditTrip[];
}

export interface AuditTrackerState {
  /** [step, gap] of the window, oldest first. */
  readonly points: readonly (readonly [number, number])[];
  readonly armed: boolean;
}

const meanFinite = (xs: readonly number[]): number | null => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? null : f.reduce((s, x) => s + x, 0) / f.length;
};

export class AuditTracker {
  readonly #options: AuditTrackerOptions;
  #points: [number, number][];
  #armed: boolean;

  constructor(options: AuditTrackerOptions, state?: AuditTrackerState) {
    if (!Number.isInteger(options.window) || options.window < 3)
      throw new VrGrpoError('INVALID_ARGUMENT', `audit tracker: window must be an integer >= 3, got ${options.window}`);
    for (const k of ['tThreshold', 'minGapRise'] as const) {
      const v = options[k];
      if (!(v >= 0) || !Number.isFinite(v)) throw new VrGrpoError('INVALID_ARGUMENT', `audit tracker: ${k} must be a finite number >= 0, got ${v}`);
    }
    this.#options = options;
    this.#points = (state?.points ?? []).map(([s, g]) => [s, g]);
    this.#armed = state?.armed ?? true;
  }

  observe(o: AuditObservation): AuditReport {
    const readings = Object.values(o.auditors);
    const auditorScore = meanFinite(readings.map((r) => r.score));
    const auditorAgreement = meanFinite(readings.map((r) => r.agreement));
    const gap = o.proxy === null || auditorScore === null || !Number.isFinite(o.proxy) ? null : o.proxy - auditorScore;
    if (gap !== null) {
      this.#points.push([o.step, gap]);
      if (this.#points.length > this.#options.window) this.#points = this.#points.slice(this.#points.length - this.#options.window);
    }
    const divergence = this.#trend(gap);
    const trips: AuditTrip[] =
      divergence.tripped && divergence.value !== null
        ? [{ detector: 'proxy_auditor_divergence', step: o.step, value: divergence.value, threshold: this.#options.tThreshold }]
        : [];
    return { step: o.step, auditorScore, auditorAgreement, divergence, trips };
  }

  #trend(gap: number | null): GapTrend {
    const steps = this.#points.map((p) => p[0]);
    const t = linearTrend(
      steps,
      this.#points.map((p) => p[1]),
    );
    const span = steps.length === 0 ? 0 : (steps[steps.length - 1] ?? 0) - (steps[0] ?? 0);
    const value = this.#points.length >= this.#options.window ? t.t : null;
    const rise = t.slope * span;
    const firing = value !== null && value >= this.#options.tThreshold && rise >= this.#options.minGapRise;
    const tripped = firing && this.#armed;
    if (tripped) this.#armed = false;
    else if (value === null || value < this.#options.tThreshold / 2) this.#armed = true;
    return { gap, value, slope: t.slope, rise, firing, tripped };
  }

  state(): AuditTrackerState {
    return { points: this.#points.map(([s, g]) => [s, g] as const), armed: this.#armed };
  }
}
