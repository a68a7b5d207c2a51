/**
 * A pool of reward-server replicas: least-in-flight routing, a per-request timeout, bounded retries on another replica
 * for failures whose code is retryable (CONNECTION_LOST, REQUEST_TIMEOUT, OVERLOADED, SHUTTING_DOWN, JUDGE_FAILED, …),
 * and reconnection with exponential backoff. Videos travel inline (raw RGB24) with each judgment, so any replica can
 * take any request. Retry decisions follow the error's code only (docs/errors.md), never its message or details.
 */
import { silentLogger, type Logger } from '../common/logger.js';
import { VrGrpoError, isVrGrpoError, type ErrorCode } from '../errors/index.js';
import { isVideoFile, type VideoHandle } from '../media/index.js';
import type { JudgeOptions, VerdictMessage } from '../protocol/index.js';
import { RewardServerClient } from './client.js';

export interface RewardPoolOptions {
  /** Reward-server URLs (`ws://host:port`). */
  readonly urls: readonly string[];
  readonly token?: string;
  /** Per judgment attempt, ms. Default 60000. */
  readonly requestTimeoutMs?: number;
  /** Attempts per judgment across replicas. Default 3. */
  readonly maxAttempts?: number;
  /** First reconnection delay, ms (doubles up to `maxReconnectDelayMs`). Default 200. */
  readonly reconnectDelayMs?: number;
  readonly maxReconnectDelayMs?: number;
  /** How long a judgment waits for any replica to be connected, ms. Default 10000. */
  readonly waitForReplicaMs?: number;
  readonly log?: Logger;
  /** Called when a replica's judge version changes (see {@link RewardClientPool.onVersionChange}). */
  readonly onVersionChange?: VersionChangeListener;
  /**
   * Replicas serving different RM versions (a swap rolled out to some of them): `newest` routes only to replicas on
   * the version a replica most recently switched to; `wait` holds new judgments until the connected replicas agree
   * (at most `versionWaitMs`, then as `newest`); `any` ignores versions. Replicas that disagree from the start, before
   * any of them changed, have no newest version: `newest` routes to all of them, `wait` waits. Default `any`.
   */
  readonly versionSkew?: VersionSkewPolicy;
  /** Longest a judgment waits under `versionSkew: wait`, ms. Default 60000. */
  readonly versionWaitMs?: number;
  /**
   * Which failures are retried on another replica. 'retryable' (default): every failure whose code is retryable in
   * the catalogue. 'transport': only failures to get the judgment done by a server at all ({@link TRANSPORT_CODES}:
   * connection lost or refused, the per-attempt timeout, a server that is overloaded or draining) — not a judgment that
   * ran and failed, such as a VLM backend error: with real judges a whole multi-turn conversation would be re-run
   * elsewhere on the same GPUs.
   */
  readonly retryOn?: RetryOn;
}

export type VersionSkewPolicy = 'newest' | 'wait' | 'any';

/**
 * A replica now serves `rmVersion` where it served `previous`: announced by the server (`version_changed`, after a
 * swap, a rollback or a watch-mode load), or seen on reconnection (a restarted replica on another checkpoint). Not
 * called for a replica's first connection (read `versions()`).
 */
export type VersionChangeListener = (url: string, rmVersion: string, previous: string) => void;

export interface PoolJudgeRequest {
  readonly prompt: string;
  readonly mode: 'pairwise' | 'pointwise';
  /** Frames (sent inline) or file references (sent as URIs the servers read under their artifact root). */
  readonly videos: readonly VideoHandle[];
  readonly options?: JudgeOptions;
  /**
   * The comparison group (e.g. one GRPO group of one step) and the videos' ids in it: a server reuses what it perceived
   * of a video across the group's requests, and the pool sends a group's requests to one replica while it is not much
   * busier than the others. The same id within a group must be the same video.
   */
  readonly group?: { readonly id: string; readonly videoIds: readonly string[] };
}

export interface PooledVerdict {
  readonly verdict: VerdictMessage;
  readonly replica: string;
  readonly attempts: number;
}

interface Replica {
  readonly url: string;
  client: RewardServerClient | null;
  connecting: Promise<void> | null;
  inFlight: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
  /** The RM version the replica announced. */
  rmVersion: string | null;
  failures: number;
}

