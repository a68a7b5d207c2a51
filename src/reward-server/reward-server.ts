/**
 * The reward server: the judge protocol (src/protocol) over the shared WebSocket transport (src/transport: listener,
 * bearer auth, heartbeat, lifecycle starting → running → draining → closed), plus `GET /healthz` and `GET /metrics`
 * (docs/metrics.md). `close()` drains in-flight judgments (aborting them after `drainTimeoutMs`), then the transport
 * closes every socket and the listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/logger.js';
import { isMetricsRequest, serveMetrics } from '../metrics/index.js';
import { VrGrpoError } from '../errors/index.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../protocol/index.js';
import { bearerChecker, handleHealthRequest } from '../common/http.js';
import {
  CLOSE_HANDSHAKE_TIMEOUT_MS as TRANSPORT_CLOSE_HANDSHAKE_TIMEOUT_MS,
  describeError,
  pickSocketPolicy,
  settledWithin,
  TransportOwner,
  TransportServer,
  type TransportState,
} from '../transport/index.js';
import { AdminCommands } from './admin.js';
import type { CheckpointEvent } from './checkpoint-manager.js';
import { Connection, type ConnectionHost } from './connection.js';
import type { HealthBody } from './health.js';
import { compileRewardServerOptions, type ResolvedRewardServerOptions, type RewardServerOptions } from './options.js';

/** Lifecycle of a reward server. Only `running` accepts connections and judgments; `draining` finishes what runs. */
export type RewardServerState = TransportState;

/** After aborting judgments that outlived the drain timeout, how long to wait for them to notice, in milliseconds. */
export const ABORT_GRACE_MS = 2_000;
/** How long closing sockets may take their closing handshake before they are terminated, in milliseconds. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = TRANSPORT_CLOSE_HANDSHAKE_TIMEOUT_MS;

/**
 * The reward server. `close()` (from `TransportOwner`) drains and stops: new judgments get SHUTTING_DOWN and new
 * upgrades HTTP 503; in-flight judgments may finish for `drainTimeoutMs`, then are aborted (their clients get
 * SHUTTING_DOWN); sockets close with 1001; the listener stops. Idempotent; never rejects; does not close `service` or
 * `media`.
 */
export class RewardServer extends TransportOwner<Connection> {
  /** The compiled, frozen options. */
  readonly options: ResolvedRewardServerOptions;
  readonly #log: Logger;
  /** Listener, auth, heartbeat, sockets and lifecycle; this class speaks the judge protocol over it. */
  protected override readonly transport: TransportServer<Connection>;
  /** The narrow view a connection gets of its server. */
  readonly #host: ConnectionHost;
  readonly #judgments = new Map<Promise<void>, AbortController>();
  #judgmentsCompleted = 0;
  /** Stops forwarding checkpoint switches as `version_changed` (set while a checkpoint manager is attached). */
  #unsubscribeCheckpoints: (() => void) | null = null;

