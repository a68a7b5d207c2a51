/**
 * A training run with an owner: from the config to a running Coordinator — the generator (in process, or a remote
 * worker), the reward judge (given, configured servers, or local reward-server child processes), the run monitor and
 * the live monitoring (dashboard and /metrics, or metrics in memory only) — and back down again. The CLI's `train`,
 * the benches and the soak build their runs here, so a run is wired in one place.
 *
 * `TrainingJob.create` does the I/O; `close()` runs every cleanup step even when one of them fails (the failures are
 * thrown together afterwards), in the reverse order of creation.
 */
import { VrGrpoError } from '../errors/index.js';
import type { Logger } from '../common/logger.js';
import type { Config } from '../config/index.js';
import { AuditMonitor } from '../coordinator/audit-monitor.js';
import { Coordinator, loadResumeState, type CoordinatorOptions, type RunSummary, type StepMetrics, type StepMonitor } from '../coordinator/coordinator.js';
import { worldGold } from '../coordinator/gold.js';
import { startLocalRewardServers } from '../coordinator/local-reward-server.js';
import { rewardSettingsFromConfig, type JudgeClient } from '../coordinator/reward-collector.js';
import { RunMonitor } from '../coordinator/run-monitor.js';
import { combineMonitors } from '../coordinator/step-monitors.js';
import { readAdapterState } from '../generator/checkpoint.js';
import { EmbeddedGenerator, trainerOptionsFrom, type TrainableGenerator } from '../generator/index.js';
import { ReconnectingGenerator, ShardedGenerator } from '../generator/remote/index.js';
import type { Media } from '../media/index.js';
import { CoordinatorMetrics } from '../metrics/index.js';
import { RewardClientPool } from '../reward-client/pool.js';
import { Teardown } from '../common/teardown.js';
import { startTrainMonitoring, type TrainMonitoring } from './monitoring.js';

/** Where the run's judgments come from. */
export type JudgeSource =
  /** `reward.servers`, else `reward.localServers` local reward-server child processes (the default). */
  | { readonly kind: 'config' }
  /** A pool the caller owns and closes (a bench or the soak sharing its servers across runs). */
  | { readonly kind: 'pool'; readonly pool: RewardClientPool };

/** How the run is watched. */
export type MonitoringMode =
  /** The dashboard, /metrics and /healthz on `monitoring.http` (when enabled there), fed by the run. */
  | { readonly kind: 'http'; readonly port?: number }
  /** Prometheus metrics and the run monitor in memory only (no port). */
  | { readonly kind: 'in-memory' }
  /** No run monitor (no drift detectors or anchors) and no metrics. */
  | { readonly kind: 'off' };

export interface TrainingJobOptions {
  readonly config: Config;
  readonly runDir: string;
  readonly log: Logger;
  /** Steps in total (default `training.steps`). */
  readonly steps?: number;
  /** Continue the run in `runDir` from its last checkpoint. */
  readonly resume?: boolean;
  /** A remote generator worker (`ws://…`) instead of the in-process policy; default `generator.worker.url`. */
  readonly generatorUrl?: string | null;
  /** Token of the generator worker; default `VRGRPO_GENERATOR_TOKEN`. */
  readonly generatorToken?: string;
  /** Default `{ kind: 'config' }`. */
  readonly judge?: JudgeSource;
  /** Default `{ kind: 'http' }`. */
  readonly monitoring?: MonitoringMode;
  /** For the sampled groups' MP4s (none without it). */
  readonly media?: Media;
  /** Every metrics line (step 0 is the held-out evaluation before training), after the monitoring saw it. */
  readonly onStep?: (metrics: StepMetrics) => void;
}

/** The frozen settings a job runs with. */
interface JobSettings {
  readonly config: Config;
  readonly runDir: string;
  readonly log: Logger;
  readonly steps: number;
  readonly resume: boolean;
  /** Remote generator workers (one policy over all of them); empty: the in-process policy. */
  readonly generatorUrls: readonly string[];
  readonly generatorToken: string | undefined;
  readonly judge: JudgeSource;
  readonly monitoring: MonitoringMode;
}

/** The workers a job uses: `generatorUrl` when given, else `generator.worker.url` / `urls` (not both). */
function generatorUrlsOf(o: TrainingJobOptions): string[] {
  const w = o.config.generator.worker;
  if (o.generatorUrl !== undefined) return o.generatorUrl === null ? [] : [o.generatorUrl];
  if (w.url !== null && w.urls.length > 0) {
    throw new VrGrpoError('CONFIG_INVALID', 'generator.worker: give url (one worker) or urls (several), not both', {
      details: { field: 'generator.worker.urls' },
    });
  }
  return w.url !== null ? [w.url] : [...w.urls];
}

function compile(o: TrainingJobOptions): JobSettings {
  const judge: JudgeSource = o.judge ?? { kind: 'config' };
  const monitoring: MonitoringMode = o.monitoring ?? { kind: 'http' };
  return Object.freeze({
    config: o.config,
    runDir: o.runDir,
    log: o.log,
    steps: o.steps ?? o.config.training.steps,
    resume: o.resume ?? false,
    generatorUrls: generatorUrlsOf(o),
    generatorToken: o.generatorToken ?? process.env.VRGRPO_GENERATOR_TOKEN,
    judge,
    monitoring,
  });
}

