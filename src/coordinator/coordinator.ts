/**
 * The GRPO coordinator — the project's main job. Each step: sample prompts, roll out G videos per prompt through the
 * `Generator`, judge them through the reward-server pool, turn judgments into group-relative advantages, update the
 * policy. With pipelining the next rollout is generated while the current one is judged. Everything a run produces
 * goes to its run directory; `resume` continues from the last checkpoint with the same prompts and noise.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Rng } from '../common/rng.js';
import type { Logger } from '../common/logger.js';
import type { Config } from '../config/index.js';
import { encodeFrameStrip, stripFrames, type FrameStripRecord } from '../dashboard/frame-strip.js';
import { VrGrpoError, isVrGrpoError } from '../errors/index.js';
import {
  readAdapterState,
  type AdapterState,
  type GeneratedVideo,
  type GenerateResult,
  type GoldSummary,
  type TrainableGenerator,
  type UpdateStats,
} from '../generator/index.js';
import {
  PerPromptStatTracker,
  applyJudgeUncertainty,
  groupAdvantages,
  mean,
  orderedJudgments,
  std,
  trackedAdvantages,
  heldOutRewards,
  type HeldOutRule,
  type StatTrackerState,
  type UncertaintyAdjustment,
} from '../grpo/index.js';
import { isVideoFile, judgedFrameCount, type Media, type VideoHandle } from '../media/index.js';
import type { StepRecord } from '../metrics/index.js';
import type { VerdictMessage } from '../protocol/index.js';
import { goldScores, type GoldReport, type GoldScores } from '../world/index.js';
import { NO_GOLD, type GoldEvaluation } from './gold.js';
import { emptyAgreement, judgeGoldAgreement, mergeAgreement, type ComparisonGold, type JudgeGoldAgreement } from './judge-gold.js';
import { FilePromptSampler, WorldPromptSampler, readPromptFile, type PromptSampler, type PromptSamplerState, type SampledPrompt } from './prompt-sampler.js';
import { collectGroupRewards, rewardSettingsFromConfig, type GroupRewards, type JudgeClient, type RewardSettings } from './reward-collector.js';
import { RunDir, checkpointFiles, latestCheckpointDir } from './run-dir.js';
import { RUN_LAYOUT, stepFolder, stepVideoFile } from '../common/run-layout.js';
import type { GuardRequest, TrainingAudit } from './audit-monitor.js';
import { bestCheckpoint } from './guard.js';
import { RecentGroups, shadowScore } from './recent-groups.js';
import { RewardCalibrator, type AnchorRejudge, type RewardCalibratorState } from './reward-calibrator.js';
import { streamSeed } from './seed-streams.js';

export type CoordinatorState = 'ready' | 'running' | 'stopping' | 'stopped';

/** One line of metrics.jsonl: its fields are declared in the step record schema (src/metrics/step-record.ts). */
export type StepMetrics = StepRecord;

export interface CoordinatorOptions {
  readonly config: Config;
  readonly runDir: string;
  readonly generator: TrainableGenerator;
  /** The truth the run may know besides its judge (gold reports, held-out evaluation). Default: none (`NO_GOLD`). */
  readonly gold?: GoldEvaluation;
  /** Saves the policy into each checkpoint folder, when the policy lives in this process (else its owner keeps it). */
  readonly policyCheckpoints?: PolicyCheckpoints | null;
  readonly judge: JudgeClient;
  readonly log: Logger;
  /** Steps to run in total (default config.training.steps). */
  readonly steps?: number;
  /** Continue from the run directory's last checkpoint. */
  readonly resume?: boolean;
  /** For MP4s of sampled groups. */
  readonly media?: Media;
  /** Every line written to metrics.jsonl: one per step, and the step-0 line (held-out evaluation before training). */
  readonly onStep?: (metrics: StepMetrics) => void;
  /** Every event written to `events.jsonl` (start, resume, checkpoint, failures, swaps, drift trips…). */
  readonly onEvent?: (event: Readonly<Record<string, unknown>>) => void;
  /** A sampled group (prompt 0 of a step) whose MP4s were written: every `videosEvery` steps. */
  readonly onSampledGroup?: (group: SampledGroup) => void;
  /** Watches each step before its metrics line is written (drift detectors, anchor re-judging); see {@link StepMonitor}. */
  readonly monitor?: StepMonitor;
}

/** Writes the policy's state (adapters, optimizer) into a checkpoint folder, for `loadResumeState`. */
export interface PolicyCheckpoints {
  save(dir: string, step: number): void;
  /** Puts the policy saved in `dir` back in place (the guard's rollback). Absent: it cannot. */
  restore?(dir: string): void;
}

/** What a step monitor sees of one step: its metrics line so far and the per-video rewards behind it. */
export interface ObservedStep {
  readonly step: number;
  readonly metrics: StepMetrics;
  /** Per dimension (`combined`, `TA`, `MQ`, `VQ`, `overall`), per video of the step; NaN = masked. */
  readonly rewardsByDimension: Readonly<Record<string, readonly number[]>>;
  /** RM versions the step's verdicts came from. */
  readonly rmVersions: readonly string[];
}

/** What a step monitor sees of a step before its update: the judged groups and their videos (alive until the update). */
export interface JudgedStep {
  readonly step: number;
  /** Prompt text of each group. */
  readonly prompts: readonly string[];
  /** Each group's videos, in group order. */
  readonly videos: readonly (readonly VideoHandle[])[];
  readonly groups: readonly GroupRewards[];
}

/** Context a step monitor gets when the loop starts. */
export interface MonitorStart {
  /** The first step the loop runs (1, or the step after the checkpoint on resume). */
  readonly firstStep: number;
  /** The state `checkpointState()` returned at the checkpoint resumed from; null on a fresh run. */
  readonly restored: unknown;
  /** Writes an event to `events.jsonl` (and the `onEvent` hook). */
  readonly event: (kind: string, detail: Record<string, unknown>) => void;
}

/**
 * Runs beside the loop (the run monitor: drift detectors, anchors, RM version changes). `observeStep` is awaited
 * after each update; the fields it returns are merged into the step's metrics line. Its state goes into every
 * checkpoint so a resumed run's detectors continue where they were.
 */
export interface StepMonitor {
  start(context: MonitorStart): Promise<void>;
  /** Optional: awaited after the step is judged and before its update (which may release the videos). */
  beforeUpdate?(step: JudgedStep): Promise<void>;
  /**
   * Optional: the step's verdicts came from another RM version (before its advantages are computed). The run monitor
   * re-judges the anchor set with it at once and answers the old version's last pass and this one (null: none), which
   * a calibrated swap fits its map on.
   */
  rewardModelChanged?(step: number, versions: readonly string[]): Promise<AnchorRejudge | null>;
  /** Optional: after `observeStep`, a confirmed hacking signal the guard asks the coordinator to act on (once). */
  guardDecision?(): GuardRequest | null;
  /**
   * Optional: after the guard's conservative or switch-to-auditors action, the audit judges' scores of every group of
   * `step` (available from `beforeUpdate`), which the coordinator trains with (`rule`). Null: not on.
   */
  trainingAudit?(step: number): TrainingAudit | null;
  observeStep(step: ObservedStep): Promise<Record<string, unknown>>;
  checkpointState(): unknown;
}

