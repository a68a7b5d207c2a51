/** Monitor-server options: the public, documented options and their compilation into one frozen, validated object. */
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { VrGrpoError } from '../errors/index.js';
import type { MetricsSource } from '../metrics/metrics-endpoint.js';

/** Default interface to listen on: loopback only. */
export const DEFAULT_MONITOR_HOST = '127.0.0.1';
/** Default TCP port of the coordinator's HTTP endpoint (dashboard and `/metrics`). */
export const DEFAULT_MONITOR_PORT = 9464;
/** Default interval of SSE heartbeat comments, in milliseconds. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
/** Default step records kept for `/api/history` (the oldest are dropped beyond it). */
export const DEFAULT_MAX_STEPS = 10_000;
/** Default events kept for `/api/history`. */
export const DEFAULT_MAX_EVENTS = 10_000;
/** Default sampled groups kept (the page shows the latest). */
export const DEFAULT_MAX_GROUPS = 4;
/** Default simultaneous `/feed` clients; one more gets HTTP 503. */
export const DEFAULT_MAX_CLIENTS = 32;
/** Default bytes a slow `/feed` client may have queued before it is dropped (its browser reconnects and catches up). */
export const DEFAULT_MAX_CLIENT_BUFFER_BYTES = 1024 * 1024;

/** A prom-client `Registry`, as far as `/metrics` needs it. */
export interface RegistryLike {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MonitorServerOptions {
  /** Interface to listen on. Default: `'127.0.0.1'`. */
  readonly host?: string;
  /** TCP port; 0 picks a free port (read it back from `server.port`). Default: 9464. */
  readonly port?: number;
  /** The run directory; `GET /runs/videos/…` serves its MP4s. Default: `null` (no videos served). */
  readonly runDir?: string | null;
  /**
   * Served at `GET /metrics`: a `MetricsSource` (`CoordinatorMetrics`) or a prom-client `Registry` (its content type
   * is used). Default: `null` (`/metrics` answers 404).
   */
  readonly metrics?: MetricsSource | RegistryLike | null;
  /** Page title (e.g. the run's name). Default: the run directory's base name, else `'vr-grpo'`. */
  readonly title?: string;
  /** Logger; the server logs through `log.child({ component: 'monitor-server' })`. Default: silent. */
  readonly log?: Logger;
  /** SSE heartbeat comment interval, in milliseconds; 0 disables. Default: 15000. */
  readonly heartbeatIntervalMs?: number;
  /** Step records kept for late page loads. Default: 10000. */
  readonly maxSteps?: number;
  /** Events kept for late page loads. Default: 10000. */
  readonly maxEvents?: number;
  /** Sampled groups kept. Default: 4. */
  readonly maxGroups?: number;
  /** Simultaneous `/feed` clients. Default: 32. */
  readonly maxClients?: number;
  /** Bytes queued for one slow `/feed` client before it is dropped. Default: 1 MiB. */
  readonly maxClientBufferBytes?: number;
  /**
   * Host names a request's `Host` header may name; others get HTTP 421 (against DNS rebinding); `'*'`: any. Default
   * `null`: `localhost`, `127.0.0.1`, `::1` and `host` (any host when `host` is `0.0.0.0` or `::`).
   */
  readonly allowedHosts?: readonly string[] | null;
  /** Cross-site origins (`http://host:port`) a request's `Origin` may carry; others get HTTP 403; `'*'`: any. The page's own origin always passes. Default: none. */
  readonly allowedOrigins?: readonly string[];
}

/** Every option filled in and checked; frozen. */
export interface ResolvedMonitorServerOptions {
  readonly host: string;
  readonly port: number;
  /** Absolute, or null. */
  readonly runDir: string | null;
  readonly metrics: MetricsSource | null;
  readonly title: string;
  readonly log: Logger;
  readonly heartbeatIntervalMs: number;
  readonly maxSteps: number;
  readonly maxEvents: number;
  readonly maxGroups: number;
  readonly maxClients: number;
  readonly maxClientBufferBytes: number;
  readonly allowedHosts: readonly string[] | null;
  readonly allowedOrigins: readonly string[];
}

const count = (min: number): z.ZodNumber => z.number().int().min(min).max(Number.MAX_SAFE_INTEGER);

const scalars = z
  .object({
    host: z.string().min(1).default(DEFAULT_MONITOR_HOST),
    port: z.number().int().min(0).max(65_535).default(DEFAULT_MONITOR_PORT),
    runDir: z.string().min(1).nullable().default(null),
    title: z.string().min(1).max(200).optional(),
    heartbeatIntervalMs: count(0).default(DEFAULT_HEARTBEAT_INTERVAL_MS),
    maxSteps: count(1).default(DEFAULT_MAX_STEPS),
    maxEvents: count(1).default(DEFAULT_MAX_EVENTS),
    maxGroups: count(1).default(DEFAULT_MAX_GROUPS),
    maxClients: count(1).default(DEFAULT_MAX_CLIENTS),
    maxClientBufferBytes: count(1024).default(DEFAULT_MAX_CLIENT_BUFFER_BYTES),
    allowedHosts: z.array(z.string().min(1).max(256)).max(64).nullable().default(null),
    allowedOrigins: z.array(z.string().min(1).max(256)).max(64).default([]),
  })
  .strict();

/** The one shape `/metrics` serves from: a registry is wrapped; null when `value` is neither. */
function metricsSource(value: unknown): MetricsSource | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Partial<Record<keyof MetricsSource | keyof RegistryLike, unknown>>;
  if (typeof v.exposition === 'function') return value as MetricsSource;
  if (typeof v.metrics === 'function' && typeof v.contentType === 'string') {
    const registry = value as RegistryLike;
    return { exposition: async () => ({ contentType: registry.contentType, body: await registry.metrics() }) };
  }
  return null;
}

/** Fills defaults and validates every option once, into a frozen object; INVALID_ARGUMENT names the first bad field. */
export function compileMonitorServerOptions(options: MonitorServerOptions = {}): ResolvedMonitorServerOptions {
  const { metrics = null, log = silentLogger(), ...rest } = options;
  const parsed = scalars.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    throw new VrGrpoError('INVALID_ARGUMENT', `monitor server option ${field}: ${issue?.message ?? 'invalid'}`, {
      details: { field, reason: issue?.message ?? 'invalid' },
    });
  }
  const source = metrics === null ? null : metricsSource(metrics);
  if (metrics !== null && source === null) {
    throw new VrGrpoError(
      'INVALID_ARGUMENT',
      'monitor server option metrics: expected null, a MetricsSource (exposition()) or a prom-client Registry (metrics(), contentType)',
      {
        details: { field: 'metrics', reason: 'not a metrics source' },
      },
    );
  }
  const p = parsed.data;
  const runDir = p.runDir === null ? null : path.resolve(p.runDir);
  return Object.freeze({
    host: p.host,
    port: p.port,
    runDir,
    metrics: source,
    title: p.title ?? (runDir === null ? 'vr-grpo' : path.basename(runDir)),
    log,
    heartbeatIntervalMs: p.heartbeatIntervalMs,
    maxSteps: p.maxSteps,
    maxEvents: p.maxEvents,
    maxGroups: p.maxGroups,
    maxClients: p.maxClients,
    maxClientBufferBytes: p.maxClientBufferBytes,
    allowedHosts: p.allowedHosts === null ? null : Object.freeze([...p.allowedHosts]),
    allowedOrigins: Object.freeze([...p.allowedOrigins]),
  });
}
