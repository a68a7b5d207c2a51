/**
 * The coordinator's metrics (prefix `vrgrpo_`): per-step rewards by dimension, advantages, policy statistics, stage
 * durations, judgments and videos by outcome, hallucinations seen in verdicts (counted and over a sliding window of
 * judgments), gold accuracy, the RM version of each reward server, drift gauges and trips, and liveness (last step
 * time). One registry per coordinator, owned here; docs/metrics.md lists every metric.
 */
import { Registry, type Gauge } from 'prom-client';
import { VrGrpoError } from '../errors/index.js';
import { HALLUCINATION_KINDS, type HallucinationKind } from '../protocol/index.js';
import { MetricSet, type MetricDefinition } from './metric-set.js';
import type { MetricsExposition, MetricsSource } from './metrics-endpoint.js';
import { DEFAULT_HALLUCINATION_WINDOW } from './reward-server-metrics.js';
import { SlidingWindowRatio } from './sliding-window.js';
import { REWARD_DIMENSIONS, parseStepRecord, type RewardDimension } from './step-record.js';

export const STAGES = ['generate', 'judge', 'update'] as const;
export type Stage = (typeof STAGES)[number];
/** Detectors whose trips are counted (`vrgrpo_drift_trips_total{detector}`); each also has a gauge. */
export const DRIFT_DETECTORS = [
  'psi',
  'page_hinkley',
  'anchor_psi',
  'anchor_page_hinkley',
  'anchor_kendall_tau',
  'anchor_mean_shift',
  'proxy_gold_divergence',
  'proxy_auditor_divergence',
  'proxy_fullview_gap',
] as const;
export type DriftDetector = (typeof DRIFT_DETECTORS)[number];
/** Drift gauges: one per detector, plus the anchor set's mean reward. Exported as `vrgrpo_drift_<name>{dimension}`. */
export const DRIFT_GAUGES = [...DRIFT_DETECTORS, 'anchor_mean'] as const;
export type DriftGauge = (typeof DRIFT_GAUGES)[number];
/** Why a video had no reward. */
export const MASK_REASONS = ['no_successful_judgment'] as const;
/** Why a group was left out of the update. */
export const DROP_REASONS = ['too_few_valid_rewards'] as const;

export interface CoordinatorMetricsOptions {
  /** Judgments in the sliding hallucination window. Default: 500. */
  readonly hallucinationWindow?: number;
  /** Clock in milliseconds since the epoch (tests). Default: `Date.now`. */
  readonly now?: () => number;
}

/** Buckets of per-video rewards: per-dimension rewards lie in [0, 1]; a normalised combination may leave it. */
const REWARD_BUCKETS = [-2, -1, -0.5, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2];
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const DRIFT_HELP: Readonly<Record<DriftGauge, string>> = {
  psi: 'Population stability index of the policy rewards: the recent window against the reference window (a gauge; trips only with policyRewards: trip).',
  page_hinkley: 'Page-Hinkley statistic of the policy mean reward (a gauge; trips only with policyRewards: trip).',
  anchor_psi: 'Population stability index of the anchor set scores at the latest pass against the first pass (0 while the reward model is unchanged).',
  anchor_page_hinkley: 'Page-Hinkley statistic of the anchor pass means, in standard errors of the first pass mean (trips when the reward model moves).',
  anchor_kendall_tau: 'Kendall tau of the anchor set ranking against the first anchor pass (1 = same order).',
  anchor_mean_shift: 'Anchor set mean reward minus the first anchor pass mean.',
  proxy_gold_divergence: 'Proxy-vs-gold divergence: how much the reward rises while gold accuracy falls (embedded world; > 0 suspicious).',
  proxy_auditor_divergence:
    'Proxy-vs-auditor divergence: t-statistic of the judge gap trend (training judge minus auditors, same videos) over the audit window; high = the gap widens.',
  proxy_fullview_gap:
    'Full-view gap: t-statistic of the mean of (training rewards minus the full-view scores of the same videos) over the audit window; high = the thinking verdicts pay more than the judge shown every frame.',
  anchor_mean: 'Mean reward of the anchor set at its latest pass.',
};

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** A server URL as a label value: scheme, host, port and path; never credentials or a query. */
function serverLabel(server: string): string {
  try {
    const u = new URL(server);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return server.slice(0, 200);
  }
}

