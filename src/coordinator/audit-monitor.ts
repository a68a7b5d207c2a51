/**
 * The audit monitor: the coordinator's oracle-free reward-hacking signals (`monitoring.audit`, docs/monitoring.md
 * "Audits"). After each audited step is judged and before its update releases the videos, it picks a seeded share of
 * the step's groups and has them re-judged, pointwise:
 *   - by each **auditor** — a held-out judge (another checkpoint or reward servers) that never trains the policy;
 *   - by the **training judge with a wide view** (`fullView`: many frames at once, no tool calls), which sees what the
 *     thinking judge's frame selection may skip; a clip longer than one view (`initialFrames`, at most 32) is judged in
 *     interleaved views that together show every frame, and a video scores its lowest view.
 * Per step: each judge's mean score of the audited videos and its agreement (Kendall τ within each group) with the
 * rewards the policy trained on; the proxy-vs-auditor divergence (src/metrics/audit) trips when the training judge's
 * level rises while the auditors' falls. Gauges, `audit` events, `drift` events for trips, and the fields of the step's
 * metrics line. The auditors' scores never reach the advantages. Its state rides in the coordinator's checkpoints.
 */
import { z } from 'zod';
import { Rng } from '../common/rng.js';
import type { Logger } from '../common/logger.js';
import type { Config } from '../config/index.js';
import type { CoordinatorMetrics } from '../metrics/index.js';
import {
  AuditTracker,
  OveroptimisationCurve,
  type AuditObservation,
  type AuditReading,
  type AuditReport,
  type OveroptimisationFit,
  type OveroptimisationState,
} from '../metrics/audit/index.js';
import { kendallTau } from '../metrics/drift/kendall-tau.js';
import { judgedFrameCount } from '../media/index.js';
import type { JudgedStep, MonitorStart, ObservedStep, StepMonitor } from './coordinator.js';
import { collectGroupRewards, type GroupRewards, type JudgeClient, type RewardSettings } from './reward-collector.js';
import { Guard, type GuardDecision } from './guard.js';
import type { HeldOutRule } from '../grpo/index.js';
import { streamSeed } from './seed-streams.js';

export interface AuditMonitorOptions {
  readonly config: Config;
  /** The training judge (the full-view audit re-judges through it). */
  readonly judge: JudgeClient;
  /** Auditor judges by name (`monitoring.audit.auditors`). */
  readonly auditors: ReadonlyMap<string, JudgeClient>;
  /** The run's reward settings; audits judge pointwise with the same weights. */
  readonly settings: RewardSettings;
  readonly metrics: CoordinatorMetrics | null;
  readonly log: Logger;
  /** Sees every audited step's report (benchmarks record the trajectories). */
  readonly onReport?: (report: AuditStepSummary) => void;
}

/** What one audited step found (also the `audit` event and the metrics line's `audit` field). */
export interface AuditStepSummary {
  readonly step: number;
  readonly groups: number;
  readonly auditors: Readonly<Record<string, AuditReading>>;
  readonly fullView: AuditReading | null;
  readonly proxy: number | null;
  readonly report: AuditReport;
  /** The over-optimisation curve after this step (null until it has enough points; set by `observeStep`). */
  readonly overoptimisation?: OveroptimisationFit | null;
}

const stateSchema = z.object({
  tracker: z.object({
    points: z.array(z.tuple([z.number(), z.number()])),
    armed: z.boolean(),
    fullView: z.object({ points: z.array(z.tuple([z.number(), z.number()])), armed: z.boolean() }).optional(),
  }),
  /** Checked by the curve and the guard themselves. */
  curve: z.unknown().optional(),
  guard: z.unknown().optional(),
  /** The guard's action that trains with the audit judges is on: every group is judged by them for training. */
  trainOn: z.enum(['worst-case', 'held-out']).optional(),
});

/** The audit judges' scores of every group of one step, for training (the guard's conservative or switch-to-auditors). */
export interface TrainingAudit {
  readonly step: number;
  /** How the coordinator combines them with the training judge's rewards (src/grpo/held-out-rewards.ts). */
  readonly rule: HeldOutRule;
  /** Judge names: the auditors, then `full_view` when the full-view audit is on. */
  readonly judges: readonly string[];
  /** Per group of the step, per judge (in the order of `judges`), per video: the score (NaN: failed). */
  readonly groups: readonly (readonly (readonly number[])[])[];
}

/** A confirmed signal for the coordinator to act on, with the audits that led to it. */
export interface GuardRequest extends GuardDecision {
  /** The audited steps of the detector's window (summaries as in the `audit` events). */
  readonly evidence: readonly Record<string, unknown>[];
}

