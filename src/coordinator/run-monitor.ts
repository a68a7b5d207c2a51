/**
 * The run monitor: the coordinator's `StepMonitor` for live monitoring. Each step it feeds the per-video rewards to
 * the drift detectors (policy-reward PSI and Page-Hinkley — gauges unless `policyRewards: trip` —, proxy-vs-gold
 * divergence) and the Prometheus metrics, re-judges the anchor set every N steps and as soon as the step's verdicts
 * come from another RM version (anchor PSI, Page-Hinkley, mean shift, Kendall τ: these trip on a changed reward
 * model), writes a `drift` event per trip and an `rm_version_change` event per version change, and returns the gauges
 * for the step's metrics line (the dashboard plots them from there). Its state rides in the coordinator's checkpoints.
 */
import { z } from 'zod';
import type { Logger } from '../common/logger.js';
import type { Config } from '../config/index.js';
import type { TrainableGenerator } from '../generator/index.js';
import { REWARD_DIMENSIONS, type CoordinatorMetrics, type RewardDimension } from '../metrics/index.js';
import { DriftMonitor, parseDriftMonitorState, type AnchorDriftReport, type DriftStepReport, type DriftTrip } from '../metrics/drift/index.js';
import { ensureAnchorSet, judgeAnchors, type AnchorSet } from './anchor-set.js';
import type { MonitorStart, ObservedStep, StepMonitor } from './coordinator.js';
import type { AnchorRejudge } from './reward-calibrator.js';
import type { JudgeClient, RewardSettings } from './reward-collector.js';

export interface RunMonitorOptions {
  readonly config: Config;
  readonly runDir: string;
  /** Builds the anchor set at run start (the rollout is discarded). */
  readonly generator: TrainableGenerator;
  /** Re-judges the anchors (the run's reward pool). */
  readonly judge: JudgeClient;
  readonly settings: RewardSettings;
  /** The coordinator's Prometheus metrics; null = none. */
  readonly metrics: CoordinatorMetrics | null;
  /** RM versions the reward servers serve now (the pool's `versions()`), for the per-server info gauge. */
  readonly rmVersions?: () => ReadonlyMap<string, string | null>;
  readonly log: Logger;
  /** Sees every step's full drift report (benchmarks record the detectors' trajectories). */
  readonly onReport?: (report: DriftStepReport) => void;
}

/** What the monitor keeps in a checkpoint. */
const stateSchema = z.object({
  drift: z.unknown().nullable(),
  /** RM versions of the previous step's verdicts (a change re-judges the anchors). */
  lastVersions: z.array(z.string()),
});
type RunMonitorState = z.infer<typeof stateSchema>;

const isDimension = (d: string): d is RewardDimension => (REWARD_DIMENSIONS as readonly string[]).includes(d);
const round = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : x);
/** Rounded, without the undefined values (NaN: e.g. Kendall τ of a dimension whose anchor scores are all tied). */
const rounded = (r: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(r).flatMap(([k, v]) => (Number.isFinite(v) ? [[k, round(v)]] : [])));

export class RunMonitor implements StepMonitor {
  readonly #o: RunMonitorOptions;
  #drift: DriftMonitor | null = null;
  #anchors: AnchorSet | null = null;
  #lastVersions: string[] = [];
  /** An anchor pass already made this step for a calibrated swap (`rewardModelChanged`), reported by `observeStep`. */
  #early: { readonly step: number; readonly summary: Record<string, unknown> | null } | null = null;
  #skewed = false;
  readonly #connected = new Map<string, boolean>();
  #event: MonitorStart['event'] = () => undefined;

  constructor(options: RunMonitorOptions) {
    this.#o = options;
  }

  async start(context: MonitorStart): Promise<void> {
    this.#event = context.event;
    const d = this.#o.config.monitoring.drift;
    const restored = context.restored === null ? null : stateSchema.parse(context.restored);
    this.#lastVersions = restored?.lastVersions ?? [];
    if (!d.enabled) return;
    // A state saved before issue 21 loads (anchor Page-Hinkley restarts from the first pass); a damaged one is refused
    // with CHECKPOINT_INVALID naming the field.
    this.#drift = new DriftMonitor(d, parseDriftMonitorState(restored?.drift));
    this.#anchors = await ensureAnchorSet(this.#o.runDir, this.#o.generator, this.#o.config);
    // The first pass (step 0, before any update) is the reference every later pass is compared with.
    if (restored === null) await this.#judgeAnchors(context.firstStep - 1, 'start');
  }