/** What the pool retries on another replica (see {@link RewardPoolOptions.retryOn}). */
export type RetryOn = 'retryable' | 'transport';

/**
 * Codes of a judgment that no server got done: the connection could not be opened or was lost, the attempt timed out,
 * a server refused it at admission (OVERLOADED, SHUTTING_DOWN), or no replica was reachable. The same judgment may
 * succeed elsewhere without re-running work that already ran. Every one of them is retryable in the catalogue.
 */
export const TRANSPORT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONNECTION_FAILED',
  'CONNECTION_LOST',
  'REQUEST_TIMEOUT',
  'OVERLOADED',
  'SHUTTING_DOWN',
  'NO_REPLICA_REACHABLE',
]);

/** Whether another attempt (on another replica) may succeed: the code's `retryable` flag; never for a foreign error. */
export function isRetryable(e: unknown): boolean {
  return isVrGrpoError(e) && e.retryable;
}

/** The judgment never got done by a server (connection, timeout, admission), as opposed to a judgment that failed. */
export function isTransportFailure(e: unknown): boolean {
  return isVrGrpoError(e) && TRANSPORT_CODES.has(e.code);
}

export class RewardClientPool {
  private readonly replicas: Replica[];
  private readonly log: Logger;
  private closed = false;
  private seq = 0;
  private rr = 0;
  private readonly waiters = new Set<() => void>();
  private undelivered = 0;
  private readonly deliveryWaiters = new Set<() => void>();
  private readonly versionListeners = new Set<VersionChangeListener>();

  /** The version a replica most recently switched to (null until one changes). */
  private newestVersion: string | null = null;

  private constructor(
    private readonly options: Required<Omit<RewardPoolOptions, 'token' | 'log' | 'onVersionChange'>> & { token: string | undefined },
    log: Logger,
  ) {
    this.log = log;
    this.replicas = options.urls.map((url) => ({
      url,
      client: null,
      connecting: null,
      inFlight: 0,
      delayMs: options.reconnectDelayMs,
      timer: null,
      rmVersion: null,
      failures: 0,
    }));
  }

  /** Connects to every replica (failures are retried in the background); resolves once at least one is connected or the wait ran out. */
  static async create(options: RewardPoolOptions): Promise<RewardClientPool> {
    if (options.urls.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'a reward pool needs at least one URL');
    const pool = new RewardClientPool(
      {
        urls: options.urls,
        token: options.token,
        requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
        maxAttempts: options.maxAttempts ?? 3,
        reconnectDelayMs: options.reconnectDelayMs ?? 200,
        maxReconnectDelayMs: options.maxReconnectDelayMs ?? 5_000,
        waitForReplicaMs: options.waitForReplicaMs ?? 10_000,
        versionSkew: options.versionSkew ?? 'any',
        versionWaitMs: options.versionWaitMs ?? 60_000,
        retryOn: options.retryOn ?? 'retryable',
      },
      options.log ?? silentLogger(),
    );
    if (options.onVersionChange !== undefined) pool.versionListeners.add(options.onVersionChange);
    await Promise.all(pool.replicas.map((r) => pool.connect(r)));
    return pool;
  }

  /**
   * The judge version each replica's new judgments start on (its hello, kept current by `version_changed`);
   * null for a replica that is not connected. A verdict names the version it was judged on: `verdict.rmVersion`.
   */
  versions(): ReadonlyMap<string, string | null> {
    return new Map(this.replicas.map((r) => [r.url, r.client?.isOpen === true ? r.rmVersion : null]));
  }

  /** Adds a listener of replica version changes; returns the function that removes it. */
  onVersionChange(listener: VersionChangeListener): () => void {
    this.versionListeners.add(listener);
    return () => {
      this.versionListeners.delete(listener);
    };
  }