/** One sampled group for the dashboard: videos (MP4 paths relative to the run dir) with rewards and verdicts. */
export interface SampledGroup {
  readonly step: number;
  readonly prompt: string;
  readonly videos: readonly {
    readonly id: string;
    /** Relative to the run directory, e.g. `videos/step-000025/v3.mp4`. */
    readonly mp4: string;
    /** Combined reward (NaN = masked). */
    readonly reward: number;
    readonly perDimension: Readonly<Record<'TA' | 'MQ' | 'VQ' | 'overall', number>>;
    readonly advantage: number | null;
    /** Gold accuracy of the scene (embedded world), else null. */
    readonly goldAccuracy: number | null;
    /** Frames in the clip. */
    readonly frameCount: number;
    /** Gold scores of the scene (embedded world), else null. */
    readonly gold: GoldScores | null;
    /** Thumbnails of the frames the group's verdicts viewed of this video (a PNG strip beside the MP4). */
    readonly thumbnails: FrameStripRecord | null;
  }[];
  readonly verdicts: readonly VerdictMessage[];
  /** Pairwise: each successful comparison, `verdict` = its index in `verdicts`, with its agreement with gold. */
  readonly comparisons: readonly { readonly first: number; readonly second: number; readonly verdict: number; readonly gold: ComparisonGold | null }[];
  /** Pairwise, embedded world: the judge's agreement with gold over the group's comparisons; else null. */
  readonly judgeGold: JudgeGoldAgreement | null;
}

export interface RunSummary {
  readonly steps: number;
  readonly firstStep: number;
  readonly seconds: number;
  readonly heldOutBefore: GoldSummary | null;
  readonly heldOutAfter: GoldSummary | null;
  readonly rewardFirst: Record<string, number>;
  readonly rewardLast: Record<string, number>;
  readonly klLast: number;
  readonly maskedVideos: number;
  readonly droppedGroups: number;
  readonly failedJudgments: number;
  /** Pairwise, embedded world: the judge's agreement with gold (OA) pooled over the run's comparisons; null = none decided. */
  readonly judgeGoldAgreement: number | null;
  /** Over the run: reward mode, judgments per group, and per judgment the select_frames calls and frames viewed. */
  readonly judging: {
    readonly mode: 'pairwise' | 'pointwise';
    /** Judge versions that judged the run's groups (more than one after a swap). */
    readonly rmVersions: readonly string[];
    readonly judgmentsPerGroup: number;
    readonly toolCallsPerJudgment: number;
    readonly framesViewedPerJudgment: number;
  };
}

interface CoordinatorCheckpoint {
  readonly step: number;
  readonly sampler: PromptSamplerState;
  readonly tracker: StatTrackerState | null;
  /** The reward map of a calibrated RM swap that has not faded yet (absent: none). */
  readonly calibration?: RewardCalibratorState | null;
  readonly heldOutBefore: GoldSummary | null;
  /** The step monitor's state (absent in checkpoints written without a monitor). */
  readonly monitor?: unknown;
  /**
   * The generator's state at this step, when it keeps one (remote workers): the reference its `saveState` returned
   * (null when it cannot save), its update count and policy digest. Resume restores it, or refuses a generator that
   * serves another policy. Absent in checkpoints of in-process generators (their adapters are in the folder).
   */
  readonly generator?: CheckpointedGenerator | null;
}

/** What a checkpoint records of a generator that keeps its own state. */
interface CheckpointedGenerator {
  readonly ref: string | null;
  readonly policyUpdates: number | null;
  readonly policyDigest: string | null;
}

interface Rollout {
  readonly step: number;
  readonly prompts: readonly SampledPrompt[];
  readonly result: GenerateResult;
  readonly generateMs: number;
}

/** A step's rollout, judgments and update, and the next step's rollout when it was prefetched. */
interface StepCore {
  readonly current: Rollout;
  readonly groups: readonly GroupRewards[];
  readonly judgeMs: number;
  readonly advantages: ReturnType<typeof groupAdvantages>;
  readonly stats: UpdateStats | null;
  readonly updateMs: number;
  readonly next: Promise<Rollout> | null;
}

/** The step line's `auditTraining` field: the rewards trained on came with the audit judges (the guard's action). */
interface AuditTrainingRecord {
  readonly rule: HeldOutRule;
  readonly judges: readonly string[];
  /** Videos the training judge scored, those the audit judges together ranked lower, and those some audit judge failed on. */
  readonly videos: number;
  readonly lowered: number;
  readonly missing: number;
}

const DIMS = ['TA', 'MQ', 'VQ', 'overall'] as const;
/** β the guard's raise-beta starts from when the run trains with β = 0 (training.beta's default). */
const DEFAULT_GUARD_BETA = 0.01;
const finite = (xs: readonly number[]): number[] => xs.filter(Number.isFinite);

/**
 * The generator's state for a checkpoint at `step`: saved (`step-000120`) when it can save, else its update count;
 * null for a generator that keeps no state of its own (in-process: the adapters go into the checkpoint folder).
 */
async function checkpointGenerator(generator: TrainableGenerator, step: number): Promise<CheckpointedGenerator | null> {
  if (generator.saveState !== undefined) {
    try {
      const saved = await generator.saveState(`step-${String(step).padStart(6, '0')}`);
      return { ref: saved.ref, policyUpdates: saved.policyUpdates, policyDigest: saved.policyDigest };
    } catch (error) {
      if (!isVrGrpoError(error, 'NOT_SUPPORTED')) throw error;
    }
  }
  if (generator.policyUpdates === undefined) return null;
  const digest =
    generator.policyDigest === undefined
      ? null
      : await generator.policyDigest().catch((error: unknown) => {
          if (isVrGrpoError(error, 'NOT_SUPPORTED')) return null;
          throw error;
        });
  return { ref: null, policyUpdates: generator.policyUpdates(), policyDigest: digest };
}

/**
 * On resume: puts the generator back to the checkpoint's state (restore by reference, digest checked), or — when it
 * cannot restore — refuses one whose update count differs from the checkpoint's (GENERATOR_STATE_LOST): a worker ahead
 * of the checkpoint would silently train on from a policy the run's other state does not belong to.
 */
async function restoreGenerator(generator: TrainableGenerator, saved: CheckpointedGenerator, step: number, run: RunDir): Promise<void> {
  if (saved.ref !== null && generator.restoreState !== undefined) {
    const restored = await generator.restoreState(saved.ref);
    if (saved.policyDigest !== null && restored.policyDigest !== null && restored.policyDigest !== saved.policyDigest) {
      throw new VrGrpoError(
        'GENERATOR_STATE_LOST',
        `the generator restored from ${saved.ref} serves another policy than the checkpoint of step ${step} recorded`,
        {
          details: { step, ref: saved.ref, expected: saved.policyDigest, got: restored.policyDigest },
        },
      );
    }
    run.event('generator_restored', { step, ref: saved.ref, policyUpdates: restored.policyUpdates, policyDigest: restored.policyDigest });
    return;
  }
  const now = generator.policyUpdates?.() ?? null;
  if (saved.policyUpdates !== null && now !== saved.policyUpdates) {
    throw new VrGrpoError(
      'GENERATOR_STATE_LOST',
      `the generator serves a policy after ${String(now)} update(s), the checkpoint of step ${step} after ${saved.policyUpdates}, and it cannot restore that state` +
        (saved.ref === null ? ' (it saved none: start workers with --state-dir)' : ''),
      { details: { step, expected: saved.policyUpdates, got: now, ref: saved.ref } },
    );
  }
}

