/**
 * The generator worker: the generator-worker protocol (src/protocol/generator-messages.ts) over the shared WebSocket
 * transport (src/transport: listener, bearer auth, heartbeat, lifecycle starting → running → draining → closed), plus
 * `GET /healthz`. Every generator call of every connection goes through one FIFO queue. `close()` lets accepted
 * requests finish (up to `drainTimeoutMs`), then the transport closes every socket and the listener.
 */
import type { Logger } from '../../common/logger.js';
import { handleHealthRequest } from '../../common/http.js';
import { GENERATOR_PROTOCOL_VERSION, type GeneratorWorkerMessage, type WorkerFeatures } from '../../protocol/generator-messages.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, settledWithin, TransportOwner, TransportServer, type TransportState } from '../../transport/index.js';
import { SerialQueue } from './serial-queue.js';
import { WorkerConnection, type WorkerConnectionHost } from './worker-connection.js';
import type { WorkerHealthBody } from './worker-health.js';
import { compileGeneratorWorkerOptions, isTrainable, type GeneratorWorkerOptions, type ResolvedGeneratorWorkerOptions } from './worker-options.js';

/** What the worker supports beyond v1, from its generator and options. */
function workerFeatures(options: ResolvedGeneratorWorkerOptions): WorkerFeatures {
  const g = options.generator;
  const trainable = isTrainable(g) ? g : null;
  return {
    delivery: options.artifacts === null ? ['inline'] : ['inline', 'reference'],
    state: trainable?.saveState !== undefined && trainable.restoreState !== undefined,
    replay: trainable?.replays === true,
  };
}

/** Lifecycle of a worker. Only `running` accepts connections and requests; `draining` finishes what was accepted. */
export type GeneratorWorkerState = TransportState;

/** How long closing sockets may take their closing handshake before they are terminated, in milliseconds. */
export const WORKER_CLOSE_HANDSHAKE_TIMEOUT_MS = CLOSE_HANDSHAKE_TIMEOUT_MS;

/**
 * The generator worker. `close()` (from `TransportOwner`) drains and stops: new requests get GENERATOR_UNAVAILABLE and
 * new upgrades HTTP 503; accepted requests may finish for `drainTimeoutMs` (a generator call cannot be interrupted: one
 * still running then is left to finish unobserved); sockets close with 1001; the listener stops. Idempotent; never
 * rejects; does not close the generator.
 */
export class GeneratorWorkerServer extends TransportOwner<WorkerConnection> {
  /** The compiled, frozen options. */
  readonly options: ResolvedGeneratorWorkerOptions;
  readonly #log: Logger;
  /** Listener, auth, heartbeat, sockets and lifecycle; this class speaks the generator-worker protocol over it. */
  protected override readonly transport: TransportServer<WorkerConnection>;
  readonly #queue = new SerialQueue();
  readonly #host: WorkerConnectionHost;
  #rollouts = 0;
  #updates = 0;
  /** Digest of the served policy as of the last call that could change it (status answers at once, from here). */
  #policyDigest: string | null = null;

  private constructor(options: ResolvedGeneratorWorkerOptions) {
    super();
    this.options = options;
    this.#log = options.log.child({ component: 'generator-worker' });
    this.#host = {
      options,
      queue: this.#queue,
      isDraining: () => this.state !== 'running',
      helloMessage: () => this.#hello(),
      statusMessage: (id) => this.#status(id),
      policyChanged: (digest) => {
        this.#policyDigest = digest;
      },
      completed: (kind) => {
        if (kind === 'rollout') this.#rollouts += 1;
        else this.#updates += 1;
      },
    };
    this.transport = new TransportServer<WorkerConnection>(
      {
        name: 'generator worker',
        log: this.#log,
        host: options.host,
        port: options.port,
        token: options.token,
        maxPayloadBytes: options.maxPayloadBytes,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        drainingRefusal: { code: 'GENERATOR_UNAVAILABLE', message: 'worker is shutting down' },
        goingAwayReason: 'worker shutting down',
        // A rollout is queued in one burst (hundreds of MiB for large groups): the bound on unread bytes is wider here.
        maxSendBufferBytes: 1024 * 1024 * 1024,
      },
      {
        onRequest: (req, res) => handleHealthRequest(req, res, () => this.#health()),
        accept: (connection) => new WorkerConnection(connection, this.#host),
        onDraining: () => this.#log.info({ queued: this.#queue.size, connections: this.connectionCount }, 'draining'),
        drain: { name: 'drain requests', run: () => this.#drainRequests() },
        onClosed: () => this.#log.info({ rollouts: this.#rollouts, updates: this.#updates }, 'generator worker closed'),
      },
    );
  }

  /**
   * Compiles `options`, listens, and resolves once the worker accepts connections. Rejects with INVALID_ARGUMENT for a
   * bad option or an address that cannot be bound (`details.reason` = the errno code).
   */
  static async start(options: GeneratorWorkerOptions): Promise<GeneratorWorkerServer> {
    const server = new GeneratorWorkerServer(compileGeneratorWorkerOptions(options));
    const { generator } = server.options;
    if ('policyDigest' in generator && generator.policyDigest !== undefined) server.#policyDigest = await generator.policyDigest();
    await server.transport.listen();
    server.#log.info(
      { url: server.url, auth: server.options.token !== null, generator: server.options.generator.name, trainable: server.options.trainable },
      'generator worker listening',
    );
    return server;
  }

  /** Requests waiting for or holding the generator, over all connections (including orphan discards). */
  get queued(): number {
    return this.#queue.size;
  }

  async #drainRequests(): Promise<void> {
    if (this.#queue.size === 0) return;
    if (await settledWithin(this.#queue.idle(), this.options.drainTimeoutMs)) return;
    // Closing the sockets below makes queued requests skip; a generator call already running cannot be interrupted.
    this.#log.warn({ queued: this.#queue.size, drainTimeoutMs: this.options.drainTimeoutMs }, 'drain timeout; closing with requests pending');
  }

  // ---- messages ----

  #hello(): GeneratorWorkerMessage {
    return {
      type: 'hello',
      protocol: GENERATOR_PROTOCOL_VERSION,
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      worker: this.options.workerName,
      limits: { maxPayloadBytes: this.options.maxPayloadBytes },
      features: workerFeatures(this.options),
      artifactRoot: this.options.artifacts?.root ?? null,
    };
  }

  #status(id: string | null): GeneratorWorkerMessage {
    return {
      type: 'status',
      id,
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      state: this.state === 'running' ? 'running' : 'draining',
      queued: this.#queue.size,
      connections: this.connectionCount,
      rollouts: this.#rollouts,
      updates: this.#updates,
      policyUpdates: 'update' in this.options.generator && this.options.generator.policyUpdates !== undefined ? this.options.generator.policyUpdates() : null,
      policyDigest: this.#policyDigest,
    };
  }

  #health(): WorkerHealthBody {
    return {
      status: this.state === 'running' ? 'ok' : 'draining',
      generator: this.options.generator.name,
      trainable: this.options.trainable,
      queued: this.#queue.size,
      connections: this.connectionCount,
    };
  }
}