async function createGenerator(
  s: JobSettings,
  media: Media | undefined,
  teardown: Teardown,
): Promise<{ generator: TrainableGenerator; embedded: EmbeddedGenerator | null; artifactRoot: string | null }> {
  const w = s.config.generator.worker;
  if (s.generatorUrls.length > 0) {
    const workers: ReconnectingGenerator[] = [];
    teardown.add('closing the remote generators', () => Promise.all(workers.map((g) => g.close())).then(() => undefined));
    for (const url of s.generatorUrls) {
      workers.push(
        await ReconnectingGenerator.connect(url, {
          ...(s.generatorToken === undefined ? {} : { token: s.generatorToken }),
          timeoutMs: w.timeoutMs,
          reconnectTimeoutMs: w.reconnectTimeoutMs,
          log: s.log,
        }),
      );
    }
    const roots = [...new Set(workers.map((g) => g.artifactRoot))];
    if (w.delivery === 'reference' && (roots.length !== 1 || roots[0] === null)) {
      throw new VrGrpoError(
        'CONFIG_INVALID',
        `generator.worker.delivery is reference, but the workers announce artifact roots ${JSON.stringify(roots)}: start every worker with the same --artifact-root (a volume the reward servers read too)`,
        { details: { field: 'generator.worker.delivery', roots } },
      );
    }
    const [single] = workers;
    const generator = single !== undefined && workers.length === 1 ? single : await ShardedGenerator.over(workers, s.generatorUrls);
    return { generator, embedded: null, artifactRoot: w.delivery === 'reference' ? (roots[0] ?? null) : null };
  }
  if (w.delivery === 'reference') {
    throw new VrGrpoError(
      'CONFIG_INVALID',
      'generator.worker.delivery reference needs remote workers (generator.worker.url or urls): the in-process policy hands over frames',
      {
        details: { field: 'generator.worker.delivery' },
      },
    );
  }
  const resumeState = s.resume ? loadResumeState(s.runDir) : null;
  const embedded = await EmbeddedGenerator.create({
    config: s.config,
    ...(media === undefined ? {} : { media }),
    trainer: trainerOptionsFrom(s.config, s.steps),
    ...(resumeState?.optimizer == null ? {} : { optimizerState: resumeState.optimizer }),
  });
  teardown.add('closing the generator', () => embedded.close());
  if (resumeState !== null) embedded.policy.setParameters(resumeState.lora);
  return { generator: embedded, embedded, artifactRoot: null };
}

/** The reward pool; local reward servers read the workers' artifact root when videos travel by reference. */
async function createJudge(s: JobSettings, teardown: Teardown, artifactRoot: string | null): Promise<RewardClientPool> {
  if (s.judge.kind === 'pool') return s.judge.pool;
  const r = s.config.reward;
  let urls = r.servers;
  let token = r.token ?? process.env.VRGRPO_TOKEN;
  if (urls.length === 0) {
    const local = await startLocalRewardServers(r.localServers, { configPath: s.config.source, artifactRoot: artifactRoot ?? s.runDir, log: s.log });
    teardown.add('stopping the local reward servers', () => local.stop());
    urls = [...local.urls];
    token = local.token;
  }
  const pool = await RewardClientPool.create({
    urls,
    ...(token === undefined ? {} : { token }),
    requestTimeoutMs: r.requestTimeoutMs,
    maxAttempts: r.maxAttempts,
    retryOn: r.retryOn,
    versionSkew: r.versionSkew,
    log: s.log,
  });
  teardown.add('closing the reward pool', () => pool.close());
  return pool;
}

/**
 * The auditor judges of `monitoring.audit.auditors`: a checkpoint gets a local reward server of its own (without the
 * planted hack of the testing aid), servers get a pool. Each is closed with the job.
 */
async function createAuditors(s: JobSettings, teardown: Teardown, artifactRoot: string | null): Promise<Map<string, JudgeClient>> {
  const r = s.config.reward;
  const auditors = new Map<string, JudgeClient>();
  for (const a of s.config.monitoring.audit.auditors) {
    let urls = a.servers;
    let token = a.token ?? process.env.VRGRPO_TOKEN;
    if (a.checkpoint !== null) {
      if (s.config.judge.backend === 'vlm')
        throw new VrGrpoError(
          'CONFIG_INVALID',
          `monitoring.audit.auditors (${a.name}): a checkpoint auditor needs judge.backend embedded; give servers instead`,
          {
            details: { auditor: a.name },
          },
        );
      const local = await startLocalRewardServers(1, {
        configPath: s.config.source,
        artifactRoot: artifactRoot ?? s.runDir,
        log: s.log,
        args: ['--checkpoint', a.checkpoint, '--no-planted-hack'],
      });
      teardown.add(`stopping auditor ${a.name}'s reward server`, () => local.stop());
      urls = [...local.urls];
      token = local.token;
    }
    const pool = await RewardClientPool.create({
      urls,
      ...(token === undefined ? {} : { token }),
      requestTimeoutMs: r.requestTimeoutMs,
      maxAttempts: r.maxAttempts,
      retryOn: r.retryOn,
      versionSkew: r.versionSkew,
      log: s.log,
    });
    teardown.add(`closing auditor ${a.name}'s pool`, () => pool.close());
    auditors.set(a.name, pool);
  }
  return auditors;
}

