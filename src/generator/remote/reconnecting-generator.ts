/**
 * A remote generator that survives its worker: calls go to the current {@link RemoteGenerator}; when the connection
 * drops (GENERATOR_UNAVAILABLE) the caller may `recover()`, which reconnects to the same URL within a bounded time and
 * checks that the worker it reaches serves the policy this run trained — its reported update count (`status`:
 * `policyUpdates`, restored from the worker's state folder after a restart, else `updates` since the worker started)
 * must equal the count at the first connection plus the updates applied through this object. Anything else is
 * GENERATOR_STATE_LOST: a restarted worker without its state would silently train a reset policy.
 * Rollouts of the lost connection are gone with it; the coordinator redoes the step (src/coordinator/coordinator.ts).
 */
import { silentLogger, type Logger } from '../../common/logger.js';
import { VrGrpoError, isVrGrpoError } from '../../errors/index.js';
import type { WorkerStatusMessage } from '../../protocol/generator-messages.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, ReplayedRollout, RolloutAdvantages, SavedGeneratorState, TrainableGenerator } from '../generator.js';
import { RemoteGenerator, type RemoteGeneratorOptions } from './remote-generator.js';

/** Default time `recover()` keeps trying to reach the worker again, in milliseconds. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 60_000;
/** First pause between reconnection attempts (doubling up to 2 s), in milliseconds. */
export const RECONNECT_FIRST_DELAY_MS = 200;

export interface ReconnectingGeneratorOptions extends RemoteGeneratorOptions {
  /** How long `recover()` tries to reach the worker again before it gives up (GENERATOR_UNAVAILABLE). Default 60000. */
  readonly reconnectTimeoutMs?: number;
}

