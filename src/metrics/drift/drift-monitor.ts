/**
 * The drift monitor: one object the coordinator feeds every step (per-video rewards by dimension, gold scores when the
 * world has them) and after every anchor pass, returning the current gauge values and the detectors that tripped.
 * Detectors that watch the reward model run on the anchors — fixed videos, so any movement of their scores is the
 * reward model changing, never the policy learning:
 *   - anchor PSI per dimension: this pass's per-video scores vs the first pass's (trips once, re-arms below half the
 *     threshold);
 *   - anchor Page-Hinkley per dimension on the pass means, in standard errors of the first pass's mean;
 *   - anchor mean shift and Kendall τ per dimension against the first pass (and, reported only, the previous pass).
 * On the policy's rewards (they are meant to move while it learns):
 *   - PSI per dimension: recent window of per-video rewards vs the reference window, and Page-Hinkley on the step mean
 *     standardised by the first `referenceSteps` step means — gauges only, unless `policyRewards` is 'trip';
 *   - proxy-vs-gold divergence (reward hacking) on the proxy dimension's step mean vs the gold score.
 * Pure logic, no I/O: the caller writes trips as events and gauges as metrics, and saves `state()` in checkpoints.
 */
import { VrGrpoError } from '../../errors/index.js';
import { GOLD_OVERALL_WEIGHTS } from '../../world/gold.js';
import type { AnchorPass } from './anchor-pass.js';
import { kendallTau } from './kendall-tau.js';
import { PageHinkley, type ChangeDirection, type PageHinkleyOptions, type PageHinkleyState } from './page-hinkley.js';
import { ProxyGoldDivergence, type ProxyGoldDivergenceOptions, type ProxyGoldDivergenceState, type ProxyGoldResult } from './proxy-gold-divergence.js';
import { psi } from './psi.js';
import { RewardWindow, type ReferenceKind, type RewardWindowState } from './reward-window.js';

/** Detector names, as in the `detector` label of `vrgrpo_drift_trips_total` and the `drift` events. */
export const DRIFT_DETECTOR_NAMES = [
  'psi',
  'page_hinkley',
  'anchor_psi',
  'anchor_page_hinkley',
  'anchor_kendall_tau',
  'anchor_mean_shift',
  'proxy_gold_divergence',
] as const;
export type DriftDetectorName = (typeof DRIFT_DETECTOR_NAMES)[number];

/** Which gold score the hacking detector compares the proxy with. overall = 0.6·accuracy + 0.4·quality (the gold overall score). */
export type GoldSignal = 'overall' | 'accuracy' | 'quality';

/** The monitor's settings: the config's `monitoring.drift` section fits (extra fields are ignored). */
/** What the PSI and Page-Hinkley of the policy's rewards do: report gauges only, or also trip (the behaviour before issue 21). */
export type PolicyRewardsMode = 'gauge' | 'trip';

/** What a PSI or Page-Hinkley trip measured: the anchor set (the reward model) or the policy's rewards. */
export type DriftSource = 'anchors' | 'policy';

export interface DriftMonitorOptions {
  /** Policy-reward PSI / Page-Hinkley: 'gauge' (default when absent) reports them; 'trip' also trips on them. */
  readonly policyRewards?: PolicyRewardsMode;
  /** Steps in the reference window (and of step means standardising Page-Hinkley). */
  readonly referenceSteps: number;
  /** Steps in the recent window. */
  readonly recentSteps: number;
  /** The reference window: the steps just before the recent window, or the first steps of the run. */
  readonly reference: ReferenceKind;
  readonly psiBins: number;
  /** PSI at or above this trips (per dimension). */
  readonly psiThreshold: number;
  /** On the step mean in units of the reference step means' standard deviation. */
  readonly pageHinkley: PageHinkleyOptions;
  readonly hacking: ProxyGoldDivergenceOptions & {
    /** The reward dimension whose step mean is the proxy (default `combined`). */
    readonly proxy: string;
    readonly gold: GoldSignal;
  };
  readonly anchors: {
    /** Kendall τ of a dimension vs the first pass below this trips. */
    readonly tauThreshold: number;
    /** |anchor mean − first pass mean| above this trips (per dimension). */
    readonly meanShiftThreshold: number;
    /** Quantile bins (of the first pass's per-video scores) of the anchor PSI. */
    readonly psiBins: number;
    /** Anchor PSI (a pass vs the first pass) at or above this trips (per dimension). */
    readonly psiThreshold: number;
    /** On the pass means, in standard errors of the first pass's mean (its per-video std / √videos), from the first pass. */
    readonly pageHinkley: Omit<PageHinkleyOptions, 'baseline'>;
  };
}