  private constructor(options: ResolvedRewardServerOptions) {
    super();
    this.options = options;
    this.#log = options.log.child({ component: 'reward-server' });
    const admin = new AdminCommands(options.adminToken, options.checkpoints, this.#log);
    this.#host = {
      options,
      isDraining: () => this.state !== 'running',
      statusMessage: (id) => this.#status(id),
      helloMessage: () => this.#hello(),
      trackJudgment: (run, controller) => {
        this.#judgments.set(run, controller);
        void run.then(() => {
          this.#judgments.delete(run);
        });
      },
      judgmentCompleted: () => {
        this.#judgmentsCompleted += 1;
      },
      admin: (request) => admin.handle(request, this.state !== 'running'),
    };
    if (options.checkpoints !== null) this.#unsubscribeCheckpoints = options.checkpoints.subscribe((event) => this.#onCheckpointEvent(event));
    options.metrics.bind({
      backend: () => this.options.service.backendName,
      rmVersion: () => this.#rmVersion(),
      inFlight: () => this.inFlight,
      connections: () => this.connectionCount,
    });
    // `/metrics` needs the bearer token only when asked to (docs/metrics.md): by default it is scrapable like /healthz.
    const metricsAuthorized = options.metricsRequireToken ? bearerChecker(options.token) : undefined;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (isMetricsRequest(req)) {
        void serveMetrics(req, res, options.metrics, {
          ...(metricsAuthorized === undefined ? {} : { authorized: metricsAuthorized }),
          onError: (error) => this.#log.error({ err: describeError(error) }, 'metrics collection failed'),
        });
        return;
      }
      handleHealthRequest(req, res, () => this.#health());
    };
    this.transport = new TransportServer<Connection>(
      {
        name: 'reward server',
        log: this.#log,
        host: options.host,
        port: options.port,
        token: options.token,
        maxPayloadBytes: options.maxPayloadBytes,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        drainingRefusal: { code: 'SHUTTING_DOWN', message: 'server is shutting down' },
        goingAwayReason: 'server shutting down',
        ...pickSocketPolicy(options),
      },
      {
        onRequest,
        accept: (connection) => {
          options.metrics.connectionOpened();
          return new Connection(connection, this.#host);
        },
        onUpgradeRefused: (reason) => options.metrics.upgradeRefused(reason),
        onDraining: () => {
          this.#log.info({ inFlight: this.inFlight, connections: this.connectionCount }, 'draining');
          this.#unsubscribeCheckpoints?.();
          this.#unsubscribeCheckpoints = null;
        },
        drain: { name: 'drain judgments', run: () => this.#drainJudgments() },
        onClosed: () => this.#log.info({ judgments: this.#judgmentsCompleted }, 'reward server closed'),
      },
    );
  }

  /**
   * Compiles `options`, listens, and resolves once the server accepts connections. Rejects with INVALID_ARGUMENT
   * for a bad option, a missing artifact root, or an address that cannot be bound (`details.reason` = the errno code).
   */
  static async start(options: RewardServerOptions): Promise<RewardServer> {
    const server = new RewardServer(await compileRewardServerOptions(options));
    await server.transport.listen();
    server.#log.info(
      { url: server.url, auth: server.options.token !== null, artifactRoot: server.options.artifactRoot, backend: server.options.service.backendName },
      'reward server listening',
    );
    return server;
  }

  /** Judgments running now, over all connections (including ones whose client left and that are being aborted). */
  get inFlight(): number {
    return this.#judgments.size;
  }

  // ---- lifecycle ----

  async #drainJudgments(): Promise<void> {
    if (this.#judgments.size === 0) return;
    const running = Promise.all(this.#judgments.keys());
    if (await settledWithin(running, this.options.drainTimeoutMs)) return;
    this.#log.warn({ inFlight: this.#judgments.size, drainTimeoutMs: this.options.drainTimeoutMs }, 'drain timeout; aborting judgments');
    const reason = new VrGrpoError('SHUTTING_DOWN', `server shut down before the judgment finished (drain timeout ${this.options.drainTimeoutMs} ms)`);
    for (const controller of this.#judgments.values()) controller.abort(reason);
    if (!(await settledWithin(running, ABORT_GRACE_MS))) {
      this.#log.error({ inFlight: this.#judgments.size }, 'judgments ignored their abort signal; closing anyway');
    }
  }

  // ---- messages ----

  /** Tells every connection that new judgments start on another version. */
  #onCheckpointEvent(event: CheckpointEvent): void {
    if (event.type === 'rejected') this.options.metrics.checkpointRejected(event.code);
    if (event.type !== 'swapped') return;
    const reason = event.action === 'rollback' ? 'rollback' : event.origin === 'watch' ? 'watch' : 'load';
    const message: ServerMessage = {
      type: 'version_changed',
      rmVersion: event.rmVersion,
      previousVersion: event.previousVersion,
      reason,
      at: event.at.toISOString(),
    };
    for (const connection of this.transport.handlers()) connection.notify(message);
    this.#log.info({ rmVersion: event.rmVersion, previousVersion: event.previousVersion, reason, connections: this.connectionCount }, 'version_changed sent');
  }

  #rmVersion(): string {
    try {
      return this.options.service.rmVersion();
    } catch (error) {
      this.#log.warn({ err: describeError(error) }, 'service.rmVersion() failed');
      return 'unknown';
    }
  }

  #hello(): ServerMessage {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: this.options.serverName,
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      limits: { maxPayloadBytes: this.options.maxPayloadBytes, maxInFlight: this.options.maxInFlightPerConnection },
    };
  }

  #status(id: string | null): ServerMessage {
    return {
      type: 'status',
      id,
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      state: this.state === 'running' ? 'running' : 'draining',
      inFlight: this.inFlight,
      connections: this.connectionCount,
      judgments: this.#judgmentsCompleted,
    };
  }

  #health(): HealthBody {
    return {
      status: this.state === 'running' ? 'ok' : 'draining',
      rmVersion: this.#rmVersion(),
      backend: this.options.service.backendName,
      inFlight: this.inFlight,
      connections: this.connectionCount,
    };
  }
}
