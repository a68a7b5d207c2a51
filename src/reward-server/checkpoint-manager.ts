/**
 * The checkpoint manager: the reward server's judge service whose judge version can be swapped while it serves.
 * It holds the current version (and the previous one, for rollback), loads a new one in the background through a
 * pluggable {@link ServiceFactory}, validates it (the factory checks files and signatures; every canary judgment must
 * complete and parse; optionally a floor on agreement with the current version), and switches atomically. A judgment
 * runs on the version that was current when it started; a version switched away from is closed only once its running
 * judgments have finished. A failed load or validation is rejected with its code and reason, counted, and changes
 * nothing: the current version keeps serving and nothing is ever half-loaded.
 *
 * Lifecycle: serving ⇄ loading → closing → closed. One load or rollback at a time (SWAP_IN_PROGRESS otherwise).
 */
import type { Logger } from '../common/logger.js';
import { VrGrpoError, isVrGrpoError, type ErrorCode } from '../errors/index.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../judge/judge-service.js';
import type { CanaryReport, CheckpointRejection, CheckpointStatusMessage, LoadedVersion, SwapOrigin } from '../protocol/index.js';
import {
  CanaryMeter,
  DEFAULT_CANARY_MAX_JUDGMENT_MS,
  DEFAULT_CANARY_MAX_RSS_GROWTH_BYTES,
  DEFAULT_CANARY_TIMEOUT_MS,
  buildCanarySet,
  judgeCanaryItem,
  type CanaryItem,
  type CanaryOptions,
  type CanaryOutcome,
  type CanaryResources,
} from './canary.js';
import { describeSource, type CheckpointSource, type ServiceFactory } from './checkpoint-source.js';
import { CheckpointWatcher, DEFAULT_WATCH_INTERVAL_MS, type WatchLoadOutcome } from './checkpoint-watcher.js';

/** Default canary judgments run at once. */
export const DEFAULT_CANARY_CONCURRENCY = 2;

export type CheckpointManagerState = 'serving' | 'loading' | 'closing' | 'closed';

/** What happened to the manager; subscribe with {@link CheckpointManager.subscribe} (metrics count these). */
export type CheckpointEvent =
  | { readonly type: 'load_started'; readonly source: string; readonly origin: SwapOrigin }
  | {
      readonly type: 'swapped';
      readonly action: 'load' | 'rollback';
      readonly origin: SwapOrigin;
      readonly rmVersion: string;
      readonly previousVersion: string;
      readonly canary: CanaryReport | null;
      /** What the new version's canary cost (load only; absent for a rollback). */
      readonly resources?: CanaryResources;
      readonly ms: number;
      readonly at: Date;
    }
  | { readonly type: 'rejected'; readonly origin: SwapOrigin; readonly source: string; readonly code: ErrorCode; readonly message: string; readonly at: Date }
  /** A version switched away from finished its last judgment and was closed. */
  | { readonly type: 'version_closed'; readonly rmVersion: string };

export type CheckpointListener = (event: CheckpointEvent) => void;

/** The outcome of a successful load or rollback. */
export interface SwapResult {
  readonly action: 'load' | 'rollback';
  /** The version new judgments now start on. */
  readonly rmVersion: string;
  readonly previousVersion: string;
  /** Load only. */
  readonly canary: CanaryReport | null;
  /** From the call to the switch, ms. */
  readonly ms: number;
}

/** `checkpoint_status` without its envelope. */
export type CheckpointManagerStatus = Omit<CheckpointStatusMessage, 'type' | 'id'>;

export interface CheckpointManagerOptions {
  /** Turns a source into a judge service (embedded: `embeddedServiceFactory()`; a VLM backend plugs in its own). */
  readonly factory: ServiceFactory;
  /** The version served from the start. */
  readonly initial: CheckpointSource;
  readonly log: Logger;
  /**
   * The canary set and its limits: pairs (default 4), pointwise (2), timeoutMs for the whole canary (60000),
   * concurrency (2), and the resource budget of a version's canary: `maxRssGrowthBytes`, the peak growth of the
   * process's resident memory while it runs (default 512 MiB; null = none), and `maxJudgmentMs`, the time one canary
   * judgment may take (default 20000; null = none). A version beyond either is refused with CANARY_FAILED.
   */
  readonly canary?: CanaryOptions & {
    readonly timeoutMs?: number;
    readonly concurrency?: number;
    readonly maxRssGrowthBytes?: number | null;
    readonly maxJudgmentMs?: number | null;
  };
  /** Default minimum agreement (0–1) of a new version with the current one on the pairwise canary; null = none. Default: null. */
  readonly agreementFloor?: number | null;
  /** Run the canary on the initial version too (its results are what the first swap's agreement is measured against). Default: true. */
  readonly validateInitial?: boolean;
  /** Watch mode: swap to complete checkpoint folders that appear in `dir` (see checkpoint-watcher.ts). Default: off. */
  readonly watch?: { readonly dir: string; readonly intervalMs?: number } | null;
  /** Subscribed before anything happens; same as calling `subscribe`. */
  readonly onEvent?: CheckpointListener;
}