export interface StepObservation {
  readonly step: number;
  /** Per dimension, the per-video rewards of the step (NaN = masked). */
  readonly rewardsByDimension: Readonly<Record<string, readonly number[]>>;
  /** Mean gold attribute accuracy of the step's videos (embedded world), else null. */
  readonly goldAccuracy: number | null;
  /** Mean gold quality (1 − mean defect severity) of the step's videos, else null. */
  readonly goldQuality?: number | null;
}

export interface DriftTrip {
  readonly detector: DriftDetectorName;
  /** The reward dimension, or null for detectors over one series (proxy-gold divergence). */
  readonly dimension: string | null;
  readonly value: number;
  readonly threshold: number;
  readonly step: number;
  /** Page-Hinkley: which way the mean moved; other detectors: null. */
  readonly direction: ChangeDirection | null;
  /** PSI and Page-Hinkley: the anchor set (the reward model changed) or the policy's rewards; other detectors: null. */
  readonly source: DriftSource | null;
}

export interface DriftStepReport {
  readonly step: number;
  /** PSI of the policy's rewards per dimension (absent until both windows are full). */
  readonly psi: Readonly<Record<string, number>>;
  /** Page-Hinkley statistic of the policy's step mean per dimension (absent while the standardisation is being measured). */
  readonly pageHinkley: Readonly<Record<string, number>>;
  /** min(t proxy, −t gold): the hacking gauge; null until its window is full or without gold scores. */
  readonly proxyGoldDivergence: number | null;
  /** The hacking detector's details (slopes, t-statistics, rise and drop over the window). */
  readonly hacking: ProxyGoldResult;
  /** The gold value used this step (null without gold scores). */
  readonly gold: number | null;
  readonly trips: readonly DriftTrip[];
}

export interface AnchorComparison {
  /** Per dimension: this pass's mean minus the other pass's mean. */
  readonly meanShift: Readonly<Record<string, number>>;
  /** Per dimension: Kendall τ-b of the per-video scores (NaN when undefined, e.g. all tied). */
  readonly kendallTau: Readonly<Record<string, number>>;
}

export interface AnchorDriftReport extends AnchorComparison {
  readonly step: number;
  readonly rmVersions: readonly string[];
  /** Per dimension, this pass's mean. */
  readonly means: Readonly<Record<string, number>>;
  /** True for the first pass (shift 0, τ 1 by definition). */
  readonly firstPass: boolean;
  /** Against the previous pass (null for the first): what the last change — e.g. an RM swap — did. */
  readonly sincePrevious: (AnchorComparison & { readonly step: number; readonly rmVersions: readonly string[] }) | null;
  /** The RM versions differ from the previous pass's. */
  readonly rmVersionChanged: boolean;
  /** Per dimension: PSI of this pass's per-video scores against the first pass's (0 for the first pass). */
  readonly psi: Readonly<Record<string, number>>;
  /** Per dimension: the Page-Hinkley statistic on the pass means (in standard errors of the first pass's mean). */
  readonly pageHinkley: Readonly<Record<string, number>>;
  readonly trips: readonly DriftTrip[];
}

export interface DriftMonitorState {
  readonly windows: Readonly<Record<string, RewardWindowState>>;
  /** Per dimension: step means collected to standardise Page-Hinkley, then the scale. */
  readonly phWarmup: Readonly<Record<string, readonly number[]>>;
  readonly phScale: Readonly<Record<string, { readonly mean: number; readonly std: number }>>;
  readonly ph: Readonly<Record<string, PageHinkleyState>>;
  readonly divergence: ProxyGoldDivergenceState;
  /** Keys `detector:dimension` that already tripped and wait for the condition to clear (rising-edge trips). */
  readonly disarmed: readonly string[];
  readonly firstAnchors: AnchorPass | null;
  readonly lastAnchors: AnchorPass | null;
  /**
   * Per dimension: Page-Hinkley on the anchor pass means. Absent in states saved before issue 21: restored as if only
   * the first pass had been fed (the passes in between are not in the state).
   */
  readonly anchorPh?: Readonly<Record<string, PageHinkleyState>>;
}

/** A standard deviation below this (reward units) is treated as this, so a constant reward does not divide by 0. */
const MIN_SCALE = 1e-3;