export class CoordinatorMetrics implements MetricsSource {
  /** This coordinator's registry (never the global default). */
  readonly registry: Registry;
  readonly #set: MetricSet;
  readonly #now: () => number;
  readonly #window: SlidingWindowRatio<HallucinationKind>;
  readonly #rmVersions = new Map<string, string>();

  readonly #step;
  readonly #lastStep;
  readonly #runActive;
  readonly #steps;
  readonly #rewardMean;
  readonly #rewardStd;
  readonly #reward;
  readonly #zeroStd;
  readonly #advantage;
  readonly #advantageUncalibrated;
  readonly #auditLowered;
  readonly #orderFlips;
  readonly #guardActions;
  readonly #selfDisagreement;
  readonly #gold;
  readonly #goldQuality;
  readonly #heldOut;
  readonly #kl;
  readonly #approxKl;
  readonly #clipFraction;
  readonly #ratioMean;
  readonly #ratioStd;
  readonly #gradNorm;
  readonly #policyLoss;
  readonly #stageDuration;
  readonly #groups;
  readonly #dropped;
  readonly #videos;
  readonly #masked;
  readonly #judgments;
  readonly #failures;
  readonly #framesViewed;
  readonly #toolCalls;
  readonly #hallucinations;
  readonly #serverInfo;
  readonly #serverUp;
  readonly #serverChanges;
  readonly #verdictVersions;
  readonly #drift: ReadonlyMap<string, Gauge<'dimension'>>;
  readonly #trips;
  readonly #auditScore;
  readonly #auditAgreement;
  readonly #auditProxy;
  readonly #auditGap;
  readonly #overopt;