  private setVersion(r: Replica, rmVersion: string): void {
    const previous = r.rmVersion;
    r.rmVersion = rmVersion;
    if (previous === null || previous === rmVersion) return;
    this.newestVersion = rmVersion;
    for (const wake of this.waiters) wake();
    this.log.info({ replica: r.url, rmVersion, previous }, 'reward replica changed version');
    for (const listener of this.versionListeners) {
      try {
        listener(r.url, rmVersion, previous);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'onVersionChange listener failed');
      }
    }
  }

  get connectedCount(): number {
    return this.replicas.filter((r) => r.client?.isOpen === true).length;
  }

  private connect(r: Replica): Promise<void> {
    if (this.closed) return Promise.resolve();
    r.connecting ??= (async () => {
      try {
        const client = await RewardServerClient.connect(r.url, {
          ...(this.options.token === undefined ? {} : { token: this.options.token }),
          timeoutMs: this.options.requestTimeoutMs,
          log: this.log,
          onVersionChange: (change) => {
            if (r.client === client) this.setVersion(r, change.rmVersion);
          },
        });
        if (this.closed) {
          await client.close();
          return;
        }
        r.client = client;
        this.setVersion(r, client.rmVersion);
        r.delayMs = this.options.reconnectDelayMs;
        this.log.info({ replica: r.url, rmVersion: r.rmVersion }, 'reward replica connected');
        for (const wake of this.waiters) wake();
      } catch (e) {
        this.log.warn({ replica: r.url, err: e instanceof Error ? e.message : String(e) }, 'reward replica unreachable');
        this.scheduleReconnect(r);
      } finally {
        r.connecting = null;
      }
    })();
    return r.connecting;
  }

  private scheduleReconnect(r: Replica): void {
    if (this.closed || r.timer !== null) return;
    const delay = r.delayMs;
    r.delayMs = Math.min(this.options.maxReconnectDelayMs, r.delayMs * 2);
    r.timer = setTimeout(() => {
      r.timer = null;
      void this.connect(r);
    }, delay);
  }

  private healthy(r: Replica): boolean {
    if (r.client !== null && !r.client.isOpen) {
      r.client = null;
      this.scheduleReconnect(r);
    }
    return r.client !== null;
  }

  /** The connected replicas a new judgment may go to under the version-skew policy; null = wait for agreement. */
  private eligible(connected: readonly Replica[], skewDeadline: number): readonly Replica[] | null {
    const policy = this.options.versionSkew;
    if (policy === 'any' || new Set(connected.map((r) => r.rmVersion)).size <= 1) return connected;
    if (policy === 'wait' && Date.now() < skewDeadline) return null;
    const newest = connected.filter((r) => r.rmVersion === this.newestVersion);
    return newest.length > 0 ? newest : connected;
  }

  /** Least-in-flight connected replica, not in `avoid` when possible; waits (bounded) for one to connect. */
  private async pick(avoid: ReadonlySet<string>, group?: string): Promise<Replica> {
    const deadline = Date.now() + this.options.waitForReplicaMs;
    const skewDeadline = Date.now() + this.options.versionWaitMs;
    let waitingForAgreement = false;
    for (;;) {
      if (this.closed) throw new VrGrpoError('CLOSED', 'the reward pool is closed', { details: { reason: 'closed' } });
      const eligible = this.eligible(
        this.replicas.filter((r) => this.healthy(r)),
        skewDeadline,
      );
      if (eligible === null && !waitingForAgreement) {
        waitingForAgreement = true;
        this.log.info({ versions: Object.fromEntries(this.versions()) }, 'reward replicas serve different RM versions; waiting until they agree');
      }
      // A replica at its advertised in-flight limit would answer OVERLOADED: wait for a free slot instead.
      const up = (eligible ?? []).filter((r) => r.inFlight < (r.client?.hello.limits.maxInFlight ?? Infinity));
      const preferred = up.filter((r) => !avoid.has(r.url));
      const choices = preferred.length > 0 ? preferred : up;
      if (choices.length > 0) {
        const least = Math.min(...choices.map((r) => r.inFlight));
        if (group !== undefined) {
          // Group affinity: the group's home replica (by hash) keeps its perceptions; leave it only when it is busier.
          const ordered = [...choices].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
          const home = ordered[groupHash(group) % ordered.length];
          if (home !== undefined && home.inFlight <= least + GROUP_AFFINITY_SLACK) return home;
        }
        const tied = choices.filter((r) => r.inFlight === least);
        const chosen = tied[this.rr++ % tied.length];
        if (chosen !== undefined) return chosen;
      }
      const left = (eligible === null ? skewDeadline : deadline) - Date.now();
      const busy = this.replicas.some((r) => r.client?.isOpen === true);
      if (left <= 0 && !busy) throw new VrGrpoError('NO_REPLICA_REACHABLE', 'no reward server replica is reachable', { details: { reason: 'no replica' } });
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(Math.max(left, 50), 250));
        this.waiters.add(wake);
      });
    }
  }

  /**
   * Judges on one replica, retrying on another for failures whose code allows it (see `retryOn`). Rejects with the
   * last attempt's error; CLOSED when the pool closes, NO_REPLICA_REACHABLE when no replica comes up in time. An error
   * from outside the catalogue is not retried, except one raised while the replica's connection dropped: that one
   * becomes CONNECTION_LOST (its cause kept).
   */
  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const tried = new Set<string>();
    let last: unknown = null;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      const r = await this.pick(tried, request.group?.id);
      tried.add(r.url);
      const client = r.client;
      if (client === null) continue;
      const id = `j${++this.seq}`;
      r.inFlight += 1;
      try {
        // Videos and the judge request go out back to back (the socket keeps their order): no round trip per video.
        this.undelivered += 1;
        // Videos held by reference travel as their URI (the judge copy when there is one); only frames go inline.
        const sent = Promise.all(request.videos.map((v, i) => (isVideoFile(v) ? Promise.resolve() : client.sendInlineVideo(`${id}-v${i}`, v)))).finally(() => {
          this.undelivered -= 1;
          if (this.undelivered === 0) for (const wake of this.deliveryWaiters) wake();
        });
        const group = request.group;
        const videos = request.videos.map((v, i) => {
          const videoId = group?.videoIds[i];
          const source = isVideoFile(v) ? { uri: v.judge?.uri ?? v.uri } : { inline: `${id}-v${i}` };
          return videoId === undefined ? source : { ...source, id: videoId };
        });
        const judged = client.judge({
          id,
          prompt: request.prompt,
          mode: request.mode,
          videos,
          ...(request.options === undefined ? {} : { options: request.options }),
          ...(group === undefined ? {} : { group: group.id }),
        });
        const [, verdict] = await Promise.all([sent, judged]);
        // Not r.rmVersion = verdict.rmVersion: a judgment that started before a swap finishes on the old version.
        r.failures = 0;
        return { verdict, replica: r.url, attempts: attempt };
      } catch (thrown) {
        const e = isVrGrpoError(thrown) || client.isOpen ? thrown : connectionLost(r.url, thrown);
        last = e;
        r.failures += 1;
        if (!(this.options.retryOn === 'transport' ? isTransportFailure(e) : isRetryable(e))) throw e;
        this.log.warn(
          { replica: r.url, attempt, code: isVrGrpoError(e) ? e.code : null, err: e instanceof Error ? e.message : String(e) },
          'judgment failed; retrying on another replica',
        );
      } finally {
        r.inFlight -= 1;
        for (const wake of this.waiters) wake();
      }
    }
    throw last instanceof Error
      ? last
      : new VrGrpoError('NO_REPLICA_REACHABLE', `no attempt of the judgment reached a replica (${this.options.maxAttempts} allowed)`);
  }

  /**
   * Resolves once every inline video sent so far has been acknowledged by its replica (or failed), at most after
   * `timeoutMs`. A coordinator waits for this before blocking its event loop with CPU work, so the replicas are not
   * starved of request bytes still sitting in its socket buffers.
   */
  whenDelivered(timeoutMs = 5_000): Promise<void> {
    if (this.undelivered === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.deliveryWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.deliveryWaiters.add(done);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const wake of this.deliveryWaiters) wake();
    this.closed = true;
    for (const wake of this.waiters) wake();
    for (const r of this.replicas) {
      if (r.timer !== null) clearTimeout(r.timer);
      r.timer = null;
    }
    await Promise.all(
      this.replicas.map(async (r) => {
        await r.connecting;
        await r.client?.close();
        r.client = null;
      }),
    );
  }
}

/** A failure from outside the catalogue, raised while the replica's connection dropped: a transport failure. */
function connectionLost(url: string, cause: unknown): VrGrpoError {
  return new VrGrpoError('CONNECTION_LOST', `connection to ${url} lost during a judgment: ${cause instanceof Error ? cause.message : String(cause)}`, {
    details: { url },
    cause,
  });
}

/** Requests a group's home replica may have in flight beyond the least busy one before the group goes elsewhere. */
const GROUP_AFFINITY_SLACK = 8;

/** FNV-1a of a group id (its home replica). */
function groupHash(group: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) {
    h ^= group.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