interface VersionEntry {
  readonly service: JudgeService;
  readonly rmVersion: string;
  readonly backend: string;
  readonly source: string;
  readonly origin: SwapOrigin;
  readonly loadedAt: Date;
  /** Canary outcomes of this version, by item id (null until measured). */
  canary: ReadonlyMap<string, CanaryOutcome> | null;
  inFlight: number;
  retired: boolean;
  closing: Promise<void> | null;
}

interface LoadInProgress {
  readonly source: string;
  readonly origin: SwapOrigin;
  readonly startedAt: Date;
  readonly controller: AbortController;
  readonly done: Promise<unknown>;
}

interface ResolvedCanary {
  readonly build: CanaryOptions;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly maxRssGrowthBytes: number | null;
  readonly maxJudgmentMs: number | null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function floorOption(value: number | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new VrGrpoError('INVALID_ARGUMENT', `checkpoint manager option ${field}: expected null or a number in 0..1 (got ${String(value)})`, {
      details: { field },
    });
  }
  return value;
}

function positiveInt(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new VrGrpoError('INVALID_ARGUMENT', `checkpoint manager option ${field}: expected a positive integer (got ${String(v)})`, { details: { field } });
  return v;
}

/** The version label a freshly loaded service reports; CHECKPOINT_INVALID when it is not a usable label. */
function versionOf(service: JudgeService, source: string): string {
  let version: unknown;
  try {
    version = service.rmVersion();
  } catch (error) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${source}: the loaded judge cannot name its version (${describe(error)})`, { cause: error });
  }
  if (typeof version !== 'string' || version.length === 0 || version.length > 128) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${source}: the loaded judge reports an unusable version label ${JSON.stringify(version)}`);
  }
  return version;
}

/** Runs `task` over `items` with at most `limit` at once; the first rejection wins (others keep running to their end). */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      next += 1;
      const item = items[index];
      if (item === undefined) return;
      results[index] = await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

