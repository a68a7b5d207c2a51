/**
 * The coordinator's HTTP endpoint: the live dashboard page at `/`, Prometheus metrics at `/metrics`, `/healthz`,
 * the run's history at `/api/history`, a Server-Sent Events feed at `/feed`, and the run's MP4s at `/runs/videos/…`.
 * The coordinator hands it step records, events and sampled groups (`publish*`); the page plots and shows them live.
 * Every request's `Host` must name an allowed host (421 otherwise: DNS rebinding) and its `Origin`, when present, be the
 * page's own or an allowed one (403). Lifecycle: starting → running → closing → closed; `close()` ends every feed and
 * connection and the listener.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../common/logger.js';
import { compileHostPolicy, handleHealthRequest, hostAllowed, listenHttp, originAllowed, type HostPolicy } from '../common/http.js';
import { serveMetrics } from '../metrics/metrics-endpoint.js';
import { loadAssets, type Asset } from './assets.js';
import { FeedHistory, type StoredMessage } from './history.js';
import { compileMonitorServerOptions, type MonitorServerOptions, type ResolvedMonitorServerOptions } from './options.js';
import type { EventRecord, GroupRecord, StepRecord } from './records.js';
import { serveRunVideo } from './run-videos.js';
import { SseHub, resumePoint } from './sse-hub.js';

export type MonitorServerState = 'starting' | 'running' | 'closing' | 'closed';

/** The page loads only its own files (uPlot included), its feed and the run's videos. */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export class MonitorServer {
  /** The compiled, frozen options. */
  readonly options: ResolvedMonitorServerOptions;
  readonly #log: Logger;
  readonly #assets: ReadonlyMap<string, Asset>;
  readonly #history: FeedHistory;
  readonly #hub: SseHub;
  readonly #http: http.Server;
  readonly #hostPolicy: HostPolicy;
  #state: MonitorServerState = 'starting';
  #port = 0;
  #closing: Promise<void> | null = null;

  private constructor(options: ResolvedMonitorServerOptions, assets: ReadonlyMap<string, Asset>) {
    this.options = options;
    this.#log = options.log.child({ component: 'monitor-server' });
    this.#assets = assets;
    this.#history = new FeedHistory(options);
    this.#hub = new SseHub({ ...options, log: this.#log });
    this.#hostPolicy = compileHostPolicy(options.host, options.allowedHosts, options.allowedOrigins);
    this.#http = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.#log.error({ err: describe(error), url: req.url }, 'http handler failed');
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
  }

  /**
   * Compiles `options`, reads the page's assets, listens, and resolves once the server accepts connections. Rejects
   * with INVALID_ARGUMENT for a bad option, ADDRESS_IN_USE for a taken port, BIND_FAILED for another address that
   * cannot be bound (`details.reason` = the errno code).
   */
  static async start(options: MonitorServerOptions = {}): Promise<MonitorServer> {
    const server = new MonitorServer(compileMonitorServerOptions(options), await loadAssets());
    await server.#listen();
    return server;
  }

  get state(): MonitorServerState {
    return this.#state;
  }

  /** The bound TCP port (the real one when `port` was 0). */
  get port(): number {
    return this.#port;
  }

  /** The page's address, `http://host:port/`. */
  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${this.#port}/`;
  }

  /** Open `/feed` connections. */
  get feedClients(): number {
    return this.#hub.size;
  }

  /** A step record (a `metrics.jsonl` line; the coordinator's `onStep`). Never throws; ignored once closing. */
  publishStep(record: StepRecord): void {
    if (!Number.isSafeInteger(record.step) || record.step < 0) {
      this.#log.warn({ step: record.step }, 'ignored a step record without a valid step');
      return;
    }
    this.#publish('step', () => this.#history.addStep(record));
  }

  /** An event (an `events.jsonl` line; the coordinator's `onEvent`). Never throws; ignored once closing. */
  publishEvent(record: EventRecord): void {
    this.#publish('event', () => this.#history.addEvent(record));
  }

  /** A sampled group with its MP4s (the coordinator's `onSampledGroup`). Never throws; ignored once closing. */
  publishGroup(group: GroupRecord): void {
    this.#publish('group', () => this.#history.addGroup(group));
  }

  #publish(kind: string, add: () => StoredMessage): void {
    if (this.#state !== 'running') return;
    let message: StoredMessage;
    try {
      message = add();
    } catch (error) {
      // Called from the training loop: a record we cannot serialise must not stop training.
      this.#log.error({ kind, err: describe(error) }, 'could not publish a record');
      return;
    }
    this.#hub.broadcast(message);
  }

  /** Ends every feed, closes every connection and the listener. Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #listen(): Promise<void> {
    const { host, port } = this.options;
    try {
      await listenHttp(this.#http, host, port, 'monitor server');
    } catch (error) {
      this.#state = 'closed';
      this.#hub.close();
      throw error;
    }
    this.#http.on('error', (error: Error) => this.#log.error({ err: error.message }, 'http server error'));
    const address = this.#http.address();
    this.#port = address !== null && typeof address === 'object' ? address.port : port;
    this.#state = 'running';
    this.#log.info({ url: this.url }, 'dashboard listening');
  }

  async #shutdown(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    this.#hub.close();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
    this.#state = 'closed';
    this.#log.info('dashboard closed');
  }

  // ---- requests ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Checked first: a page on another site must not read the run, whether through a rebound name or a cross-site request.
    if (!hostAllowed(req, this.#hostPolicy)) {
      this.#log.warn({ host: req.headers.host?.slice(0, 100), remote: req.socket.remoteAddress }, 'request refused: Host not allowed');
      sendText(res, 421, 'FORBIDDEN_ORIGIN: Host not allowed\n', { connection: 'close' });
      return;
    }
    if (!originAllowed(req, this.#hostPolicy, true)) {
      this.#log.warn({ origin: req.headers.origin?.slice(0, 100), remote: req.socket.remoteAddress }, 'request refused: Origin not allowed');
      sendText(res, 403, 'FORBIDDEN_ORIGIN: Origin not allowed\n', { connection: 'close' });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendText(res, 400, 'bad request target\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const p = url.pathname;
    if (p === '/' || p === '/index.html') return this.#asset(req, res, 'index.html');
    if (p.startsWith('/static/')) return this.#asset(req, res, p.slice(1));
    if (p === '/healthz') return handleHealthRequest(req, res, () => this.#health());
    if (p === '/metrics') return this.#metrics(req, res);
    if (p === '/api/history') return this.#json(req, res, this.#history.bodyJson(this.options.title));
    if (p === '/feed') return this.#feed(req, res, url);
    if (p.startsWith('/runs/')) return this.#runFile(req, res, p.slice('/runs/'.length));
    sendText(res, 404, 'not found\n');
  }

  #health(): { readonly status: 'ok' | 'draining'; readonly step: number; readonly feedClients: number } {
    return { status: this.#state === 'running' ? 'ok' : 'draining', step: this.#history.lastStep, feedClients: this.#hub.size };
  }

  #asset(req: IncomingMessage, res: ServerResponse, route: string): void {
    const a = this.#assets.get(route);
    if (a === undefined) {
      sendText(res, 404, 'not found\n');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': a.contentType,
      'cache-control': 'no-cache',
      etag: a.etag,
      'x-content-type-options': 'nosniff',
      ...(route === 'index.html' ? { 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer' } : {}),
    };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': a.body.length });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }

  #json(req: IncomingMessage, res: ServerResponse, text: string): void {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  async #metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const source = this.options.metrics;
    if (source === null) {
      sendText(res, 404, 'no metrics registry\n');
      return;
    }
    await serveMetrics(req, res, source, { onError: (error) => this.#log.error({ err: describe(error) }, 'collecting metrics failed') });
  }

  #feed(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    this.#hub.open(res, this.#history.since(resumePoint(req, url)), this.#history.seq);
  }

  async #runFile(req: IncomingMessage, res: ServerResponse, encoded: string): Promise<void> {
    const runDir = this.options.runDir;
    if (runDir === null) {
      sendText(res, 404, 'no run directory\n');
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(encoded);
    } catch {
      sendText(res, 400, 'bad path encoding\n');
      return;
    }
    await serveRunVideo(req, res, runDir, relative, this.#log);
  }
}