const FULL_VIEW = 'full_view';
const round = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1e6) / 1e6);

function meanFinite(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? NaN : f.reduce((s, x) => s + x, 0) / f.length;
}

/** `k` distinct group indices of `n`, drawn by `rng`, ascending. */
function pickGroups(n: number, k: number, rng: Rng): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j] ?? 0, all[i] ?? 0];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

export class AuditMonitor implements StepMonitor {
  readonly #o: AuditMonitorOptions;
  #tracker: AuditTracker;
  #curve: OveroptimisationCurve;
  #guard: Guard;
  #request: GuardRequest | null = null;
  /** The `audit` event fields of the latest audited steps (the guard's evidence). */
  #history: Record<string, unknown>[] = [];
  /** Readings of the step judged last, reported by `observeStep` (after the update adds the KL). */
  #pending: AuditStepSummary | null = null;
  #event: MonitorStart['event'] = () => undefined;
  /** Since the guard's conservative or switch-to-auditors action: every step's groups are judged for training. */
  #trainOn: HeldOutRule | null = null;
  #training: TrainingAudit | null = null;

  constructor(options: AuditMonitorOptions) {
    this.#o = options;
    this.#tracker = new AuditTracker(this.#trackerOptions());
    this.#curve = new OveroptimisationCurve(this.#curveOptions());
    this.#guard = new Guard(options.config.guard);
  }

  /** Whether the config asks for any audit (auditors or the full view). */
  static enabled(config: Config): boolean {
    const a = config.monitoring.audit;
    return a.auditors.length > 0 || a.fullView.enabled;
  }