const meanOf = (xs: readonly number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? NaN : f.reduce((s, x) => s + x, 0) / f.length;
};

export class DriftMonitor {
  private readonly windows = new Map<string, RewardWindow>();
  private readonly phWarmup = new Map<string, number[]>();
  private readonly phScale = new Map<string, { mean: number; std: number }>();
  private readonly ph = new Map<string, PageHinkley>();
  private readonly divergence: ProxyGoldDivergence;
  private readonly disarmed: Set<string>;
  private firstAnchors: AnchorPass | null;
  private lastAnchors: AnchorPass | null;
  private readonly anchorPh = new Map<string, PageHinkley>();

  constructor(
    private readonly options: DriftMonitorOptions,
    state?: DriftMonitorState,
  ) {
    for (const [field, bins] of [
      ['psiBins', options.psiBins],
      ['anchors.psiBins', options.anchors.psiBins],
    ] as const) {
      if (!Number.isInteger(bins) || bins < 2) throw new VrGrpoError('INVALID_ARGUMENT', `drift monitor: ${field} must be an integer >= 2, got ${bins}`);
    }
    this.divergence = new ProxyGoldDivergence(options.hacking, state?.divergence);
    // Validates the Page-Hinkley and window options up front (not at the first step).
    new PageHinkley(options.pageHinkley);
    new PageHinkley(this.anchorPhOptions());
    new RewardWindow(this.windowOptions());
    for (const [d, w] of Object.entries(state?.windows ?? {})) this.windows.set(d, new RewardWindow(this.windowOptions(), w));
    for (const [d, w] of Object.entries(state?.phWarmup ?? {})) this.phWarmup.set(d, [...w]);
    for (const [d, s] of Object.entries(state?.phScale ?? {})) this.phScale.set(d, { ...s });
    for (const [d, s] of Object.entries(state?.ph ?? {})) this.ph.set(d, new PageHinkley(options.pageHinkley, s));
    this.disarmed = new Set(state?.disarmed ?? []);
    this.firstAnchors = state?.firstAnchors ?? null;
    this.lastAnchors = state?.lastAnchors ?? null;
    if (state?.anchorPh !== undefined) {
      for (const [d, s] of Object.entries(state.anchorPh)) this.anchorPh.set(d, new PageHinkley(this.anchorPhOptions(), s));
    } else if (this.firstAnchors !== null) {
      // A state from before anchor Page-Hinkley existed: start it as the first pass would have (z = 0 per dimension).
      for (const dim of Object.keys(this.firstAnchors.scores)) this.anchorPage(dim).update(0);
    }
  }

  /** Anchor Page-Hinkley measures from the first pass (z = 0 by definition), not from a running mean. */
  private anchorPhOptions(): PageHinkleyOptions {
    return { ...this.options.anchors.pageHinkley, baseline: 'first' };
  }

  private anchorPage(dim: string): PageHinkley {
    let p = this.anchorPh.get(dim);
    if (p === undefined) {
      p = new PageHinkley(this.anchorPhOptions());
      this.anchorPh.set(dim, p);
    }
    return p;
  }

  private get policyTrips(): boolean {
    return this.options.policyRewards === 'trip';
  }

  private windowOptions(): { referenceSteps: number; recentSteps: number; reference: ReferenceKind } {
    return { referenceSteps: this.options.referenceSteps, recentSteps: this.options.recentSteps, reference: this.options.reference };
  }

  /**
   * Rising edge of a condition: true the first time it holds, then not again until `cleared` (a stricter "back to
   * normal", e.g. below half the threshold, so noise around a threshold does not trip again and again).
   */
  private edge(key: string, holds: boolean, cleared: boolean): boolean {
    if (cleared) this.disarmed.delete(key);
    if (!holds || this.disarmed.has(key)) return false;
    this.disarmed.add(key);
    return true;
  }

  private gold(o: StepObservation): number | null {
    const acc = o.goldAccuracy;
    const q = o.goldQuality ?? null;
    switch (this.options.hacking.gold) {
      case 'accuracy':
        return acc;
      case 'quality':
        return q;
      case 'overall':
        return acc === null || q === null ? null : GOLD_OVERALL_WEIGHTS.TA * acc + (GOLD_OVERALL_WEIGHTS.MQ + GOLD_OVERALL_WEIGHTS.VQ) * q;
    }
  }