  async observeStep(s: ObservedStep): Promise<Record<string, unknown>> {
    const m = this.#o.metrics;
    m?.recordRewards(Object.fromEntries(Object.entries(s.rewardsByDimension).filter(([d]) => isDimension(d))));
    if (this.#o.rmVersions !== undefined) {
      const served = this.#o.rmVersions();
      m?.setRmVersions(served);
      this.#connectivity(s.step, served);
      this.#skew(s.step, served);
    }
    const versions = s.rmVersions.length === 0 ? this.#lastVersions : [...s.rmVersions].sort();
    // A change is a version not seen in the previous step (a swap landing mid-step shows both versions for one step;
    // the step after, with the old one gone, is not another change). Reported with or without the drift detectors.
    const changed = this.#lastVersions.length > 0 && versions.some((v) => !this.#lastVersions.includes(v));
    if (changed) this.#event('rm_version_change', { step: s.step, from: this.#lastVersions, to: versions });
    this.#lastVersions = versions;
    const drift = this.#drift;
    if (drift === null) return {};
    const goldAccuracy = typeof s.metrics.goldAccuracy === 'number' ? s.metrics.goldAccuracy : null;
    const goldQuality = typeof s.metrics.goldQuality === 'number' ? s.metrics.goldQuality : null;
    const report = drift.observeStep({ step: s.step, rewardsByDimension: s.rewardsByDimension, goldAccuracy, goldQuality });
    // The policy-reward PSI and Page-Hinkley keep the gauge names `psi` and `page_hinkley` (charts, docs); the anchor
    // ones are in the `anchors` event and the step line (`anchor_psi`, `anchor_page_hinkley`).
    for (const [dim, v] of Object.entries(report.psi)) if (isDimension(dim)) m?.setDriftGauge('psi', v, { dimension: dim });
    for (const [dim, v] of Object.entries(report.pageHinkley)) if (isDimension(dim)) m?.setDriftGauge('page_hinkley', v, { dimension: dim });
    if (report.proxyGoldDivergence !== null) m?.setDriftGauge('proxy_gold_divergence', report.proxyGoldDivergence);
    this.#o.onReport?.(report);
    this.#trips(report.trips);
    const out: Record<string, unknown> = {
      drift: {
        psi: rounded(report.psi),
        page_hinkley: rounded(report.pageHinkley),
        ...(report.proxyGoldDivergence === null ? {} : { proxy_gold_divergence: round(report.proxyGoldDivergence) }),
      },
    };
    const every = this.#o.config.monitoring.drift.anchors.every;
    const early = this.#early?.step === s.step ? this.#early : null;
    this.#early = null;
    if (early !== null || changed || (every > 0 && s.step % every === 0)) {
      const a = early !== null ? early.summary : await this.#judgeAnchors(s.step, changed ? 'rm_version_change' : 'scheduled');
      if (a !== null) {
        out.anchors = a;
        Object.assign(out.drift as Record<string, unknown>, {
          anchor_mean_shift: a.meanShift,
          anchor_kendall_tau: a.kendallTau,
          anchor_psi: a.psi,
          anchor_page_hinkley: a.pageHinkley,
        });
      }
    }
    return out;
  }