export class Coordinator {
  private state: CoordinatorState = 'ready';
  private readonly run: RunDir;
  private readonly sampler: PromptSampler;
  private readonly tracker: PerPromptStatTracker | null;
  private readonly calibrator: RewardCalibrator | null;
  /** The newest group per prompt, which a calibrated swap's new version shadow-scores. */
  private readonly recent: RecentGroups;
  /** Mean |advantage| the step would have had without the swap's reward map (null: no map active). */
  private uncalibratedAbsMean: number | null = null;
  /** The step's judge-uncertainty measurement (null: no pair was judged in both orders). */
  private uncertainty: UncertaintyAdjustment | null = null;
  /** How the step's rewards came with the audit judges (the guard's conservative or switch-to-auditors; null: not on). */
  private auditTraining: AuditTrainingRecord | null = null;
  /** Prompts drawn for steps not finished yet (the current one, a prefetched next one). */
  private readonly stepPrompts = new Map<number, readonly SampledPrompt[]>();
  private readonly settings: RewardSettings;
  private firstStep = 1;
  private heldOutBefore: GoldSummary | null = null;
  private restoredMonitor: unknown = null;
  /** RM versions of the last step's verdicts (a change resets the per-prompt statistics, by config). */
  private verdictVersions: string[] = [];

  private readonly gold: GoldEvaluation;