const reported = (s: WorkerStatusMessage): number => s.policyUpdates ?? s.updates;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ReconnectingGenerator implements TrainableGenerator {
  readonly name: string;
  readonly #url: string;
  readonly #options: ReconnectingGeneratorOptions;
  readonly #log: Logger;
  readonly #reconnectTimeoutMs: number;
  #current: RemoteGenerator | null;
  /** Updates the worker reported at the first connection (or a restore gave). */
  #baseline: number;
  /** Whether `update` takes replays (the worker announced it). */
  readonly replays: boolean;
  readonly saveState?: (tag: string) => Promise<SavedGeneratorState>;
  readonly restoreState?: (ref: string) => Promise<SavedGeneratorState>;
  #applied = 0;
  #reconnects = 0;
  #closed = false;
  readonly #artifactRoot: string | null;

  private constructor(url: string, options: ReconnectingGeneratorOptions, first: RemoteGenerator, baseline: number) {
    this.#url = url;
    this.#options = options;
    this.#log = options.log ?? silentLogger();
    this.#reconnectTimeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
    if (!Number.isInteger(this.#reconnectTimeoutMs) || this.#reconnectTimeoutMs <= 0) {
      throw new VrGrpoError('INVALID_ARGUMENT', `reconnectTimeoutMs: expected a positive integer (got ${String(this.#reconnectTimeoutMs)})`, {
        details: { field: 'reconnectTimeoutMs' },
      });
    }
    this.#current = first;
    this.#baseline = baseline;
    this.name = first.name;
    this.replays = first.replays;
    this.#artifactRoot = first.hello.artifactRoot;
    if (first.saveState !== undefined && first.restoreState !== undefined) {
      this.saveState = (tag) => this.#live().saveState?.(tag) ?? Promise.reject(new VrGrpoError('NOT_SUPPORTED', 'the worker keeps no state'));
      this.restoreState = async (ref) => {
        const restored = await (this.#live().restoreState?.(ref) ?? Promise.reject(new VrGrpoError('NOT_SUPPORTED', 'the worker keeps no state')));
        // The worker now serves the restored policy: that is what a reconnect must find from here on.
        this.#baseline = restored.policyUpdates ?? this.#baseline + this.#applied;
        this.#applied = 0;
        return restored;
      };
    }
  }

  /** The worker's policy digest now; NOT_SUPPORTED when it computes none. */
  async policyDigest(): Promise<string> {
    return this.#live().policyDigest();
  }

  /** Updates and digest of the policy after the last update, save or restore on the current connection; null before any. */
  get lastPolicy(): RemoteGenerator['lastPolicy'] {
    return this.#current?.lastPolicy ?? null;
  }

  /** Connects (GENERATOR_UNAVAILABLE when the worker cannot be reached) and records the worker's update count. */
  static async connect(url: string, options: ReconnectingGeneratorOptions = {}): Promise<ReconnectingGenerator> {
    const first = await RemoteGenerator.connect(url, options);
    try {
      if (!first.trainable) throw new VrGrpoError('GENERATOR_FAILED', `the generator worker ${url} is not trainable (no update/discard)`, { details: { url } });
      const status = await first.status();
      return new ReconnectingGenerator(url, options, first, reported(status));
    } catch (e) {
      await first.close();
      throw e;
    }
  }

  /** The worker's artifact root (its `hello`: where reference rollouts are written), or null. */
  get artifactRoot(): string | null {
    return this.#artifactRoot;
  }

  /** Times the connection was re-established by `recover()`. */
  get reconnects(): number {
    return this.#reconnects;
  }

  #live(): RemoteGenerator {
    if (this.#closed) throw new VrGrpoError('GENERATOR_UNAVAILABLE', 'the remote generator is closed', { details: { reason: 'closed', url: this.#url } });
    const c = this.#current;
    if (c === null || !c.isOpen) {
      throw new VrGrpoError('GENERATOR_UNAVAILABLE', `the connection to the generator worker ${this.#url} is lost; recover() reconnects`, {
        details: { reason: 'disconnected', url: this.#url },
      });
    }
    return c;
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    try {
      return this.#live().generate(request);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    const stats = await this.#live().update(rollouts, replays);
    this.#applied += 1;
    return stats;
  }

  async discard(rolloutIds: readonly string[]): Promise<void> {
    await this.#live().discard(rolloutIds);
  }

  policyUpdates(): number {
    return this.#baseline + this.#applied;
  }

  /**
   * Reconnects to the worker (attempts with growing pauses until `reconnectTimeoutMs`) and checks its policy. Resolves
   * at once when the connection is still open. Rejects with GENERATOR_UNAVAILABLE when no worker answered in time, or
   * GENERATOR_STATE_LOST when the worker serves another policy than this run trained.
   */
  async recover(): Promise<void> {
    if (this.#closed) throw new VrGrpoError('GENERATOR_UNAVAILABLE', 'the remote generator is closed', { details: { reason: 'closed', url: this.#url } });
    if (this.#current?.isOpen === true) return;
    await this.#current?.close();
    this.#current = null;
    const deadline = performance.now() + this.#reconnectTimeoutMs;
    let delay = RECONNECT_FIRST_DELAY_MS;
    let lastError: unknown = null;
    for (let attempt = 1; performance.now() < deadline && !this.#closed; attempt++) {
      try {
        const left = Math.max(1, Math.round(deadline - performance.now()));
        const next = await RemoteGenerator.connect(this.#url, { ...this.#options, connectTimeoutMs: Math.min(left, this.#options.connectTimeoutMs ?? 10_000) });
        let status: WorkerStatusMessage;
        try {
          status = await next.status();
        } catch (e) {
          await next.close();
          throw e;
        }
        const expected = this.policyUpdates();
        if (reported(status) !== expected) {
          await next.close();
          throw new VrGrpoError(
            'GENERATOR_STATE_LOST',
            `the generator worker ${this.#url} came back with a policy after ${reported(status)} update(s); this run has applied ${expected}. ` +
              'Start the worker with --state-dir (its policy is kept there after every update) so a restart continues the same policy.',
            { details: { url: this.#url, reported: reported(status), expected, policyUpdates: status.policyUpdates } },
          );
        }
        this.#current = next;
        this.#reconnects += 1;
        this.#log.info({ url: this.#url, attempt, policyUpdates: expected }, 'reconnected to the generator worker');
        return;
      } catch (e) {
        if (isVrGrpoError(e) && e.code !== 'GENERATOR_UNAVAILABLE') throw e;
        lastError = e;
        await sleep(Math.min(delay, Math.max(0, deadline - performance.now())));
        delay = Math.min(2_000, delay * 2);
      }
    }
    throw new VrGrpoError('GENERATOR_UNAVAILABLE', `the generator worker ${this.#url} did not come back within ${this.#reconnectTimeoutMs} ms`, {
      details: { reason: 'reconnect timeout', url: this.#url, timeoutMs: this.#reconnectTimeoutMs },
      cause: lastError,
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#current;
    this.#current = null;
    await c?.close();
  }
}