  /** `reward_server_down` / `reward_server_up` events when a reward server's connection is lost or back (seen per step). */
  #connectivity(step: number, served: ReadonlyMap<string, string | null>): void {
    for (const [url, version] of served) {
      const up = version !== null;
      const before = this.#connected.get(url);
      this.#connected.set(url, up);
      if (before === undefined || before === up) continue;
      this.#event(up ? 'reward_server_up' : 'reward_server_down', { step, server: url, ...(up ? { rmVersion: version } : {}) });
      if (!up) this.#o.log.warn({ step, server: url }, 'reward server connection lost; the pool reconnects with backoff');
    }
  }

  /** An `rm_version_skew` event when the replicas start (or stop) serving different RM versions. */
  #skew(step: number, served: ReadonlyMap<string, string | null>): void {
    const known = [...served].filter((e): e is [string, string] => e[1] !== null);
    const distinct = [...new Set(known.map(([, v]) => v))].sort();
    const skewed = distinct.length > 1;
    if (skewed === this.#skewed) return;
    this.#skewed = skewed;
    this.#event('rm_version_skew', { step, skewed, versions: distinct, servers: Object.fromEntries(known), policy: this.#o.config.reward.versionSkew });
    if (skewed) this.#o.log.warn({ step, versions: distinct }, 'reward servers serve different RM versions');
  }

  /**
   * A calibrated swap asks before the step's advantages: the anchors are re-judged at once with the new version (the
   * pass `observeStep` would make on the change), and the old version's last pass and this one are answered.
   */
  async rewardModelChanged(step: number): Promise<AnchorRejudge | null> {
    const drift = this.#drift;
    if (drift === null || this.#anchors === null) return null;
    const before = drift.state().lastAnchors;
    const summary = await this.#judgeAnchors(step, 'rm_version_change');
    this.#early = { step, summary };
    const after = drift.state().lastAnchors;
    return before === null || after === null || after === before ? null : { before, after };
  }

  checkpointState(): RunMonitorState {
    return { drift: this.#drift?.state() ?? null, lastVersions: this.#lastVersions };
  }

  #trips(trips: readonly DriftTrip[]): void {
    for (const t of trips) {
      this.#o.metrics?.driftTripped(t.detector);
      this.#event('drift', {
        step: t.step,
        detector: t.detector,
        ...(t.dimension === null ? {} : { dimension: t.dimension }),
        value: round(t.value),
        threshold: t.threshold,
        ...(t.direction === null ? {} : { direction: t.direction }),
        ...(t.source === null ? {} : { source: t.source }),
      });
      // Policy-reward trips (`policyRewards: trip`) happen as the policy learns (rewards are meant to move): not warnings.
      // Anchor trips mean the reward model scores the same videos differently: warnings.
      const level = t.source === 'policy' ? 'debug' : 'warn';
      this.#o.log[level]({ step: t.step, detector: t.detector, dimension: t.dimension, value: t.value, source: t.source }, 'drift detector tripped');
    }
  }

  /** One anchor pass: gauges, trips, an `anchors` event (with the drift since the previous pass); null without anchors. */
  async #judgeAnchors(step: number, reason: 'start' | 'scheduled' | 'rm_version_change'): Promise<Record<string, unknown> | null> {
    const drift = this.#drift;
    const anchors = this.#anchors;
    if (drift === null || anchors === null) return null;
    const pass = await judgeAnchors(this.#o.judge, anchors, this.#o.settings, { step });
    const report: AnchorDriftReport = drift.observeAnchors(pass);
    const m = this.#o.metrics;
    for (const [dim, v] of Object.entries(report.means)) if (isDimension(dim)) m?.setDriftGauge('anchor_mean', v, { dimension: dim });
    for (const [dim, v] of Object.entries(report.meanShift)) if (isDimension(dim)) m?.setDriftGauge('anchor_mean_shift', v, { dimension: dim });
    for (const [dim, v] of Object.entries(report.kendallTau)) if (isDimension(dim)) m?.setDriftGauge('anchor_kendall_tau', v, { dimension: dim });
    for (const [dim, v] of Object.entries(report.psi)) if (isDimension(dim)) m?.setDriftGauge('anchor_psi', v, { dimension: dim });
    for (const [dim, v] of Object.entries(report.pageHinkley)) if (isDimension(dim)) m?.setDriftGauge('anchor_page_hinkley', v, { dimension: dim });
    this.#trips(report.trips);
    const summary = {
      step,
      reason,
      rmVersions: report.rmVersions,
      judgments: pass.judgments,
      failedJudgments: pass.failedJudgments,
      means: rounded(report.means),
      meanShift: rounded(report.meanShift),
      kendallTau: rounded(report.kendallTau),
      psi: rounded(report.psi),
      pageHinkley: rounded(report.pageHinkley),
      ...(report.sincePrevious === null
        ? {}
        : {
            sincePrevious: {
              step: report.sincePrevious.step,
              rmVersions: report.sincePrevious.rmVersions,
              meanShift: rounded(report.sincePrevious.meanShift),
              kendallTau: rounded(report.sincePrevious.kendallTau),
            },
          }),
    };
    this.#event('anchors', summary);
    return summary;
  }
}