export class TrainingJob {
  private constructor(
    readonly coordinator: Coordinator,
    /** Live monitoring (null with monitoring `off`). */
    readonly monitoring: TrainMonitoring | null,
    /** The metrics of the run (null with monitoring `off`). */
    readonly metrics: CoordinatorMetrics | null,
    private readonly teardown: Teardown,
    private readonly settings: JobSettings,
  ) {}

  /** Builds the run: generator, judge, monitoring, run monitor and coordinator. On a failure, what was built is closed. */
  static async create(options: TrainingJobOptions): Promise<TrainingJob> {
    const s = compile(options);
    const teardown = new Teardown();
    try {
      const { generator, embedded, artifactRoot } = await createGenerator(s, options.media, teardown);
      const pool = await createJudge(s, teardown, artifactRoot);
      let monitoring: TrainMonitoring | null = null;
      let metrics: CoordinatorMetrics | null = null;
      if (s.monitoring.kind === 'http') {
        const port = s.monitoring.port;
        const m = await startTrainMonitoring({ config: s.config, runDir: s.runDir, ...(port === undefined ? {} : { port }), log: s.log });
        teardown.add('closing the monitoring port', () => m.close());
        monitoring = m;
        metrics = m.metrics;
      } else if (s.monitoring.kind === 'in-memory') {
        metrics = new CoordinatorMetrics({ hallucinationWindow: s.config.monitoring.metrics.hallucinationWindow });
      }
      const settings = rewardSettingsFromConfig(s.config);
      const monitors: [string, StepMonitor][] = [];
      if (metrics !== null) {
        monitors.push([
          'run',
          new RunMonitor({ config: s.config, runDir: s.runDir, generator, judge: pool, settings, metrics, rmVersions: () => pool.versions(), log: s.log }),
        ]);
        if (AuditMonitor.enabled(s.config)) {
          const auditors = await createAuditors(s, teardown, artifactRoot);
          monitors.push(['audit', new AuditMonitor({ config: s.config, judge: pool, auditors, settings, metrics, log: s.log })]);
        }
      }
      const monitor = combineMonitors(monitors);
      const onStep = options.onStep ?? ((): void => undefined);
      const inMemory = metrics;
      const hooks =
        monitoring !== null
          ? monitoring.hooks(onStep)
          : {
              onStep: (m: StepMetrics): void => {
                inMemory?.recordStep(m);
                onStep(m);
              },
            };
      const coordinator = await Coordinator.create({
        config: s.config,
        runDir: s.runDir,
        generator,
        ...worldRun(s.config, embedded),
        judge: pool,
        log: s.log,
        steps: s.steps,
        resume: s.resume,
        ...(options.media === undefined ? {} : { media: options.media }),
        ...(monitor === undefined ? {} : { monitor }),
        ...hooks,
      });
      if (s.resume) monitoring?.replay(coordinator.startStep - 1);
      return new TrainingJob(coordinator, monitoring, metrics, teardown, s);
    } catch (e) {
      await teardown
        .run()
        .catch((cleanup: unknown) => s.log.warn({ err: cleanup instanceof Error ? cleanup.message : String(cleanup) }, 'cleanup after a failed start failed'));
      throw e;
    }
  }

  get runDir(): string {
    return this.settings.runDir;
  }

  /** Steps in total. */
  get steps(): number {
    return this.settings.steps;
  }

  /** Runs the loop to its last step (or until `stop()`), checkpointing as configured. */
  run(): Promise<RunSummary> {
    return this.coordinator.runLoop();
  }

  /** Asks the loop to stop after the current step (it checkpoints first). */
  stop(): void {
    this.coordinator.stop();
  }

  /** Closes everything the job built (not a pool it was given), every step even when one fails. Idempotent. */
  close(): Promise<void> {
    return this.teardown.run();
  }
}

/**
 * What the coordinator is given of the synthetic world and of a policy trained in this process: the world's gold
 * (held-out evaluation only when the policy is here) and the policy saved into each checkpoint (a remote worker keeps
 * its own state).
 */
export function worldRun(config: Config, embedded: EmbeddedGenerator | null): Pick<CoordinatorOptions, 'gold' | 'policyCheckpoints'> {
  return {
    gold: worldGold(config, embedded?.policy ?? null),
    policyCheckpoints:
      embedded === null
        ? null
        : {
            save: (dir, step) => embedded.saveAdapters(dir, { step }),
            restore: (dir) => {
              const saved = readAdapterState(dir);
              embedded.loadAdapterState(saved.lora, saved.optimizer);
            },
          },
  };
}