  observeStep(o: StepObservation): DriftStepReport {
    const trips: DriftTrip[] = [];
    const psiValues: Record<string, number> = {};
    const phValues: Record<string, number> = {};
    for (const [dim, values] of Object.entries(o.rewardsByDimension)) {
      let w = this.windows.get(dim);
      if (w === undefined) {
        w = new RewardWindow(this.windowOptions());
        this.windows.set(dim, w);
      }
      w.push(values);
      const ref = w.reference();
      const rec = w.recent();
      if (w.ready && ref.length > 0 && rec.length > 0) {
        const v = psi(ref, rec, this.options.psiBins);
        psiValues[dim] = v;
        if (this.policyTrips && this.edge(`psi:${dim}`, v >= this.options.psiThreshold, v < this.options.psiThreshold / 2))
          trips.push({ detector: 'psi', dimension: dim, value: v, threshold: this.options.psiThreshold, step: o.step, direction: null, source: 'policy' });
      }
      const m = meanOf(values);
      if (!Number.isFinite(m)) continue;
      const scale = this.phScale.get(dim);
      if (scale === undefined) {
        const warm = this.phWarmup.get(dim) ?? [];
        warm.push(m);
        this.phWarmup.set(dim, warm);
        if (warm.length >= this.options.referenceSteps) {
          const mu = meanOf(warm);
          const sd = Math.sqrt(warm.reduce((s, x) => s + (x - mu) ** 2, 0) / Math.max(1, warm.length - 1));
          this.phScale.set(dim, { mean: mu, std: Math.max(MIN_SCALE, sd) });
          this.phWarmup.delete(dim);
          this.ph.set(dim, new PageHinkley(this.options.pageHinkley));
        }
        continue;
      }
      let detector = this.ph.get(dim);
      if (detector === undefined) {
        detector = new PageHinkley(this.options.pageHinkley);
        this.ph.set(dim, detector);
      }
      const r = detector.update((m - scale.mean) / scale.std);
      phValues[dim] = r.statistic;
      // Gauge mode: the detector still restarts above λ (the gauge means the same in both modes), it just does not trip.
      if (r.tripped !== null && this.policyTrips)
        trips.push({
          detector: 'page_hinkley',
          dimension: dim,
          value: r.statistic,
          threshold: this.options.pageHinkley.lambda,
          step: o.step,
          direction: r.tripped,
          source: 'policy',
        });
    }
    const proxyValues = o.rewardsByDimension[this.options.hacking.proxy];
    const proxy = proxyValues === undefined ? null : meanOf(proxyValues);
    const gold = this.gold(o);
    const hacking = this.divergence.observe(o.step, proxy, gold);
    if (hacking.tripped && hacking.value !== null)
      trips.push({
        detector: 'proxy_gold_divergence',
        dimension: null,
        value: hacking.value,
        threshold: this.options.hacking.tThreshold,
        step: o.step,
        direction: null,
        source: null,
      });
    return { step: o.step, psi: psiValues, pageHinkley: phValues, proxyGoldDivergence: hacking.value, hacking, gold, trips };
  }