  #curveOptions(): { baselineSteps: number; minPoints: number } {
    const o = this.#o.config.monitoring.audit.overoptimisation;
    return { baselineSteps: o.baselineSteps, minPoints: o.minPoints };
  }

  #trackerOptions(): ConstructorParameters<typeof AuditTracker>[0] {
    const a = this.#o.config.monitoring.audit;
    // The full-view gap compares levels: only where the training rewards are the judge's own pointwise scores.
    const fullViewMinGap = a.fullView.enabled && this.#o.settings.mode === 'pointwise' ? a.fullView.minGap : null;
    return { ...a.hacking, fullViewMinGap };
  }

  start(context: MonitorStart): Promise<void> {
    this.#event = context.event;
    if (context.restored !== null && context.restored !== undefined) {
      const restored = stateSchema.parse(context.restored);
      this.#tracker = new AuditTracker(this.#trackerOptions(), restored.tracker);
      if (restored.curve !== undefined) this.#curve = new OveroptimisationCurve(this.#curveOptions(), restored.curve as OveroptimisationState);
      if (restored.guard !== undefined) this.#guard = new Guard(this.#o.config.guard, restored.guard);
      this.#trainOn = restored.trainOn ?? null;
    }
    return Promise.resolve();
  }

  async beforeUpdate(s: JudgedStep): Promise<void> {
    this.#pending = null;
    this.#training = null;
    const a = this.#o.config.monitoring.audit;
    const audited = s.step % a.every === 0 && s.groups.length > 0;
    const k = Math.min(s.groups.length, Math.max(1, Math.round(a.fraction * s.groups.length)));
    const picked = audited ? pickGroups(s.groups.length, k, Rng.fromSeed(streamSeed(this.#o.config.seed, 'audit', s.step))) : [];
    // After the guard's action that trains with the audit judges, every group of every step is judged by them.
    const rule = this.#trainOn;
    const judged = rule !== null ? s.groups.map((_, g) => g) : picked;
    if (judged.length === 0) return;
    const results = await this.#judge(s, judged);
    if (rule !== null) {
      this.#training = { step: s.step, rule, judges: [...results.keys()], groups: judged.map((_, i) => [...results.values()].map((r) => r[i]?.rewards ?? [])) };
    }
    if (!audited) return;
    const at = picked.map((g) => judged.indexOf(g));
    const byName = new Map(
      [...results].map(([name, groups]) => [
        name,
        reading(
          at.map((i) => groups[i] ?? { rewards: [], rmVersions: [] }),
          picked.map((g) => s.groups[g]?.rewards ?? []),
        ),
      ]),
    );
    const fullView = byName.get(FULL_VIEW) ?? null;
    byName.delete(FULL_VIEW);
    const auditedRewards = picked.flatMap((g) => [...(s.groups[g]?.rewards ?? [])]);
    const proxy = this.#o.settings.mode === 'pointwise' ? meanFinite(auditedRewards) : (fullView?.score ?? NaN);
    const observation: AuditObservation = {
      step: s.step,
      groups: picked.length,
      auditors: Object.fromEntries(byName),
      fullView,
      proxy: Number.isFinite(proxy) ? proxy : null,
    };
    const report = this.#tracker.observe(observation);
    this.#pending = { ...observation, report };
  }

  /** Every audit judge's scores of the `groups` (indices) of a step, by judge name, in the order of `groups`. */
  async #judge(s: JudgedStep, groups: readonly number[]): Promise<Map<string, GroupScores[]>> {
    const a = this.#o.config.monitoring.audit;
    const pointwise: RewardSettings = { ...this.#o.settings, mode: 'pointwise', bothOrders: false, judgeOptions: {} };
    const wide: RewardSettings = { ...pointwise, judgeOptions: { initialFrames: a.fullView.initialFrames, maxToolCalls: 0 } };
    const judges: [string, JudgeClient, RewardSettings][] = [...this.#o.auditors].map(([name, client]) => [name, client, pointwise]);
    if (a.fullView.enabled) judges.push([FULL_VIEW, this.#o.judge, wide]);
    // Every judge and group at once: the pool spreads them over its servers.
    const results = await Promise.all(
      judges.map(async ([name, client, settings]) => {
        const scored = await Promise.all(
          groups.map((g): Promise<GroupScores> => {
            const videos = s.videos[g] ?? [];
            const seed = (view: number): number =>
              view === 0 ? streamSeed(this.#o.config.seed, 'audit', s.step, g) : streamSeed(this.#o.config.seed, 'audit', s.step, g, view);
            const views = name === FULL_VIEW ? Math.max(1, ...videos.map((v) => Math.ceil(judgedFrameCount(v) / a.fullView.initialFrames))) : 1;
            if (views === 1) return collectGroupRewards(client, s.prompts[g] ?? '', videos, settings, Rng.fromSeed(seed(0)));
            // A clip longer than one view: interleaved views that together show every frame; a video scores its
            // lowest (a defect seen in any view counts).
            return Promise.all(
              Array.from({ length: views }, (_, index) =>
                collectGroupRewards(
                  client,
                  s.prompts[g] ?? '',
                  videos,
                  { ...settings, judgeOptions: { ...settings.judgeOptions, initialView: { index, of: views } } },
                  Rng.fromSeed(seed(index)),
                ),
              ),
            ).then(lowestOfViews);
          }),
        );
        return [name, scored] as const;
      }),
    );
    return new Map(results);
  }

  /**
   * After the guard's `conservative` or `switch-to-auditors` action: every audit judge's scores of every group of `step` (per group, per judge
   * in the order of `judges`, per video), which the coordinator trains on with the training judge's (worst case per
   * video). Null before the action, or for another step.
   */
  trainingAudit(step: number): TrainingAudit | null {
    return this.#training?.step === step ? this.#training : null;
  }

  observeStep(s: ObservedStep): Promise<Record<string, unknown>> {
    const summary = this.#pending;
    this.#pending = null;
    if (summary === null || summary.step !== s.step) return Promise.resolve({});
    const m = this.#o.metrics;
    for (const [name, r] of Object.entries(summary.auditors)) m?.setAuditGauges(name, r.score, r.agreement);
    if (summary.fullView !== null) m?.setAuditGauges(FULL_VIEW, summary.fullView.score, summary.fullView.agreement);
    const d = summary.report.divergence;
    const fv = summary.report.fullViewGap;
    m?.setAuditDivergence(summary.proxy, d.gap, d.value, fv.value);
    // The over-optimisation curve: the auditors' score against √KL of the policy to its reference after this update.
    const kl = typeof s.metrics.kl === 'number' ? s.metrics.kl : NaN;
    const auditorScore = summary.report.auditorScore;
    const fitted = auditorScore === null ? this.#curve.fit() : this.#curve.observe(kl, auditorScore);
    const fit =
      fitted === null || fitted.betaT >= this.#o.config.monitoring.audit.overoptimisation.minBetaT
        ? fitted
        : { ...fitted, peakDistance: null, distanceToPeak: null };
    if (fit !== null) m?.setOveroptimisation(fit.currentDistance, fit.peakDistance, fit.distanceToPeak);
    const withCurve: AuditStepSummary = { ...summary, overoptimisation: fit };
    this.#o.onReport?.(withCurve);
    const fields = {
      step: s.step,
      groups: summary.groups,
      proxy: round(summary.proxy),
      auditors: Object.fromEntries(
        Object.entries(summary.auditors).map(([n, r]) => [n, { score: round(r.score), agreement: round(r.agreement), rmVersions: r.rmVersions }]),
      ),
      ...(summary.fullView === null ? {} : { fullView: { score: round(summary.fullView.score), agreement: round(summary.fullView.agreement) } }),
      auditorScore: round(summary.report.auditorScore),
      gap: round(d.gap),
      divergence: round(d.value),
      ...(fv.gap === null ? {} : { fullViewGap: round(fv.gap), fullViewGapT: round(fv.value) }),
      ...(fit === null ? {} : { overoptimisation: curveFields(fit) }),
    };
    this.#event('audit', fields);
    this.#history = [...this.#history, fields].slice(-this.#o.config.monitoring.audit.hacking.window);
    const decision = this.#guard.observe(s.step, summary.report.auditorScore, guardSignal(d, fv));
    if (decision !== null) {
      this.#request = { ...decision, evidence: this.#history };
      // The policy is about to change (act): the gap's window starts again from the next audited step.
      if (decision.mode === 'act') this.#tracker = new AuditTracker(this.#trackerOptions());
      if (decision.mode === 'act' && decision.action === 'conservative') this.#trainOn = 'worst-case';
      if (decision.mode === 'act' && decision.action === 'switch-to-auditors') this.#trainOn = 'held-out';
    }
    for (const t of summary.report.trips) {
      m?.driftTripped(t.detector);
      this.#event('drift', { step: t.step, detector: t.detector, value: round(t.value), threshold: t.threshold });
      const what = t.detector === 'proxy_fullview_gap' ? 'the thinking verdicts pay more than the full view' : 'the training judge and the auditors diverge';
      this.#o.log.warn({ step: t.step, detector: t.detector, value: t.value }, `${what}: possible reward hacking`);
    }
    return Promise.resolve({ audit: fields });
  }

  /** The guard's request of the latest observed step, once (null: none). */
  guardDecision(): GuardRequest | null {
    const r = this.#request;
    this.#request = null;
    return r;
  }

  checkpointState(): unknown {
    return {
      tracker: this.#tracker.state(),
      curve: this.#curve.state(),
      guard: this.#guard.state(),
      ...(this.#trainOn === null ? {} : { trainOn: this.#trainOn }),
    };
  }
}

function curveFields(f: OveroptimisationFit): Record<string, number | null> {
  return {
    sqrtKl: round(f.currentDistance),
    alpha: round(f.alpha),
    beta: round(f.beta),
    peakSqrtKl: round(f.peakDistance),
    distanceToPeak: round(f.distanceToPeak),
  };
}

type GroupScores = Pick<GroupRewards, 'rewards' | 'rmVersions'>;

/** Views of one group combined: per video the lowest finite score of any view (NaN when no view scored it). */
function lowestOfViews(views: readonly GroupRewards[]): GroupScores {
  const n = Math.max(0, ...views.map((v) => v.rewards.length));
  const rewards = Array.from({ length: n }, (_, i) => {
    const xs = views.map((v) => v.rewards[i] ?? NaN).filter(Number.isFinite);
    return xs.length === 0 ? NaN : Math.min(...xs);
  });
  return { rewards, rmVersions: [...new Set(views.flatMap((v) => [...v.rmVersions]))].sort() };
}

/** One judge's reading of the audited groups: mean score, and mean within-group τ against the training rewards. */
function reading(groups: readonly GroupScores[], trained: readonly (readonly number[])[]): AuditReading {
  const scores = groups.flatMap((g) => [...g.rewards]);
  const taus = groups.map((g, i) => kendallTau(trained[i] ?? [], g.rewards));
  const rmVersions = [...new Set(groups.flatMap((g) => [...g.rmVersions]))].sort();
  return { score: meanFinite(scores), agreement: meanFinite(taus), videos: scores.filter(Number.isFinite).length, rmVersions };
}

/**
 * What the guard watches: the judge-gap detector and the full-view gap detector as one signal — firing while either
 * fires, its rising edge when either trips, named (and valued) by the one that tripped or fires.
 */
function guardSignal(
  d: AuditReport['divergence'],
  fv: AuditReport['fullViewGap'],
): { readonly name: string; readonly value: number | null; readonly firing: boolean; readonly tripped: boolean } {
  const auditor = { name: 'proxy_auditor_divergence', value: d.value, firing: d.firing, tripped: d.tripped };
  const fullView = { name: 'proxy_fullview_gap', value: fv.value, firing: fv.firing, tripped: fv.tripped };
  const lead = [auditor, fullView].find((x) => x.tripped) ?? [auditor, fullView].find((x) => x.firing) ?? auditor;
  return { ...lead, firing: auditor.firing || fullView.firing, tripped: auditor.tripped || fullView.tripped };
}