  constructor(options: CoordinatorMetricsOptions = {}) {
    this.registry = new Registry();
    this.#now = options.now ?? Date.now;
    this.#window = new SlidingWindowRatio(options.hallucinationWindow ?? DEFAULT_HALLUCINATION_WINDOW, HALLUCINATION_KINDS);
    const m = new MetricSet(this.registry);
    this.#set = m;
    // The order here is the order of the exposition and of docs/metrics.md.
    this.#step = m.gauge('vrgrpo_step', 'Last completed training step.');
    this.#lastStep = m.gauge('vrgrpo_last_step_timestamp_seconds', 'Unix time of the last completed step (the start of the run before the first step).');
    this.#runActive = m.gauge('vrgrpo_run_active', '1 while the training loop runs, 0 once it finished.');
    this.#steps = m.counter('vrgrpo_steps_total', 'Completed steps, by outcome (updated: the policy was updated; skipped: every group was dropped).', [
      'outcome',
    ]);
    this.#rewardMean = m.gauge('vrgrpo_reward_mean', 'Mean reward of the step over scored videos, by dimension (combined = what trains the policy).', [
      'dimension',
    ]);
    this.#rewardStd = m.gauge('vrgrpo_reward_std', 'Standard deviation of the step reward over scored videos, by dimension.', ['dimension']);
    this.#reward = m.histogram('vrgrpo_reward', 'Per-video rewards, by dimension.', REWARD_BUCKETS, ['dimension']);
    this.#zeroStd = m.gauge('vrgrpo_zero_std_group_ratio', 'Fraction of the step groups whose rewards were all equal (zero advantage).');
    this.#advantage = m.gauge('vrgrpo_advantage_abs_mean', 'Mean absolute advantage of the step.');
    this.#guardActions = m.counter(
      'vrgrpo_guard_actions_total',
      'Times the guard answered a confirmed hacking signal, by action (warn; lower-lr, raise-beta, conservative, switch-to-auditors or stop after a rollback).',
      ['action'],
    );
    for (const action of ['warn', 'lower-lr', 'raise-beta', 'conservative', 'switch-to-auditors', 'stop']) this.#guardActions.inc({ action }, 0);
    this.#orderFlips = m.gauge(
      'vrgrpo_judge_order_flip_share',
      'Share of the pairs judged in both orders whose winner flipped with the order, at the latest step that had such pairs.',
    );
    this.#selfDisagreement = m.gauge(
      'vrgrpo_judge_self_disagreement',
      'Mean self-disagreement (0-1) of the groups with pairs judged in both orders, at the latest step that had such pairs.',
    );
    this.#auditLowered = m.gauge(
      'vrgrpo_guard_audit_lowered_share',
      'After the guard conservative or switch-to-auditors action: share of the step videos the audit judges together ranked lower than the training judge (absent before it).',
    );
    this.#advantageUncalibrated = m.gauge(
      'vrgrpo_advantage_abs_mean_uncalibrated',
      'While a calibrated RM swap maps the new version rewards: the mean absolute advantage the step would have had without the map.',
    );
    this.#gold = m.gauge('vrgrpo_gold_accuracy', 'Gold accuracy of the step rollouts against their prompts (embedded world; absent otherwise).');
    this.#goldQuality = m.gauge('vrgrpo_gold_quality', 'Gold quality score of the step rollouts (embedded world).');
    this.#heldOut = m.gauge('vrgrpo_heldout_gold_accuracy', 'Gold accuracy of the policy on held-out prompts at the latest evaluation (embedded world).');
    this.#kl = m.gauge('vrgrpo_policy_kl', 'KL divergence of the policy to the reference (LoRA off) at the latest update.');
    this.#approxKl = m.gauge('vrgrpo_policy_approx_kl', 'Approximate KL between the policy after and before the latest update.');
    this.#clipFraction = m.gauge('vrgrpo_policy_clip_fraction', 'Fraction of ratios clipped at the latest update, by side (high, low).', ['side']);
    this.#ratioMean = m.gauge('vrgrpo_policy_ratio_mean', 'Mean importance ratio at the latest update.');
    this.#ratioStd = m.gauge('vrgrpo_policy_ratio_std', 'Standard deviation of the importance ratio at the latest update.');
    this.#gradNorm = m.gauge('vrgrpo_policy_grad_norm', 'Gradient norm at the latest update (before clipping).');
    this.#policyLoss = m.gauge('vrgrpo_policy_loss', 'Clipped policy loss at the latest update.');
    this.#stageDuration = m.histogram('vrgrpo_stage_duration_seconds', 'Duration of each stage of a step (generate, judge, update).', STAGE_BUCKETS, ['stage']);
    this.#groups = m.counter('vrgrpo_groups_total', 'Groups (prompts) rolled out.');
    this.#dropped = m.counter('vrgrpo_dropped_groups_total', 'Groups left out of the update, by reason.', ['reason']);
    this.#videos = m.counter('vrgrpo_videos_total', 'Videos generated.');
    this.#masked = m.counter('vrgrpo_masked_videos_total', 'Videos without a reward (masked out of the update), by reason.', ['reason']);
    this.#judgments = m.counter('vrgrpo_judgments_total', 'Judgments requested from the reward servers, by outcome (ok, failed).', ['outcome']);
    this.#failures = m.counter('vrgrpo_judgment_failures_total', 'Failed judgments, by error code.', ['code']);
    this.#framesViewed = m.gauge('vrgrpo_judge_frames_viewed_per_judgment', 'Mean frames the judge saw per judgment in the latest step.');
    this.#toolCalls = m.gauge('vrgrpo_judge_tool_calls_per_judgment', 'Mean select_frames calls per judgment in the latest step.');
    this.#hallucinations = m.counter('vrgrpo_hallucinations_total', 'Hallucinations reported in the verdicts received, by kind.', ['kind']);
    m.gauge(
      'vrgrpo_hallucinations_per_judgment',
      'Hallucinations of each kind per judgment over the last N judgments (N = vrgrpo_hallucination_window_judgments).',
      ['kind'],
      (g) => {
        for (const kind of HALLUCINATION_KINDS) g.set({ kind }, this.#window.ratio(kind));
      },
    );
    m.gauge('vrgrpo_hallucination_window_judgments', 'Judgments currently in the sliding hallucination window.', [], (g) => g.set(this.#window.size));
    this.#serverInfo = m.gauge('vrgrpo_reward_server_info', 'The RM version each reward server serves (value 1; servers of unknown version are absent).', [
      'server',
      'rm_version',
    ]);
    this.#serverUp = m.gauge(
      'vrgrpo_reward_server_connected',
      'Whether the coordinator is connected to each reward server (1) or not (0: down, reconnecting).',
      ['server'],
    );
    this.#serverChanges = m.counter('vrgrpo_reward_server_rm_changes_total', 'Times the RM version of a reward server changed (checkpoint swaps).', ['server']);
    this.#verdictVersions = m.gauge('vrgrpo_verdict_rm_version_info', 'RM versions that produced the latest step verdicts (value 1).', ['rm_version']);
    this.#drift = new Map(DRIFT_GAUGES.map((name) => [name, m.gauge(`vrgrpo_drift_${name}`, DRIFT_HELP[name], ['dimension'])]));
    this.#trips = m.counter('vrgrpo_drift_trips_total', 'Times a drift or hacking detector tripped, by detector.', ['detector']);
    this.#auditScore = m.gauge(
      'vrgrpo_audit_score',
      'Mean score a held-out judge (auditor="full_view": the training judge with a wide view) gave the audited videos of the latest audited step.',
      ['auditor'],
    );
    this.#auditAgreement = m.gauge(
      'vrgrpo_audit_agreement',
      'Mean Kendall tau, within the audited groups, between an auditor scores and the rewards the policy trained on (1 = same order).',
      ['auditor'],
    );
    this.#auditProxy = m.gauge('vrgrpo_audit_proxy_score', 'The training judge level on the audited videos of the latest audited step (the proxy).');
    this.#overopt = {
      distance: m.gauge(
        'vrgrpo_overoptimisation_sqrt_kl',
        'd = sqrt(KL) of the policy to its reference at the latest audited step (the x axis of the over-optimisation curve).',
      ),
      peak: m.gauge(
        'vrgrpo_overoptimisation_peak_sqrt_kl',
        'The d where the fitted over-optimisation curve d(alpha - beta ln d) of the auditors score peaks (absent without a peak).',
      ),
      toPeak: m.gauge(
        'vrgrpo_overoptimisation_distance_to_peak',
        'Predicted peak d minus the current d (negative: past the peak, the auditors score is predicted to fall).',
      ),
    };
    this.#auditGap = m.gauge('vrgrpo_audit_gap', 'The judge gap at the latest audited step: the proxy minus the auditors mean score, on the same videos.');

    // Zero series for every bounded label value, so rates and ratios exist from the first scrape.
    this.#lastStep.set(this.#now() / 1000);
    this.#runActive.set(1);
    for (const outcome of ['updated', 'skipped'] as const) this.#steps.inc({ outcome }, 0);
    for (const dimension of REWARD_DIMENSIONS) this.#reward.zero({ dimension });
    for (const stage of STAGES) this.#stageDuration.zero({ stage });
    for (const reason of DROP_REASONS) this.#dropped.inc({ reason }, 0);
    for (const reason of MASK_REASONS) this.#masked.inc({ reason }, 0);
    for (const outcome of ['ok', 'failed'] as const) this.#judgments.inc({ outcome }, 0);
    for (const kind of HALLUCINATION_KINDS) this.#hallucinations.inc({ kind }, 0);
    for (const detector of DRIFT_DETECTORS) this.#trips.inc({ detector }, 0);
  }

  /** Every metric this class registers (for docs/metrics.md). */
  definitions(): readonly MetricDefinition[] {
    return this.#set.definitions();
  }

  async exposition(): Promise<MetricsExposition> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Records one step record as written to metrics.jsonl (`Coordinator`'s `onStep`). Also accepts the step-0 record
   * (held-out evaluation only). INVALID_ARGUMENT when a field has the wrong type or an unknown label value.
   */
  recordStep(record: unknown): void {
    const r = parseStepRecord(record);
    if (r.heldOutGoldAccuracy !== undefined && r.heldOutGoldAccuracy !== null) this.recordHeldOut(r.heldOutGoldAccuracy);
    if (r.step === 0) return;
    this.#step.set(r.step);
    this.#lastStep.set(this.#now() / 1000);
    const updated = finite(r.gradNorm) || finite(r.kl);
    this.#steps.inc({ outcome: updated ? 'updated' : 'skipped' });
    // A dimension the step's verdicts did not give has no series (not a stale or zero value).
    for (const dimension of REWARD_DIMENSIONS) {
      const m = r.reward?.[dimension];
      const s = r.rewardStd?.[dimension];
      if (finite(m)) this.#rewardMean.set({ dimension }, m);
      else this.#rewardMean.remove({ dimension });
      if (finite(s)) this.#rewardStd.set({ dimension }, s);
      else this.#rewardStd.remove({ dimension });
    }
    setIf(this.#zeroStd, r.zeroStdRatio);
    setIf(this.#advantage, r.advantageAbsMean);
    if (r.guard !== undefined) this.#guardActions.inc({ action: r.guard.action });
    const u = r.judgeUncertainty;
    setIf(this.#orderFlips, u?.orderFlipShare);
    setIf(this.#selfDisagreement, u?.selfDisagreement);
    // Only while a calibrated swap's map is active; withdrawn afterwards, so the two lines differ only then.
    const w = r.auditTraining;
    if (w !== undefined && w.videos > 0) this.#auditLowered.set(w.lowered / w.videos);
    if (finite(r.advantageAbsMeanUncalibrated)) this.#advantageUncalibrated.set(r.advantageAbsMeanUncalibrated);
    else this.#advantageUncalibrated.reset();
    setIf(this.#gold, r.goldAccuracy);
    setIf(this.#goldQuality, r.goldQuality);
    setIf(this.#kl, r.kl);
    setIf(this.#approxKl, r.approxKl);
    if (finite(r.clipFracHigh)) this.#clipFraction.set({ side: 'high' }, r.clipFracHigh);
    if (finite(r.clipFracLow)) this.#clipFraction.set({ side: 'low' }, r.clipFracLow);
    setIf(this.#ratioMean, r.ratioMean);
    setIf(this.#ratioStd, r.ratioStd);
    setIf(this.#gradNorm, r.gradNorm);
    setIf(this.#policyLoss, r.policyLoss);
    const t = r.timing ?? {};
    const stageMs: Readonly<Record<Stage, number | undefined>> = { generate: t.generateMs, judge: t.judgeMs, update: t.updateMs };
    for (const stage of STAGES) {
      const ms = stageMs[stage];
      if (finite(ms)) this.#stageDuration.observe({ stage }, ms / 1000);
    }
    if (r.prompts !== undefined) this.#groups.inc(r.prompts);
    if (r.droppedGroups !== undefined && r.droppedGroups > 0) this.#dropped.inc({ reason: 'too_few_valid_rewards' }, r.droppedGroups);
    if (r.videos !== undefined) this.#videos.inc(r.videos);
    if (r.maskedVideos !== undefined && r.maskedVideos > 0) this.#masked.inc({ reason: 'no_successful_judgment' }, r.maskedVideos);
    const judgments = r.judgments ?? 0;
    const failed = Math.min(r.failedJudgments ?? 0, judgments);
    if (judgments > 0) {
      this.#judgments.inc({ outcome: 'ok' }, judgments - failed);
      if (failed > 0) this.#judgments.inc({ outcome: 'failed' }, failed);
    }
    for (const [code, n] of Object.entries(r.failuresByCode ?? {})) if (n > 0) this.#failures.inc({ code }, n);
    setIf(this.#framesViewed, r.framesViewedPerJudgment);
    setIf(this.#toolCalls, r.toolCallsPerJudgment);
    const hallucinations = r.hallucinations ?? {};
    for (const [kind, n] of Object.entries(hallucinations)) if (n > 0) this.#hallucinations.inc({ kind }, n);
    // Hallucinations come from successful judgments only: the window counts those.
    this.#window.add(judgments - failed, failed === judgments && judgments > 0 ? {} : hallucinations);
    if (r.rmVersions !== undefined) {
      this.#verdictVersions.reset();
      for (const v of r.rmVersions) this.#verdictVersions.set({ rm_version: v }, 1);
    }
  }

  /**
   * Per-video rewards of a step by dimension (NaN = masked, skipped), for the reward histogram — the same
   * `rewardsByDimension` the drift monitor observes. INVALID_ARGUMENT for a dimension outside REWARD_DIMENSIONS.
   */
  recordRewards(perDimension: Readonly<Partial<Record<string, readonly number[]>>>): void {
    for (const [dimension, values] of Object.entries(perDimension)) {
      if (!(REWARD_DIMENSIONS as readonly string[]).includes(dimension))
        throw new VrGrpoError('INVALID_ARGUMENT', `recordRewards: unknown dimension ${JSON.stringify(dimension)}`);
      for (const v of values ?? []) if (Number.isFinite(v)) this.#reward.observe({ dimension }, v);
    }
  }

  /** Held-out gold accuracy of the latest evaluation. */
  recordHeldOut(accuracy: number): void {
    if (!Number.isFinite(accuracy)) throw new VrGrpoError('INVALID_ARGUMENT', `held-out accuracy: expected a finite number, got ${accuracy}`);
    this.#heldOut.set(accuracy);
  }

  /**
   * The RM version each reward server serves now (`null`: unknown, e.g. not connected). A server whose known version
   * differs from the one recorded before counts one change (a checkpoint swap).
   */
  setRmVersions(versions: ReadonlyMap<string, string | null>): void {
    this.#serverInfo.reset();
    for (const [url, version] of versions) {
      const server = serverLabel(url);
      this.#serverUp.set({ server }, version === null ? 0 : 1);
      const before = this.#rmVersions.get(server);
      if (before === undefined) this.#serverChanges.inc({ server }, 0);
      if (version === null) continue;
      if (before !== undefined && before !== version) this.#serverChanges.inc({ server });
      this.#rmVersions.set(server, version);
      this.#serverInfo.set({ server, rm_version: version }, 1);
    }
  }

  /** Sets a drift gauge (`dimension` defaults to `combined`). */
  setDriftGauge(name: DriftGauge, value: number, labels: { readonly dimension?: RewardDimension } = {}): void {
    const gauge = this.#drift.get(name);
    if (gauge === undefined)
      throw new VrGrpoError('INVALID_ARGUMENT', `unknown drift gauge ${JSON.stringify(name)} (expected one of ${DRIFT_GAUGES.join(', ')})`);
    const dimension = labels.dimension ?? 'combined';
    if (!(REWARD_DIMENSIONS as readonly string[]).includes(dimension))
      throw new VrGrpoError('INVALID_ARGUMENT', `drift gauge ${name}: unknown dimension ${JSON.stringify(dimension)}`);
    if (!Number.isFinite(value)) return;
    gauge.set({ dimension }, value);
  }

  /** An auditor's (or the full view's) score and agreement at the latest audited step; NaN leaves a gauge as it was. */
  setAuditGauges(auditor: string, score: number, agreement: number): void {
    setIf({ set: (v: number) => this.#auditScore.set({ auditor }, v) }, score);
    setIf({ set: (v: number) => this.#auditAgreement.set({ auditor }, v) }, agreement);
  }

  /**
   * The proxy level and judge gap of the latest audited step, the proxy-vs-auditor divergence and the full-view gap
   * detector's value (null: not yet, or off).
   */
  setAuditDivergence(proxy: number | null, gap: number | null, divergence: number | null, fullViewGap: number | null = null): void {
    setIf(this.#auditProxy, proxy);
    setIf(this.#auditGap, gap);
    if (divergence !== null) this.setDriftGauge('proxy_auditor_divergence', divergence);
    if (fullViewGap !== null) this.setDriftGauge('proxy_fullview_gap', fullViewGap);
  }

  /** The over-optimisation curve's current d = √KL, its predicted peak and the distance to it (null: unknown). */
  setOveroptimisation(distance: number | null, peak: number | null, toPeak: number | null): void {
    setIf(this.#overopt.distance, distance);
    // A peak the latest fit no longer predicts is withdrawn, not left at its old value.
    for (const [gauge, v] of [
      [this.#overopt.peak, peak],
      [this.#overopt.toPeak, toPeak],
    ] as const) {
      if (finite(v)) gauge.set(v);
      else gauge.reset();
    }
  }

  /** Counts one trip of a detector. */
  driftTripped(detector: DriftDetector): void {
    if (!(DRIFT_DETECTORS as readonly string[]).includes(detector))
      throw new VrGrpoError('INVALID_ARGUMENT', `unknown drift detector ${JSON.stringify(detector)} (expected one of ${DRIFT_DETECTORS.join(', ')})`);
    this.#trips.inc({ detector });
  }

  /** The training loop ended (the trainer-stalled alert stops applying). */
  runFinished(): void {
    this.#runActive.set(0);
  }
}

function setIf(gauge: { set(value: number): void }, value: number | null | undefined): void {
  if (finite(value)) gauge.set(value);
}