  observeAnchors(pass: AnchorPass): AnchorDriftReport {
    const first = this.firstAnchors;
    const previous = this.lastAnchors;
    if (first !== null && (first.videoIds.length !== pass.videoIds.length || first.videoIds.some((id, i) => pass.videoIds[i] !== id))) {
      throw new VrGrpoError('INVALID_ARGUMENT', `anchor pass at step ${pass.step} judged different videos than the first pass`);
    }
    if (first === null) this.firstAnchors = pass;
    this.lastAnchors = pass;
    const trips: DriftTrip[] = [];
    const reference = first ?? pass;
    const vsFirst = compareAnchors(pass, reference);
    const a = this.options.anchors;
    const psiValues: Record<string, number> = {};
    const phValues: Record<string, number> = {};
    for (const [dim, scores] of Object.entries(pass.scores)) {
      const before = reference.scores[dim];
      if (before === undefined) continue;
      // PSI: the per-video scores of this pass against the first pass's (the same videos, so 0 while the RM is unchanged).
      if (before.some(Number.isFinite) && scores.some(Number.isFinite)) {
        const v = psi(before, scores, a.psiBins);
        psiValues[dim] = v;
        if (first !== null && this.edge(`psi:anchors:${dim}`, v >= a.psiThreshold, v < a.psiThreshold / 2))
          trips.push({ detector: 'anchor_psi', dimension: dim, value: v, threshold: a.psiThreshold, step: pass.step, direction: null, source: 'anchors' });
      }
      // Page-Hinkley on the pass mean in standard errors of the first pass's mean (see anchorStandardError).
      const z = ((pass.means[dim] ?? NaN) - (reference.means[dim] ?? NaN)) / anchorStandardError(before);
      if (!Number.isFinite(z)) continue;
      const r = this.anchorPage(dim).update(z);
      phValues[dim] = r.statistic;
      if (r.tripped !== null)
        trips.push({
          detector: 'anchor_page_hinkley',
          dimension: dim,
          value: r.statistic,
          threshold: a.pageHinkley.lambda,
          step: pass.step,
          direction: r.tripped,
          source: 'anchors',
        });
    }
    if (first !== null) {
      for (const [dim, tau] of Object.entries(vsFirst.kendallTau)) {
        if (this.edge(`anchor_kendall_tau:${dim}`, Number.isFinite(tau) && tau < a.tauThreshold, Number.isFinite(tau) && tau >= a.tauThreshold))
          trips.push({ detector: 'anchor_kendall_tau', dimension: dim, value: tau, threshold: a.tauThreshold, step: pass.step, direction: null, source: null });
      }
      for (const [dim, shift] of Object.entries(vsFirst.meanShift)) {
        if (this.edge(`anchor_mean_shift:${dim}`, Math.abs(shift) > a.meanShiftThreshold, Math.abs(shift) <= a.meanShiftThreshold))
          trips.push({
            detector: 'anchor_mean_shift',
            dimension: dim,
            value: shift,
            threshold: a.meanShiftThreshold,
            step: pass.step,
            direction: null,
            source: null,
          });
      }
    }
    const sameVersions = (x: readonly string[], y: readonly string[]): boolean =>
      x.length === y.length && [...x].sort().every((v, i) => v === [...y].sort()[i]);
    return {
      step: pass.step,
      rmVersions: pass.rmVersions,
      means: pass.means,
      firstPass: first === null,
      ...vsFirst,
      sincePrevious: previous === null ? null : { step: previous.step, rmVersions: previous.rmVersions, ...compareAnchors(pass, previous) },
      rmVersionChanged: previous !== null && !sameVersions(previous.rmVersions, pass.rmVersions),
      psi: psiValues,
      pageHinkley: phValues,
      trips,
    };
  }

  state(): DriftMonitorState {
    return {
      windows: Object.fromEntries([...this.windows].map(([d, w]) => [d, w.state()])),
      phWarmup: Object.fromEntries([...this.phWarmup].map(([d, w]) => [d, [...w]])),
      phScale: Object.fromEntries([...this.phScale].map(([d, s]) => [d, { ...s }])),
      ph: Object.fromEntries([...this.ph].map(([d, p]) => [d, p.state()])),
      divergence: this.divergence.state(),
      disarmed: [...this.disarmed].sort(),
      firstAnchors: this.firstAnchors,
      lastAnchors: this.lastAnchors,
      anchorPh: Object.fromEntries([...this.anchorPh].map(([d, p]) => [d, p.state()])),
    };
  }
}

/**
 * The unit of anchor Page-Hinkley: the standard error of the first pass's mean, its per-video standard deviation / √n
 * (at least MIN_SCALE). It is the mean's sampling error *across videos*; re-judging the same videos with an unchanged
 * deterministic RM moves the mean by exactly 0, and a non-deterministic one by its judging noise / √n, normally well
 * below this unit — so z ≈ 0 while the RM is the same, and a sustained shift of a few units is a changed RM.
 */
export function anchorStandardError(firstPassScores: readonly number[]): number {
  const f = firstPassScores.filter(Number.isFinite);
  if (f.length < 2) return MIN_SCALE;
  const mu = f.reduce((s, x) => s + x, 0) / f.length;
  const sd = Math.sqrt(f.reduce((s, x) => s + (x - mu) ** 2, 0) / (f.length - 1));
  return Math.max(MIN_SCALE, sd / Math.sqrt(f.length));
}

/** Mean shift and Kendall τ per dimension of `pass` against `other` (same videos, same order). */
export function compareAnchors(pass: AnchorPass, other: AnchorPass): AnchorComparison {
  const meanShift: Record<string, number> = {};
  const tau: Record<string, number> = {};
  for (const [dim, scores] of Object.entries(pass.scores)) {
    const before = other.scores[dim];
    if (before === undefined) continue;
    meanShift[dim] = (pass.means[dim] ?? NaN) - (other.means[dim] ?? NaN);
    tau[dim] = kendallTau(before, scores);
  }
  return { meanShift, kendallTau: tau };
}