export class CheckpointManager implements JudgeService {
  readonly #factory: ServiceFactory;
  readonly #log: Logger;
  readonly #canaryOptions: ResolvedCanary;
  readonly #agreementFloor: number | null;
  readonly #listeners = new Set<CheckpointListener>();
  readonly #retiring = new Set<VersionEntry>();
  #canaryItems: CanaryItem[] | null = null;
  #current: VersionEntry;
  #previous: VersionEntry | null = null;
  #loading: LoadInProgress | null = null;
  #state: CheckpointManagerState = 'serving';
  #watcher: CheckpointWatcher | null = null;
  #swaps = 0;
  #rollbacks = 0;
  #rejections = 0;
  #lastRejection: CheckpointRejection | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    initial: VersionEntry,
    factory: ServiceFactory,
    log: Logger,
    canary: ResolvedCanary,
    agreementFloor: number | null,
    canaryItems: CanaryItem[] | null,
  ) {
    this.#current = initial;
    this.#factory = factory;
    this.#log = log;
    this.#canaryOptions = canary;
    this.#agreementFloor = agreementFloor;
    this.#canaryItems = canaryItems;
  }

  /**
   * Loads and validates the initial version (canary included unless `validateInitial` is false), starts watch mode
   * when asked, and resolves with a serving manager. Rejects with the factory's or the canary's error (nothing is left
   * open), or INVALID_ARGUMENT for a bad option or a watch folder that is not a directory.
   */
  static async create(options: CheckpointManagerOptions): Promise<CheckpointManager> {
    const log = options.log.child({ component: 'checkpoint-manager' });
    const agreementFloor = floorOption(options.agreementFloor, 'agreementFloor');
    const c = options.canary ?? {};
    const canary: ResolvedCanary = {
      build: {
        ...(c.pairs === undefined ? {} : { pairs: c.pairs }),
        ...(c.pointwise === undefined ? {} : { pointwise: c.pointwise }),
        ...(c.seed === undefined ? {} : { seed: c.seed }),
        ...(c.frames === undefined ? {} : { frames: c.frames }),
        ...(c.size === undefined ? {} : { size: c.size }),
      },
      timeoutMs: positiveInt(c.timeoutMs, DEFAULT_CANARY_TIMEOUT_MS, 'canary.timeoutMs'),
      concurrency: positiveInt(c.concurrency, DEFAULT_CANARY_CONCURRENCY, 'canary.concurrency'),
      maxRssGrowthBytes:
        c.maxRssGrowthBytes === null ? null : positiveInt(c.maxRssGrowthBytes, DEFAULT_CANARY_MAX_RSS_GROWTH_BYTES, 'canary.maxRssGrowthBytes'),
      maxJudgmentMs: c.maxJudgmentMs === null ? null : positiveInt(c.maxJudgmentMs, DEFAULT_CANARY_MAX_JUDGMENT_MS, 'canary.maxJudgmentMs'),
    };
    // Built up front: a bad canary option fails here, before anything is loaded.
    const items = buildCanarySet(canary.build);
    const source = describeSource(options.initial);
    const service = await options.factory(options.initial, { signal: new AbortController().signal });
    let entry: VersionEntry;
    try {
      const rmVersion = versionOf(service, source);
      entry = {
        service,
        rmVersion,
        backend: service.backendName,
        source,
        origin: 'initial',
        loadedAt: new Date(),
        canary: null,
        inFlight: 0,
        retired: false,
        closing: null,
      };
      if (options.validateInitial ?? true) entry.canary = (await CheckpointManager.#canary(service, rmVersion, items, canary)).outcomes;
    } catch (error) {
      await service.close().catch(() => undefined);
      throw error;
    }
    const manager = new CheckpointManager(entry, options.factory, log, canary, agreementFloor, items);
    if (options.onEvent !== undefined) manager.subscribe(options.onEvent);
    if (options.watch !== undefined && options.watch !== null) {
      try {
        manager.#watcher = await CheckpointWatcher.start({
          dir: options.watch.dir,
          intervalMs: options.watch.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS,
          log,
          load: (path) => manager.#loadFromWatch(path),
        });
      } catch (error) {
        await manager.close();
        throw error;
      }
    }
    log.info({ rmVersion: entry.rmVersion, source, backend: entry.backend, watch: options.watch?.dir ?? null }, 'checkpoint manager serving');
    return manager;
  }

  // ---- JudgeService ----

  /** The backend of the current version. */
  get backendName(): string {
    return this.#current.backend;
  }

  /** The version new judgments start on. */
  rmVersion(): string {
    return this.#current.rmVersion;
  }

  /** Judges on the version current now; the judgment finishes on it even if a swap happens meanwhile. */
  async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    if (this.#state === 'closed') throw new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager is closed');
    const entry = this.#current;
    entry.inFlight += 1;
    try {
      return await entry.service.judge(request, hooks);
    } finally {
      entry.inFlight -= 1;
      if (entry.retired && entry.inFlight === 0) void this.#closeEntry(entry);
    }
  }

  // ---- control ----

  get state(): CheckpointManagerState {
    return this.#state;
  }

  /** Loads rejected since start (a counter for metrics and `checkpoint_status`). */
  get rejections(): number {
    return this.#rejections;
  }

  /** The watch-mode watcher, when on (tests drive `scan()` directly). */
  get watcher(): CheckpointWatcher | null {
    return this.#watcher;
  }

  /** Adds a listener of {@link CheckpointEvent}s; returns the function that removes it. A listener that throws is logged. */
  subscribe(listener: CheckpointListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Loads `source`, validates it and switches to it; resolves once new judgments start on it. Rejects — changing
   * nothing — with SWAP_IN_PROGRESS (another load or rollback runs), SHUTTING_DOWN, or the rejection: the factory's
   * code (CHECKPOINT_NOT_FOUND, CHECKPOINT_INVALID, MODEL_INVALID, INVALID_REQUEST, …), CANARY_FAILED, or
   * CHECKPOINT_REJECTED (version already serving; agreement below the floor). Rejections are counted.
   * `agreementFloor` overrides the manager's default for this load (null = none).
   */
  load(source: CheckpointSource, options: { readonly origin?: 'admin' | 'watch'; readonly agreementFloor?: number | null } = {}): Promise<SwapResult> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager is closing'));
    const busy = this.#busy();
    if (busy !== null) return Promise.reject(busy);
    let floor: number | null;
    try {
      floor = options.agreementFloor === undefined ? this.#agreementFloor : floorOption(options.agreementFloor, 'agreementFloor');
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const origin = options.origin ?? 'admin';
    const controller = new AbortController();
    const label = describeSource(source);
    const done = this.#load(source, label, origin, floor, controller.signal);
    this.#loading = { source: label, origin, startedAt: new Date(), controller, done: done.catch(() => undefined) };
    this.#state = 'loading';
    this.#emit({ type: 'load_started', source: label, origin });
    return done.finally(() => {
      this.#loading = null;
      if (this.#state === 'loading') this.#state = 'serving';
    });
  }

  /**
   * Switches back to the previous version (instantly: it stayed loaded). The version switched away from is retired
   * (closed once its running judgments finish) and there is no previous version afterwards. CHECKPOINT_NOT_FOUND when
   * there is no previous version; SWAP_IN_PROGRESS during a load; SHUTTING_DOWN when closing.
   */
  rollback(): Promise<SwapResult> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager is closing'));
    const busy = this.#busy();
    if (busy !== null) return Promise.reject(busy);
    const started = performance.now();
    const target = this.#previous;
    if (target === null)
      return Promise.reject(new VrGrpoError('CHECKPOINT_NOT_FOUND', `no previous version to roll back to (serving ${this.#current.rmVersion})`));
    const from = this.#current;
    this.#current = target;
    this.#previous = null;
    this.#retire(from);
    this.#rollbacks += 1;
    const result: SwapResult = {
      action: 'rollback',
      rmVersion: target.rmVersion,
      previousVersion: from.rmVersion,
      canary: null,
      ms: performance.now() - started,
    };
    this.#log.info({ rmVersion: target.rmVersion, from: from.rmVersion }, 'rolled back');
    this.#emit({
      type: 'swapped',
      action: 'rollback',
      origin: 'admin',
      rmVersion: target.rmVersion,
      previousVersion: from.rmVersion,
      canary: null,
      ms: result.ms,
      at: new Date(),
    });
    return Promise.resolve(result);
  }

  /** The state `checkpoint_status` reports. */
  status(): CheckpointManagerStatus {
    const view = (e: VersionEntry): LoadedVersion => ({
      rmVersion: e.rmVersion,
      backend: e.backend,
      source: e.source,
      origin: e.origin,
      loadedAt: e.loadedAt.toISOString(),
      inFlight: e.inFlight,
    });
    const loading = this.#loading;
    return {
      state: loading === null ? 'serving' : 'loading',
      current: view(this.#current),
      previous: this.#previous === null ? null : view(this.#previous),
      retiring: [...this.#retiring].map(view),
      loading: loading === null ? null : { source: loading.source, origin: loading.origin, startedAt: loading.startedAt.toISOString() },
      swaps: this.#swaps,
      rollbacks: this.#rollbacks,
      rejections: this.#rejections,
      lastRejection: this.#lastRejection,
      watch: this.#watcher === null ? null : { dir: this.#watcher.dir, pending: this.#watcher.pending() },
    };
  }

  /**
   * Stops watch mode, aborts a load in progress (it rejects with SHUTTING_DOWN), and closes every loaded version.
   * Close the reward server first (it drains running judgments). Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- internals ----

  #busy(): VrGrpoError | null {
    const loading = this.#loading;
    if (loading === null) return null;
    return new VrGrpoError(
      'SWAP_IN_PROGRESS',
      `a checkpoint load is in progress (${loading.source}, started ${loading.startedAt.toISOString()}); retry when it has finished`,
      {
        details: { source: loading.source },
      },
    );
  }

  async #load(source: CheckpointSource, label: string, origin: 'admin' | 'watch', floor: number | null, signal: AbortSignal): Promise<SwapResult> {
    const started = performance.now();
    let service: JudgeService | null = null;
    try {
      service = await this.#factory(source, { signal });
      if (signal.aborted) throw new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager closed during the load');
      const rmVersion = versionOf(service, label);
      if (rmVersion === this.#current.rmVersion) {
        throw new VrGrpoError(
          'CHECKPOINT_REJECTED',
          `checkpoint ${label}: version ${rmVersion} is already serving (give each checkpoint its own version label)`,
          { details: { rmVersion } },
        );
      }
      const items = this.#canaryItems ?? buildCanarySet(this.#canaryOptions.build);
      this.#canaryItems = items;
      const canary = await CheckpointManager.#canary(service, rmVersion, items, this.#canaryOptions, signal);
      const agreement = await this.#agreement(canary.outcomes, items, signal);
      const report: CanaryReport = { ...canary.report, agreement, agreementFloor: floor };
      if (floor !== null && (agreement === null || agreement < floor)) {
        const measured = agreement === null ? 'could not be measured' : `${agreement.toFixed(3)} is below the floor ${floor}`;
        throw new VrGrpoError(
          'CHECKPOINT_REJECTED',
          `checkpoint ${label} (${rmVersion}): agreement with ${this.#current.rmVersion} on the canary ${measured}`,
          {
            details: { rmVersion, agreement, agreementFloor: floor },
          },
        );
      }
      if (signal.aborted) throw new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager closed during the load');
      // The switch: synchronous, so every judgment starts either on the old version or on the new one.
      const entry: VersionEntry = {
        service,
        rmVersion,
        backend: service.backendName,
        source: label,
        origin,
        loadedAt: new Date(),
        canary: canary.outcomes,
        inFlight: 0,
        retired: false,
        closing: null,
      };
      const before = this.#current;
      if (this.#previous !== null) this.#retire(this.#previous);
      this.#previous = before;
      this.#current = entry;
      this.#swaps += 1;
      const ms = performance.now() - started;
      this.#log.info(
        { rmVersion, from: before.rmVersion, source: label, origin, ms: Math.round(ms), canary: report, canaryResources: canary.resources },
        'switched judge version',
      );
      this.#emit({
        type: 'swapped',
        action: 'load',
        origin,
        rmVersion,
        previousVersion: before.rmVersion,
        canary: report,
        resources: canary.resources,
        ms,
        at: new Date(),
      });
      return { action: 'load', rmVersion, previousVersion: before.rmVersion, canary: report, ms };
    } catch (error) {
      if (service !== null) {
        const loaded = service;
        await loaded.close().catch((e: unknown) => this.#log.warn({ err: describe(e), source: label }, 'closing a rejected checkpoint failed'));
      }
      const failure = isVrGrpoError(error)
        ? error
        : new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${label} cannot be loaded: ${describe(error)}`, { cause: error });
      if (failure.code !== 'SHUTTING_DOWN') this.#reject(failure, label, origin);
      throw failure;
    }
  }

  #reject(failure: VrGrpoError, source: string, origin: SwapOrigin): void {
    this.#rejections += 1;
    const at = new Date();
    this.#lastRejection = { code: failure.code, message: failure.message, source, origin, at: at.toISOString() };
    this.#log.warn(
      { code: failure.code, err: failure.message, source, origin, serving: this.#current.rmVersion },
      'checkpoint rejected; the current version keeps serving',
    );
    this.#emit({ type: 'rejected', origin, source, code: failure.code, message: failure.message, at });
  }

  /** Agreement of `outcomes` with the current version's canary (measured on it now if it never was); null if not comparable. */
  async #agreement(outcomes: ReadonlyMap<string, CanaryOutcome>, items: readonly CanaryItem[], signal: AbortSignal): Promise<number | null> {
    const current = this.#current;
    if (current.canary === null) {
      current.inFlight += 1;
      try {
        current.canary = (await CheckpointManager.#canary(current.service, current.rmVersion, items, this.#canaryOptions, signal)).outcomes;
      } catch (error) {
        if (isVrGrpoError(error, 'SHUTTING_DOWN')) throw error;
        this.#log.warn({ err: describe(error), rmVersion: current.rmVersion }, 'the current version failed the canary; agreement not measured');
        return null;
      } finally {
        current.inFlight -= 1;
        if (current.retired && current.inFlight === 0) void this.#closeEntry(current);
      }
    }
    const theirs = current.canary;
    let same = 0;
    let compared = 0;
    for (const [id, mine] of outcomes) {
      const other = theirs.get(id);
      if (mine.overall === null || other === undefined || other.overall === null) continue;
      compared += 1;
      if (mine.overall === other.overall) same += 1;
    }
    return compared === 0 ? null : same / compared;
  }

  /**
   * Runs the canary on `service`: CANARY_FAILED for the first item that fails, when it takes longer than the limit, or
   * when its resident-memory growth or one judgment's time is beyond the budget (measured by a {@link CanaryMeter}).
   */
  static async #canary(
    service: JudgeService,
    rmVersion: string,
    items: readonly CanaryItem[],
    options: ResolvedCanary,
    outer?: AbortSignal,
  ): Promise<{
    outcomes: ReadonlyMap<string, CanaryOutcome>;
    report: Omit<CanaryReport, 'agreement' | 'agreementFloor'>;
    resources: CanaryResources;
  }> {
    const started = performance.now();
    const controller = new AbortController();
    const meter = new CanaryMeter(options.maxRssGrowthBytes, options.maxJudgmentMs, (error) => controller.abort(error), rmVersion);
    const onOuter = (): void => controller.abort(new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager closed during the canary'));
    if (outer?.aborted === true) onOuter();
    outer?.addEventListener('abort', onOuter, { once: true });
    const timer = setTimeout(() => {
      controller.abort(
        new VrGrpoError('CANARY_FAILED', `canary on ${rmVersion}: not finished within ${options.timeoutMs} ms`, {
          details: { rmVersion, reason: 'timeout', timeoutMs: options.timeoutMs },
        }),
      );
    }, options.timeoutMs);
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener(
        'abort',
        () => reject(controller.signal.reason instanceof Error ? controller.signal.reason : new Error(String(controller.signal.reason))),
        { once: true },
      );
    });
    try {
      const work = mapLimited(items, options.concurrency, async (item) => {
        const t0 = performance.now();
        const outcome = await judgeCanaryItem(service, rmVersion, item, controller.signal);
        meter.judged(item, performance.now() - t0);
        return outcome;
      });
      // A judgment that ignores its abort signal must not hold the load forever; its late result is dropped.
      work.catch(() => undefined);
      aborted.catch(() => undefined);
      const results = await Promise.race([work, aborted]);
      // The last judgment's memory or time may be beyond the budget: the meter aborted after `work` settled.
      meter.sample();
      if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new Error(String(controller.signal.reason));
      const resources = meter.stop();
      const pairwise = results.filter((r) => r.item.mode === 'pairwise');
      const goldAccuracy = pairwise.length === 0 ? null : pairwise.filter((r) => r.overall === r.item.goldBetter).length / pairwise.length;
      return {
        outcomes: new Map(results.map((r) => [r.item.id, r])),
        report: { judgments: results.length, ms: performance.now() - started, goldAccuracy },
        resources,
      };
    } catch (error) {
      // The first failure ends the canary: stop the judgments still running.
      if (!controller.signal.aborted) controller.abort(new VrGrpoError('CANARY_FAILED', 'canary stopped after a failure'));
      throw error;
    } finally {
      meter.stop();
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  async #loadFromWatch(path: string): Promise<WatchLoadOutcome> {
    try {
      await this.load({ kind: 'path', path }, { origin: 'watch' });
      return 'swapped';
    } catch (error) {
      if (isVrGrpoError(error, 'SWAP_IN_PROGRESS')) return 'busy';
      if (isVrGrpoError(error, 'SHUTTING_DOWN')) return 'busy';
      return 'rejected';
    }
  }

  #retire(entry: VersionEntry): void {
    entry.retired = true;
    this.#retiring.add(entry);
    if (entry.inFlight === 0) void this.#closeEntry(entry);
  }

  /** Closes a version (once); resolves when it is closed. Never rejects. */
  #closeEntry(entry: VersionEntry): Promise<void> {
    entry.closing ??= entry.service
      .close()
      .catch((error: unknown) => this.#log.warn({ err: describe(error), rmVersion: entry.rmVersion }, 'closing a retired version failed'))
      .then(() => {
        this.#retiring.delete(entry);
        this.#log.info({ rmVersion: entry.rmVersion }, 'retired version closed');
        this.#emit({ type: 'version_closed', rmVersion: entry.rmVersion });
      });
    return entry.closing;
  }

  #emit(event: CheckpointEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log.error({ err: describe(error), event: event.type }, 'checkpoint listener failed');
      }
    }
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closing';
    const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
      } catch (error) {
        this.#log.error({ step: name, err: describe(error) }, 'checkpoint manager shutdown step failed');
      }
    };
    // Abort a load first: the watcher's close waits for the scan that may be running it.
    const loading = this.#loading;
    loading?.controller.abort(new VrGrpoError('SHUTTING_DOWN', 'the checkpoint manager is closing'));
    await step('stop watching', async () => this.#watcher?.close());
    if (loading !== null) await step('abort the load', () => loading.done);
    const entries = [this.#current, ...(this.#previous === null ? [] : [this.#previous]), ...this.#retiring];
    for (const entry of entries) entry.retired = true;
    await step('close versions', () => Promise.all(entries.map((entry) => this.#closeEntry(entry))));
    this.#state = 'closed';
  }
}