  /**
   * Reads what the run needs before it starts (the latest checkpoint on resume, the prompt file), creates the run
   * folder, and builds the coordinator. CHECKPOINT_NOT_FOUND when `resume` finds no checkpoint.
   */
  static async create(options: CoordinatorOptions): Promise<Coordinator> {
    const c = options.config;
    const run = await RunDir.open(options.runDir, options.onEvent);
    let saved: CoordinatorCheckpoint | null = null;
    if (options.resume === true) {
      saved = await readLatestCheckpoint(run.path);
      if (saved === null) throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no checkpoint to resume in ${run.path}`);
    }
    const seed = streamSeed(c.seed, 'prompts');
    const sampler =
      c.training.promptFile === null
        ? new WorldPromptSampler(c.world, seed, saved?.sampler)
        : new FilePromptSampler(readPromptFile(c.training.promptFile), seed, saved?.sampler);
    if (saved?.generator != null) await restoreGenerator(options.generator, saved.generator, saved.step, run);
    return new Coordinator(options, run, sampler, saved);
  }

  private constructor(
    private readonly o: CoordinatorOptions,
    run: RunDir,
    sampler: PromptSampler,
    saved: CoordinatorCheckpoint | null,
  ) {
    const c = o.config;
    this.run = run;
    this.sampler = sampler;
    this.gold = o.gold ?? NO_GOLD;
    if (saved !== null) {
      this.firstStep = saved.step + 1;
      this.heldOutBefore = saved.heldOutBefore;
      this.restoredMonitor = saved.monitor ?? null;
    }
    const a = c.training.advantage;
    this.tracker = a.perPromptTracker ? new PerPromptStatTracker(a.trackerBuffer, a.trackerMinCount, saved?.tracker ?? undefined) : null;
    const v = c.reward.onVersionChange;
    this.calibrator =
      v.calibrate === 'off'
        ? null
        : new RewardCalibrator({ method: v.calibrate, decayJudgments: v.calibrationDecayJudgments, promptFits: v.promptFits }, saved?.calibration ?? null);
    this.recent = new RecentGroups(this.calibrator === null ? 0 : v.shadowGroups);
    this.settings = rewardSettingsFromConfig(c);
  }

  /** The first step `runLoop` runs: 1, or the step after the checkpoint resumed from. */
  get startStep(): number {
    return this.firstStep;
  }

  get lifecycle(): CoordinatorState {
    return this.state;
  }

  /** Asks the loop to stop after the current step (a checkpoint is written). */
  stop(): void {
    if (this.state === 'running') this.state = 'stopping';
  }

  private stopRequested(): boolean {
    return this.state === 'stopping';
  }

  private async checkpoint(step: number): Promise<void> {
    const generator = await this.withGeneratorRetry(step, 'checkpoint', () => checkpointGenerator(this.o.generator, step));
    const state: CoordinatorCheckpoint = {
      step,
      sampler: this.sampler.state(),
      tracker: this.tracker?.state() ?? null,
      ...(this.calibrator?.state() == null ? {} : { calibration: this.calibrator.state() }),
      heldOutBefore: this.heldOutBefore,
      ...(this.o.monitor === undefined ? {} : { monitor: this.o.monitor.checkpointState() }),
      ...(generator === null ? {} : { generator }),
    };
    const policy = this.o.policyCheckpoints;
    const dir = this.run.writeCheckpoint(step, state, policy == null ? undefined : (d) => policy.save(d, step));
    this.run.event('checkpoint', { step, dir });
  }

  /**
   * The guard's answer to a confirmed hacking signal: the evidence in `guard/step-NNNNNN.json` (the audits that led to
   * it, the step's groups with their rewards and verdicts); with `act`, the policy rolled back to the checkpoint with the
   * best auditor score before the signal, then the learning rate lowered, β raised, or the run stopped. Every action is
   * a `guard` event and the step line's `guard` field (counted on /metrics).
   */
  private async actOnGuard(step: number, g: GuardRequest, current: Rollout, groups: readonly GroupRewards[]): Promise<Record<string, unknown>> {
    const evidence = join(RUN_LAYOUT.guard, `${stepFolder(step)}.json`);
    this.run.writeJson(evidence, {
      step,
      detector: g.detector,
      value: Number.isFinite(g.value) ? g.value : null,
      mode: g.mode,
      audits: g.evidence,
      groups: groups.map((gr, i) => ({
        prompt: current.prompts[i]?.text ?? '',
        rewards: gr.rewards,
        rmVersions: gr.rmVersions,
        verdicts: gr.verdicts.map((v) => ({ answer: v.answer, rmVersion: v.rmVersion })),
      })),
    });
    const base = { step, detector: g.detector, value: Number.isFinite(g.value) ? g.value : null, mode: g.mode, evidence };
    if (g.mode === 'warn') {
      this.run.event('guard', { ...base, action: 'warn' });
      this.o.log.warn({ step, detector: g.detector, evidence }, 'guard: reward hacking suspected (guard.mode warn: no action)');
      return { guard: { ...base, action: 'warn' } };
    }
    const notes: string[] = [];
    let rolledBackTo: number | null = null;
    const target = bestCheckpoint(this.checkpointSteps(), g.scores, g.step);
    if (target === null) notes.push('no checkpoint with an auditor score before the signal');
    else {
      try {
        await this.rollbackPolicy(target);
        rolledBackTo = target;
      } catch (error) {
        notes.push(`rollback to step ${target} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    let action = g.action;
    let training: { readonly learningRate: number; readonly beta: number } | null = null;
    if ((action === 'conservative' || action === 'switch-to-auditors') && this.o.monitor?.trainingAudit === undefined) {
      notes.push('no audit judges to train with: stopping instead');
      action = 'stop';
    }
    if (action === 'lower-lr' || action === 'raise-beta') {
      const adjust = this.o.generator.adjustTraining?.bind(this.o.generator);
      if (adjust === undefined) {
        notes.push('the generator cannot change its learning rate or beta: stopping instead');
        action = 'stop';
      } else {
        try {
          training = await adjust(action === 'lower-lr' ? { learningRateFactor: g.factor } : { betaFactor: 1 / g.factor, betaFloor: DEFAULT_GUARD_BETA });
        } catch (error) {
          notes.push(`${action} failed (${error instanceof Error ? error.message : String(error)}): stopping instead`);
          action = 'stop';
        }
      }
    }
    if (action === 'stop') this.stop();
    const detail = { ...base, action, rolledBackTo, ...(training === null ? {} : { training }), ...(notes.length === 0 ? {} : { notes }) };
    this.run.event('guard', detail);
    this.o.log.warn(detail, 'guard: reward hacking confirmed; acting');
    return { guard: detail };
  }

  /** Steps of the run's checkpoints (folders `checkpoints/step-NNNNNN/` with a state file). */
  private checkpointSteps(): number[] {
    const root = join(this.run.path, RUN_LAYOUT.checkpoints);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .map((name) => /^step-(\d{6,})$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null && existsSync(checkpointFiles(join(root, m[0])).state))
      .map((m) => Number(m[1]));
  }

  /** Puts the policy of the checkpoint of `step` back: the worker's saved state, or the adapters in its folder. */
  private async rollbackPolicy(step: number): Promise<void> {
    const dir = join(this.run.path, RUN_LAYOUT.checkpoints, stepFolder(step));
    const files = checkpointFiles(dir);
    const saved = JSON.parse(await readFile(files.state, 'utf8')) as CoordinatorCheckpoint;
    if (saved.generator?.ref != null && this.o.generator.restoreState !== undefined) {
      await restoreGenerator(this.o.generator, saved.generator, step, this.run);
      return;
    }
    const policy = this.o.policyCheckpoints;
    if (policy?.restore === undefined || !existsSync(files.policy)) {
      throw new VrGrpoError('NOT_SUPPORTED', `the checkpoint of step ${step} holds no policy this generator can restore`, { details: { step } });
    }
    policy.restore(files.policy);
  }

  private evaluate(): GoldSummary | null {
    return this.gold.heldOut();
  }

  /**
   * A generator call outside a step (the checkpoint's save), retried like a step by `generator.worker.onFailure`: a
   * worker lost during it (GENERATOR_UNAVAILABLE) is recovered and the call made again.
   */
  private async withGeneratorRetry<T>(step: number, call: string, run: () => Promise<T>): Promise<T> {
    const w = this.o.config.generator.worker;
    const recover = this.o.generator.recover?.bind(this.o.generator);
    const maxAttempts = w.onFailure === 'retry' && recover !== undefined ? w.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (!isVrGrpoError(e, 'GENERATOR_UNAVAILABLE') || recover === undefined || attempt >= maxAttempts) throw e;
        this.run.event('generator_retry', { step, attempt, maxAttempts, code: e.code, message: e.message, call });
        this.o.log.warn({ step, attempt, call, err: e.message }, 'generator lost during a call: reconnecting, then calling again');
        await recover();
        this.run.event('generator_recovered', { step, attempt });
      }
    }
  }

  /** The prompts of a step: drawn once, so a retried step (or a discarded prefetch) uses the same ones. */
  private promptsOf(step: number): readonly SampledPrompt[] {
    let prompts = this.stepPrompts.get(step);
    if (prompts === undefined) {
      prompts = this.sampler.next(this.o.config.training.promptsPerStep);
      this.stepPrompts.set(step, prompts);
    }
    return prompts;
  }

  private async rollout(step: number): Promise<Rollout> {
    const c = this.o.config;
    const prompts = this.promptsOf(step);
    const t0 = performance.now();
    const w = c.generator.worker;
    const result = await this.o.generator.generate({
      prompts: prompts.map((p) => p.text),
      groupSize: c.training.groupSize,
      seed: streamSeed(c.seed, 'rollout', step),
      // By reference the worker writes the videos under the shared artifact root and only their URIs come back.
      ...(w.delivery === 'reference' ? { delivery: { mode: 'reference', judgeCopy: w.judgeCopy } } : {}),
    });
    return { step, prompts, result, generateMs: performance.now() - t0 };
  }

  /**
   * One step's rollout, judging and update, retried by `generator.worker.onFailure`: when the generator is lost
   * (GENERATOR_UNAVAILABLE: a remote worker killed mid-rollout or mid-update) and it can `recover()`, the step is done
   * again from its rollout — same prompts, same seed — on the recovered worker, up to `maxAttempts` times; rollouts of
   * the lost worker are gone, so a prefetched next rollout is dropped too. Without retry, or when recovery fails
   * (GENERATOR_UNAVAILABLE after the reconnect timeout, GENERATOR_STATE_LOST), the error ends the run.
   */
  private async attemptStep(step: number, total: number, prefetched: Promise<Rollout> | null): Promise<StepCore> {
    const w = this.o.config.generator.worker;
    const recover = this.o.generator.recover?.bind(this.o.generator);
    const retry = w.onFailure === 'retry' && recover !== undefined;
    const maxAttempts = retry ? w.maxAttempts : 1;
    let pending = prefetched;
    for (let attempt = 1; ; attempt++) {
      const tracker = this.tracker?.state() ?? null;
      const calibration = this.calibrator?.state() ?? null;
      const versions = this.verdictVersions;
      try {
        return await this.stepOnce(step, total, pending);
      } catch (e) {
        pending = null;
        if (tracker !== null) this.tracker?.restore(tracker);
        this.calibrator?.restore(calibration);
        this.verdictVersions = versions;
        const lost = isVrGrpoError(e) && e.code === 'GENERATOR_UNAVAILABLE';
        if (!lost || !retry || attempt >= maxAttempts) throw e;
        this.run.event('generator_retry', { step, attempt, maxAttempts, code: e.code, message: e.message, call: e.details.id ?? null });
        this.o.log.warn({ step, attempt, maxAttempts, err: e.message }, 'generator lost during the step: reconnecting, then redoing the step');
        await recover();
        this.run.event('generator_recovered', { step, attempt });
      }
    }
  }

  /** The step once; on failure, a prefetched next rollout is awaited and released before the error propagates. */
  private async stepOnce(step: number, total: number, prefetched: Promise<Rollout> | null): Promise<StepCore> {
    const c = this.o.config;
    let next: Promise<Rollout> | null = null;
    try {
      let current = await (prefetched ?? this.rollout(step));
      const tJudge = performance.now();
      const judging = Promise.all(
        current.prompts.map((p, g) => {
          const videos = current.result.videos.filter((v) => v.promptIndex === g).map((v) => v.video);
          return collectGroupRewards(this.o.judge, p.text, videos, this.settings, Rng.fromSeed(streamSeed(c.seed, 'judging', step, g)));
        }),
      );
      // Pipelining: roll out the next step while this one is judged — but never across a checkpoint, so a resume
      // regenerates exactly what an uninterrupted run would have.
      const prefetch = c.training.pipelineStaleness > 0 && step < total && step % c.training.checkpointEvery !== 0;
      if (prefetch) {
        // Let the requests (and their inline videos) reach the reward servers before the rollout blocks this thread.
        await new Promise((resolve) => setImmediate(resolve));
        await this.o.judge.whenDelivered?.();
        next = this.rollout(step + 1);
        // Handled here, so a rollout that fails while this step is judged is not an unhandled rejection; the
        // error still reaches whoever awaits `next` (the next step, or the clean-up below).
        next.catch(() => undefined);
      }
      const groups = await judging;
      const judgeMs = performance.now() - tJudge;
      await this.o.monitor?.beforeUpdate?.({
        step,
        prompts: current.prompts.map((p) => p.text),
        videos: current.prompts.map((_, g) => current.result.videos.filter((v) => v.promptIndex === g).map((v) => v.video)),
        groups,
      });
      // Videos held by reference are released with the update: the sampled group's files are kept first.
      current = await this.keepSampledGroup(step, current);
      const tUpdate = performance.now();
      const advantages = await this.advantages(current, groups);
      const flat = advantages.advantages.flat();
      let stats: UpdateStats | null = null;
      if (flat.some((a) => a !== null)) stats = await this.o.generator.update([{ rolloutId: current.result.rolloutId, advantages: flat }]);
      else await this.o.generator.discard([current.result.rolloutId]);
      const updateMs = performance.now() - tUpdate;
      return { current, groups, judgeMs, advantages, stats, updateMs, next };
    } catch (e) {
      if (next !== null) {
        const orphan = await next.catch(() => null);
        if (orphan !== null) await this.o.generator.discard([orphan.result.rolloutId]).catch(() => undefined);
      }
      throw e;
    }
  }

  async runLoop(): Promise<RunSummary> {
    if (this.state !== 'ready') throw new VrGrpoError('INVALID_STATE', `coordinator is ${this.state}`, { details: { state: this.state } });
    this.state = 'running';
    const c = this.o.config;
    const total = this.o.steps ?? c.training.steps;
    const started = performance.now();
    if (this.firstStep === 1) {
      this.run.writeJson(RUN_LAYOUT.config, c);
      this.run.event('start', { steps: total, generator: this.o.generator.name });
      this.heldOutBefore = this.evaluate();
      if (this.heldOutBefore !== null) {
        const before: StepMetrics = { step: 0, heldOutGoldAccuracy: this.heldOutBefore.accuracy, heldOut: this.heldOutBefore };
        this.run.appendStep(before);
        this.o.onStep?.(before);
      }
    } else {
      this.run.truncateMetricsAfter(this.firstStep - 1);
      this.run.event('resume', { fromStep: this.firstStep });
    }
    await this.o.monitor?.start({ firstStep: this.firstStep, restored: this.restoredMonitor, event: (kind, detail) => this.run.event(kind, detail) });
    const first: Record<string, number> = {};
    let last: Record<string, number> = {};
    let klLast = 0;
    let masked = 0;
    let dropped = 0;
    let failed = 0;
    const judging = { groups: 0, judgments: 0, toolCalls: 0, framesViewed: 0, rmVersions: new Set<string>() };
    let judgeGoldRun = emptyAgreement();
    let next: Promise<Rollout> | null = null;
    let step = this.firstStep;
    try {
      for (; step <= total; step++) {
        const prefetched = next;
        next = null;
        const attempt = await this.attemptStep(step, total, prefetched);
        next = attempt.next;
        this.stepPrompts.delete(step);
        const { current, groups, judgeMs, advantages, stats, updateMs } = attempt;
        const reports = current.prompts.map((_, g) => this.goldOfGroup(current, g));
        const judged = reports.map((r, g) => judgedAgainstGold(r, groups[g]));
        const judgeGold = judged.reduce((sum, j) => mergeAgreement(sum, j.summary), emptyAgreement());
        judgeGoldRun = mergeAgreement(judgeGoldRun, judgeGold);
        const metrics = this.metrics(step, current, groups, advantages, stats, { generateMs: current.generateMs, judgeMs, updateMs }, reports, judgeGold);
        if (this.o.monitor !== undefined) {
          Object.assign(
            metrics,
            await this.o.monitor.observeStep({ step, metrics, rewardsByDimension: rewardsByDimension(groups), rmVersions: metrics.rmVersions ?? [] }),
          );
        }
        const guard = this.o.monitor?.guardDecision?.() ?? null;
        if (guard !== null) {
          Object.assign(metrics, await this.actOnGuard(step, guard, current, groups));
          // A rollback changed the policy: a rollout prefetched from the old one is not this policy's to train on.
          if (guard.mode === 'act' && next !== null) {
            const orphan = await next.catch(() => null);
            if (orphan !== null) await this.o.generator.discard([orphan.result.rolloutId]).catch(() => undefined);
            next = null;
          }
        }
        masked += advantages.maskedVideos;
        dropped += advantages.droppedGroups.length;
        failed += groups.reduce((s, g) => s + g.failedJudgments, 0);
        for (const g of groups) {
          judging.groups += 1;
          judging.judgments += g.judgments;
          judging.toolCalls += g.toolCalls;
          judging.framesViewed += g.framesViewed;
          for (const v of g.rmVersions) judging.rmVersions.add(v);
        }
        klLast = stats?.klLoss ?? klLast;
        const rewards: Record<string, number> = { ...metrics.reward };
        if (Object.keys(first).length === 0) Object.assign(first, rewards);
        last = rewards;
        if (c.training.evalEvery > 0 && step % c.training.evalEvery === 0 && step < total) {
          const h = this.evaluate();
          if (h !== null) Object.assign(metrics, { heldOutGoldAccuracy: h.accuracy, heldOut: h });
        }
        if (c.training.tracesEvery > 0 && step % c.training.tracesEvery === 0) {
          // Pairwise lines carry the comparison's group indices (`first` shown as video 1) and its agreement with gold.
          const pairs = judged[0]?.comparisons ?? [];
          for (const v of groups[0]?.verdicts ?? []) {
            const pair = pairs.find((p) => p.verdict === v);
            this.run.append(RUN_LAYOUT.traces, {
              step,
              group: 0,
              prompt: current.prompts[0]?.text ?? '',
              ...(pair === undefined ? {} : { first: pair.first, second: pair.second, gold: pair.gold }),
              verdict: v,
            });
          }
        }
        if (c.training.videosEvery > 0 && step % c.training.videosEvery === 0 && this.o.media !== undefined) {
          mkdirSync(join(this.run.path, RUN_LAYOUT.videos, stepFolder(step)), { recursive: true });
          const members = current.result.videos.filter((x) => x.promptIndex === 0);
          // By reference, keepSampledGroup already copied the files here; frames are encoded.
          for (const v of members) if (!isVideoFile(v.video)) await this.o.media.encodeMp4(v.video, this.run.file(stepVideoFile(step, v.id, '.mp4')));
          const thumbnails = await this.writeThumbnails(step, members, groups[0], this.o.media);
          this.o.onSampledGroup?.(this.sampledGroup(step, current, groups[0], advantages.advantages[0] ?? [], judged[0] ?? null, thumbnails));
        }
        if (step === total) {
          const h = this.evaluate();
          if (h !== null) Object.assign(metrics, { heldOutGoldAccuracy: h.accuracy, heldOut: h });
        }
        this.run.appendStep(metrics);
        this.o.onStep?.(metrics);
        const stopping = this.stopRequested();
        if (step % c.training.checkpointEvery === 0 || step === total || stopping) await this.checkpoint(step);
        if (stopping) {
          this.run.event('stopped', { step });
          step += 1;
          break;
        }
      }
    } catch (e) {
      this.run.event('failed', { step, ...(isVrGrpoError(e) ? { code: e.code } : {}), message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      if (next !== null) {
        const pending = await next.catch(() => null);
        // Best effort: after a lost worker there is nothing left to discard, and the step's error is what matters.
        if (pending !== null) await this.o.generator.discard([pending.result.rolloutId]).catch(() => undefined);
      }
      this.state = 'stopped';
    }
    const heldOutAfter = this.run.readSteps().at(-1)?.heldOut ?? null;
    this.run.event('end', { step: step - 1 });
    return {
      steps: step - this.firstStep,
      firstStep: this.firstStep,
      seconds: (performance.now() - started) / 1000,
      heldOutBefore: this.heldOutBefore,
      heldOutAfter,
      rewardFirst: first,
      rewardLast: last,
      klLast,
      maskedVideos: masked,
      droppedGroups: dropped,
      failedJudgments: failed,
      judgeGoldAgreement: judgeGoldRun.byDimension.OA.accuracy,
      judging: {
        mode: c.reward.mode,
        rmVersions: [...judging.rmVersions].sort(),
        judgmentsPerGroup: judging.groups === 0 ? 0 : judging.judgments / judging.groups,
        toolCallsPerJudgment: judging.judgments === 0 ? 0 : judging.toolCalls / judging.judgments,
        framesViewedPerJudgment: judging.judgments === 0 ? 0 : judging.framesViewed / judging.judgments,
      },
    };
  }

  /**
   * On a step whose sampled group (prompt 0) is shown and whose videos are held by reference: copies its MP4s (and
   * judge copies) into the run folder before the update releases the worker's files, and returns the rollout with
   * those videos pointing at the copies. Nothing is decoded; other groups are never fetched.
   */
  private async keepSampledGroup(step: number, current: Rollout): Promise<Rollout> {
    const every = this.o.config.training.videosEvery;
    if (every <= 0 || step % every !== 0 || this.o.media === undefined) return current;
    if (!current.result.videos.some((v) => v.promptIndex === 0 && isVideoFile(v.video))) return current;
    mkdirSync(join(this.run.path, RUN_LAYOUT.videos, stepFolder(step)), { recursive: true });
    const videos: GeneratedVideo[] = [];
    for (const v of current.result.videos) {
      if (v.promptIndex !== 0 || !isVideoFile(v.video)) {
        videos.push(v);
        continue;
      }
      const target = this.run.file(stepVideoFile(step, v.id, '.mp4'));
      await copyFile(fileURLToPath(v.video.uri), target);
      let judge = v.video.judge;
      if (judge !== null) {
        const judgeTarget = this.run.file(stepVideoFile(step, v.id, '.judge.mp4'));
        await copyFile(fileURLToPath(judge.uri), judgeTarget);
        judge = { ...judge, uri: pathToFileURL(judgeTarget).href };
      }
      videos.push({ ...v, video: { ...v.video, uri: pathToFileURL(target).href, judge } });
    }
    return { ...current, result: { ...current.result, videos } };
  }

  /**
   * Writes, beside the sampled group's MP4s, one PNG strip per video of the frames any of the group's verdicts viewed
   * (`v3.frames.png`); per video its record, or null when nothing was viewed. Pairwise verdicts view (first, second),
   * pointwise ones every video in group order.
   */
  private async writeThumbnails(
    step: number,
    members: readonly GenerateResult['videos'][number][],
    group: GroupRewards | undefined,
    media: Media,
  ): Promise<(FrameStripRecord | null)[]> {
    const viewed = members.map(() => new Set<number>());
    const add = (i: number, frames: readonly number[] | undefined): void => {
      for (const f of frames ?? []) viewed[i]?.add(f);
    };
    const paired = new Set(group?.judged.map((j) => j.verdict));
    for (const j of group?.judged ?? []) {
      add(j.first, j.verdict.framesViewed[0]);
      add(j.second, j.verdict.framesViewed[1]);
    }
    for (const v of group?.verdicts ?? []) if (!paired.has(v) && v.mode === 'pointwise') v.framesViewed.forEach((frames, i) => add(i, frames));
    const records: (FrameStripRecord | null)[] = [];
    for (const [i, m] of members.entries()) {
      const frames = stripFrames(viewed[i] ?? [], judgedFrameCount(m.video));
      if (frames.length === 0) {
        records.push(null);
        continue;
      }
      // By reference, only the viewed frames of the file the judge saw (its judge copy when there is one) are decoded.
      const strip = isVideoFile(m.video)
        ? encodeFrameStrip(
            await media.decode(fileURLToPath(m.video.judge?.uri ?? m.video.uri), { indices: frames }),
            frames.map((_, k) => k),
          )
        : encodeFrameStrip(m.video, frames);
      const src = stepVideoFile(step, m.id, '.frames.png');
      writeFileSync(join(this.run.path, src), strip.png);
      records.push({ src, frames, tileWidth: strip.tileWidth, tileHeight: strip.tileHeight });
    }
    return records;
  }

  private sampledGroup(
    step: number,
    current: Rollout,
    group: GroupRewards | undefined,
    adv: readonly (number | null)[],
    judged: JudgedGroup | null,
    thumbnails: readonly (FrameStripRecord | null)[],
  ): SampledGroup {
    const prompt = current.prompts[0];
    const members = current.result.videos.filter((x) => x.promptIndex === 0);
    const comparisons =
      judged?.comparisons.filter((c) => c.index >= 0).map((c) => ({ first: c.first, second: c.second, verdict: c.index, gold: c.gold })) ?? [];
    return {
      step,
      prompt: prompt?.text ?? '',
      videos: members.map((v, i) => ({
        id: v.id,
        mp4: stepVideoFile(step, v.id, '.mp4'),
        reward: group?.rewards[i] ?? NaN,
        perDimension: {
          TA: group?.perDimension.TA[i] ?? NaN,
          MQ: group?.perDimension.MQ[i] ?? NaN,
          VQ: group?.perDimension.VQ[i] ?? NaN,
          overall: group?.perDimension.overall[i] ?? NaN,
        },
        advantage: adv[i] ?? null,
        goldAccuracy: judged?.reports[i]?.accuracy ?? null,
        frameCount: judgedFrameCount(v.video),
        gold: judged?.gold[i] ?? null,
        thumbnails: thumbnails[i] ?? null,
      })),
      verdicts: group?.verdicts ?? [],
      comparisons,
      judgeGold: judged === null || judged.summary.comparisons === 0 ? null : judged.summary,
    };
  }

  /** Gold reports of group g's videos in group order (null: no prompt spec or no scene latent). */
  private goldOfGroup(current: Rollout, g: number): (GoldReport | null)[] {
    const prompt = current.prompts[g];
    return current.result.videos.filter((v) => v.promptIndex === g).map((v) => (prompt === undefined ? null : this.gold.videoReport(prompt, v)));
  }

  private async advantages(current: Rollout, groups: readonly GroupRewards[]): Promise<ReturnType<typeof groupAdvantages>> {
    const a = this.o.config.training.advantage;
    // A new RM version scores on its own scale: its rewards are mapped onto the old scale (a calibrated swap, fitted on
    // the anchor set and the recent groups judged by both), else the per-prompt statistics gathered under the old one
    // are reset (by config).
    const versions = [...new Set(groups.flatMap((g) => [...g.rmVersions]))].sort();
    const changed = this.verdictVersions.length > 0 && versions.length > 0 && versions.join('\n') !== this.verdictVersions.join('\n');
    // A version not seen in the previous step is a swap (the step after a swap landed mid-step, with only the new
    // version left, is not another one).
    const added = changed ? versions.filter((v) => !this.verdictVersions.includes(v)) : [];
    if (added.length > 0 && this.calibrator !== null) {
      const pair = (await this.o.monitor?.rewardModelChanged?.(current.step, versions)) ?? null;
      const shadow = await shadowScore(this.o.judge, this.recent.judgedWithout(added), this.settings, {
        seed: this.o.config.seed,
        step: current.step,
        newVersions: added,
      });
      const outcome = this.calibrator.swapped(pair, added, shadow.groups);
      this.run.event('reward_calibration', {
        step: current.step,
        from: this.verdictVersions,
        to: versions,
        shadow: { groups: shadow.groups.length, skipped: shadow.skipped, judgments: shadow.judgments },
        ...outcome,
      });
      if (!outcome.applied) this.o.log.warn({ step: current.step, reason: outcome.reason }, 'RM version changed; rewards not calibrated');
    }
    // While a calibrated map is active the statistics stay: the new version's rewards arrive on the old scale.
    if (changed && !(this.calibrator?.active ?? false) && this.tracker !== null && this.o.config.reward.onVersionChange.resetPromptStats) {
      this.tracker.clear();
      this.run.event('prompt_stats_reset', { step: current.step, rmVersions: versions });
    }
    if (versions.length > 0) this.verdictVersions = versions;
    const active = this.calibrator?.active ?? false;
    const trackerBefore = active ? (this.tracker?.state() ?? null) : null;
    const rewards = groups.map((g, i) =>
      this.calibrator?.appliesTo(g.rmVersions) === true ? this.calibrator.map(g.rewards, current.prompts[i]?.text) : g.rewards,
    );
    groups.forEach((g, i) =>
      this.recent.remember({
        step: current.step,
        prompt: current.prompts[i]?.text ?? '',
        videos: current.result.videos.filter((v) => v.promptIndex === i).map((v) => v.video),
        rewards: rewards[i] ?? [],
        rmVersions: g.rmVersions,
      }),
    );
    // After the guard's conservative or switch-to-auditors action the audit judges order each group too (worst case
    // with the training judge, or alone); the calibrated rewards above stay what later swaps are fitted on.
    const audit = this.o.monitor?.trainingAudit?.(current.step) ?? null;
    this.auditTraining = null;
    let trained: readonly (readonly number[])[] = rewards;
    if (audit !== null) {
      const combined = rewards.map((own, i) => heldOutRewards(own, audit.groups[i] ?? [], audit.rule));
      trained = combined.map((x) => x.rewards);
      this.auditTraining = {
        rule: audit.rule,
        judges: [...audit.judges],
        videos: finite(rewards.flat()).length,
        lowered: combined.reduce((s, x) => s + x.lowered, 0),
        missing: combined.reduce((s, x) => s + x.missing, 0),
      };
    }
    const normalised = this.normalise(current, trained, this.tracker);
    // Groups whose pairs flip with the order they were shown in: the judge disagrees with itself there.
    const r = this.o.config.reward;
    const uncertainty = applyJudgeUncertainty(
      normalised.advantages,
      groups.map((g) => ({ comparisons: orderedJudgments(g.judged) })),
      { policy: r.uncertainty.policy, threshold: r.uncertainty.threshold, weights: r.weights },
    );
    this.uncertainty = uncertainty.measured === 0 ? null : uncertainty;
    const result: ReturnType<typeof groupAdvantages> = { ...normalised, advantages: uncertainty.advantages };
    // The jump a swap would have caused: the same step, its rewards unmapped, on a copy of the statistics before it.
    this.uncalibratedAbsMean = null;
    if (active) {
      const shadow = trackerBefore === null ? null : new PerPromptStatTracker(a.trackerBuffer, a.trackerMinCount, trackerBefore);
      const raw = this.normalise(
        current,
        groups.map((g) => g.rewards),
        shadow,
      );
      this.uncalibratedAbsMean = mean(
        raw.advantages
          .flat()
          .filter((x): x is number => x !== null)
          .map(Math.abs),
      );
    }
    return result;
  }

  /** Group-relative advantages of `rewards`, or (with a tracker) normalised against each prompt's history. */
  private normalise(current: Rollout, rewards: readonly (readonly number[])[], tracker: PerPromptStatTracker | null): ReturnType<typeof groupAdvantages> {
    const a = this.o.config.training.advantage;
    if (tracker === null) return groupAdvantages(rewards, { std: a.std, clip: a.clip, epsilon: a.epsilon });
    return trackedAdvantages(
      tracker,
      current.prompts.map((p) => p.text),
      rewards,
      a,
    );
  }

  private metrics(
    step: number,
    current: Rollout,
    groups: readonly GroupRewards[],
    adv: ReturnType<typeof groupAdvantages>,
    stats: UpdateStats | null,
    timing: { generateMs: number; judgeMs: number; updateMs: number },
    goldReports: readonly (readonly (GoldReport | null)[])[],
    judgeGold: JudgeGoldAgreement,
  ): StepMetrics {
    const reward: Record<string, number> = { combined: mean(finite(groups.flatMap((g) => [...g.rewards]))) };
    const rewardStd: Record<string, number> = { combined: std(finite(groups.flatMap((g) => [...g.rewards]))) };
    for (const d of DIMS) {
      const xs = finite(groups.flatMap((g) => [...g.perDimension[d]]));
      // A dimension no verdict of the step gave (a judge answering overall only) is left out: "not given", not 0.
      if (xs.length === 0) continue;
      reward[d] = mean(xs);
      rewardStd[d] = std(xs);
    }
    // Gold scores exist only for prompts of the world's grammar and videos with a scene latent.
    const gold = goldReports.flatMap((reports) => reports.filter((r): r is GoldReport => r !== null));
    const advValues = adv.advantages.flat().filter((x): x is number => x !== null);
    const hallucinations: Record<string, number> = {};
    for (const g of groups) for (const [k, v] of Object.entries(g.hallucinations)) hallucinations[k] = (hallucinations[k] ?? 0) + v;
    const failuresByCode: Record<string, number> = {};
    for (const g of groups) for (const code of g.failureCodes) failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
    const judgments = groups.reduce((s, g) => s + g.judgments, 0);
    return {
      step,
      prompts: current.prompts.length,
      videos: current.result.videos.length,
      reward,
      rewardStd,
      goldAccuracy: gold.length === 0 ? null : mean(gold.map((r) => r.accuracy)),
      goldQuality: gold.length === 0 ? null : mean(gold.map((r) => r.quality)),
      advantageAbsMean: mean(advValues.map(Math.abs)),
      ...(this.uncalibratedAbsMean === null ? {} : { advantageAbsMeanUncalibrated: this.uncalibratedAbsMean }),
      ...(this.auditTraining === null ? {} : { auditTraining: { ...this.auditTraining, judges: [...this.auditTraining.judges] } }),
      ...(this.uncertainty === null
        ? {}
        : {
            judgeUncertainty: {
              measuredGroups: this.uncertainty.measured,
              shrunkGroups: this.uncertainty.shrunk,
              droppedGroups: this.uncertainty.dropped,
              orderFlipShare: this.uncertainty.meanFlipShare,
              selfDisagreement: this.uncertainty.meanSelfDisagreement,
            },
          }),
      zeroStdRatio: groups.length === 0 ? 0 : adv.zeroStdGroups / groups.length,
      maskedVideos: adv.maskedVideos,
      droppedGroups: adv.droppedGroups.length,
      judgments,
      failedJudgments: groups.reduce((s, g) => s + g.failedJudgments, 0),
      failuresByCode,
      framesViewedPerJudgment: judgments === 0 ? 0 : groups.reduce((s, g) => s + g.framesViewed, 0) / judgments,
      toolCallsPerJudgment: judgments === 0 ? 0 : groups.reduce((s, g) => s + g.toolCalls, 0) / judgments,
      ...judgeGoldFields(judgeGold),
      hallucinations,
      rmVersions: [...new Set(groups.flatMap((g) => [...g.rmVersions]))],
      // One entry per group: the RM version behind all of its rewards (a group never mixes versions; groups of one
      // step may differ when a swap lands mid-step).
      groupRmVersions: groups.map((g) => [...g.rmVersions].sort().join('+')),
      kl: stats?.klLoss ?? null,
      approxKl: stats?.approxKl ?? null,
      policyLoss: stats?.policyLoss ?? null,
      clipFracHigh: stats?.clipFracHigh ?? null,
      clipFracLow: stats?.clipFracLow ?? null,
      ratioMean: stats?.ratioMean ?? null,
      ratioStd: stats?.ratioStd ?? null,
      onPolicyMaxRatioDeviation: stats?.onPolicyMaxRatioDeviation ?? null,
      gradNorm: stats?.gradNorm ?? null,
      learningRate: stats?.learningRate ?? null,
      timing,
    };
  }
}

/** A group's pairwise comparisons against gold (see `judgedAgainstGold`). */
interface JudgedGroup {
  /** Gold reports per video of the group; null where unknown. */
  readonly reports: readonly (GoldReport | null)[];
  /** Gold scores per video of the group; null where unknown. */
  readonly gold: readonly (GoldScores | null)[];
  readonly summary: JudgeGoldAgreement;
  /** `index`: the verdict's index in the group's verdicts. */
  readonly comparisons: readonly {
    readonly first: number;
    readonly second: number;
    readonly verdict: VerdictMessage;
    readonly index: number;
    readonly gold: ComparisonGold | null;
  }[];
}

/**
 * A group's pairwise comparisons against gold: gold scores per video, each comparison with its verdict's index in the
 * group's verdicts and its agreement, and the group's summary (empty in pointwise mode or without gold).
 */
function judgedAgainstGold(reports: readonly (GoldReport | null)[], group: GroupRewards | undefined): JudgedGroup {
  const gold = reports.map((r) => (r === null ? null : goldScores(r)));
  const judged = group?.judged ?? [];
  const { summary, perComparison } = judgeGoldAgreement(
    judged.map((j) => ({ first: j.first, second: j.second, answer: j.verdict.answer })),
    gold,
  );
  const verdicts = group?.verdicts ?? [];
  return {
    reports,
    gold,
    summary,
    comparisons: judged.map((j, k) => ({
      first: j.first,
      second: j.second,
      verdict: j.verdict,
      index: verdicts.indexOf(j.verdict),
      gold: perComparison[k] ?? null,
    })),
  };
}

/**
 * The step record's judge-vs-gold fields over all the step's comparisons (none in pointwise mode or without gold):
 * OA agreement, per-dimension agreement, and the OA comparisons decided and skipped as gold ties.
 */
function judgeGoldFields(a: JudgeGoldAgreement): Record<string, unknown> {
  if (a.comparisons === 0) return {};
  const byDimension: Record<string, number> = {};
  for (const [d, x] of Object.entries(a.byDimension)) if (x.accuracy !== null) byDimension[d] = x.accuracy;
  return {
    judgeGoldAgreement: a.byDimension.OA.accuracy,
    judgeGoldAgreementByDimension: byDimension,
    judgeGoldDecided: a.byDimension.OA.decided,
    judgeGoldTies: a.byDimension.OA.goldTies,
  };
}

/** Per dimension, the per-video rewards of a step's groups in group order (NaN = masked). */
function rewardsByDimension(groups: readonly GroupRewards[]): Record<string, number[]> {
  const out: Record<string, number[]> = { combined: groups.flatMap((g) => [...g.rewards]) };
  for (const d of DIMS) out[d] = groups.flatMap((g) => [...g.perDimension[d]]);
  return out;
}

/** The coordinator's state at the run's latest checkpoint, or null before the first one. */
async function readLatestCheckpoint(runDir: string): Promise<CoordinatorCheckpoint | null> {
  const dir = latestCheckpointDir(runDir);
  return dir === null ? null : (JSON.parse(await readFile(checkpointFiles(dir).state, 'utf8')) as CoordinatorCheckpoint);
}

/** Loads the adapters and optimizer state of a run's latest checkpoint (for building the generator on resume). */
export function loadResumeState(runDir: string): AdapterState | null {
  const latest = latestCheckpointDir(runDir);
  const dir = latest === null ? null : checkpointFiles(latest).policy;
  if (dir === null || !existsSync(dir)) return null;
  return readAdapterState(dir);
}
