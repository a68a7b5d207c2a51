/** Generator-worker server options: the public, documented options and their compilation into one frozen, validated object. */
import { isIP } from 'node:net';
import type { Logger } from '../../common/logger.js';
import type { RolloutArtifacts } from './rollout-artifacts.js';
import { VrGrpoError } from '../../errors/index.js';
import type { Generator, TrainableGenerator } from '../generator.js';

/** Default interface to listen on: loopback only. */
export const DEFAULT_WORKER_HOST = '127.0.0.1';
/**
 * Default largest message the worker accepts, in bytes (16 MiB). Clients send only JSON (prompts, advantages); the
 * videos the worker sends are limited by the client's own `maxPayloadBytes`.
 */
export const DEFAULT_WORKER_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Default WebSocket ping interval, in milliseconds; a peer that missed the previous ping's pong is terminated. */
export const DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS = 30_000;
/** Default time `close()` lets accepted requests finish, in milliseconds. */
export const DEFAULT_WORKER_DRAIN_TIMEOUT_MS = 30_000;
/** Default requests one connection may have waiting for or holding the generator. */
export const DEFAULT_MAX_QUEUED_PER_CONNECTION = 64;
/** Default worker name announced in `hello`. */
export const DEFAULT_WORKER_NAME = 'vr-grpo-generator-worker';
/** Default bound on |advantage| an `update` may carry (the default of `training.advantage.clip`); larger ones are clipped. */
export const DEFAULT_WORKER_ADVANTAGE_CLIP = 5;

/**
 * Whether `host` is a loopback interface: `localhost`, `127.0.0.0/8`, `::1` (bracketed or not) or `::ffff:127.x.x.x`.
 * Anything else — `0.0.0.0`, `::`, a LAN address, a host name — is reachable beyond this machine (or may be).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser writes an IPv6 address in its canonical short form (`0:0:0:0:0:0:0:1` → `::1`, mapped v4 in hex).
  const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

export interface GeneratorWorkerOptions {
  /**
   * The generator served. Trainable (answers `update` / `discard`) when it has `update` and `discard` methods; a plain
   * `Generator` gets INVALID_ARGUMENT for them. Calls to it are serialized (it need not be re-entrant). Not closed by
   * the server.
   */
  readonly generator: Generator | TrainableGenerator;
  /** Logger; the server logs through `log.child({ component: 'generator-worker' })`. */
  readonly log: Logger;
  /** Interface to listen on. Default: `'127.0.0.1'`. */
  readonly host?: string;
  /** TCP port; 0 picks a free port (read it back from `server.port`). Default: 0. */
  readonly port?: number;
  /**
   * Bearer token. When set, a WebSocket upgrade without `Authorization: Bearer <token>` is refused with HTTP 401
   * (UNAUTHORIZED). `/healthz` needs no token. Default: `null` (no authentication) — allowed only on a loopback `host`
   * (see `allowUnauthenticated`).
   */
  readonly token?: string | null;
  /**
   * Serve without a token on a `host` beyond loopback (`0.0.0.0`, a LAN address, a host name). Anyone who can reach
   * the port can then roll out and update the policy: only for a network where every peer is trusted. Without it such
   * a host needs a `token` (INVALID_ARGUMENT, field `token`). Default: `false`.
   */
  readonly allowUnauthenticated?: boolean;
  /**
   * Bound on |advantage| in an `update`, checked at the edge: a larger finite advantage is clipped to ±this (and
   * logged). Set it to `training.advantage.clip` of the run (what `serve-generator` does). Default: 5.
   */
  readonly advantageClip?: number;
  /** Largest message a client may send, in bytes; a larger one closes the connection with 1009. Default: 16 MiB. */
  readonly maxPayloadBytes?: number;
  /** WebSocket ping interval, in milliseconds; a peer that did not answer the previous ping is terminated. 0 disables. Default: 30000. */
  readonly heartbeatIntervalMs?: number;
  /** How long `close()` lets accepted requests (running or queued) finish before closing the sockets, in milliseconds. Default: 30000. */
  readonly drainTimeoutMs?: number;
  /** Requests one connection may have waiting for or holding the generator; one more is answered with OVERLOADED. Default: 64. */
  readonly maxQueuedPerConnection?: number;
  /** Name announced in `hello` (`worker`). Default: `'vr-grpo-generator-worker'`. */
  readonly workerName?: string;
  /**
   * Where `reference` rollouts write their MP4s (protocol v2: videos by reference); announced in `hello` as
   * `artifactRoot`. Default: null (inline delivery only; a reference rollout is NOT_SUPPORTED).
   */
  readonly artifacts?: RolloutArtifacts | null;
}

/** Every option filled in and checked; frozen. */
export interface ResolvedGeneratorWorkerOptions {
  readonly generator: Generator | TrainableGenerator;
  /** Whether `generator` has `update` and `discard`. */
  readonly trainable: boolean;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly allowUnauthenticated: boolean;
  readonly advantageClip: number;
  readonly maxPayloadBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly maxQueuedPerConnection: number;
  readonly workerName: string;
  readonly artifacts: RolloutArtifacts | null;
}

/** Whether `generator` implements the trainable half of the contract. */
export function isTrainable(generator: Generator | TrainableGenerator): generator is TrainableGenerator {
  return 'update' in generator && typeof generator.update === 'function' && 'discard' in generator && typeof generator.discard === 'function';
}

function invalid(field: string, reason: string, got: unknown): VrGrpoError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new VrGrpoError('INVALID_ARGUMENT', `generator worker option ${field}: ${reason} (got ${shown})`, { details: { field, reason } });
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `expected an integer in ${min}..${max}`, v);
  return v;
}

/** Fills defaults and validates every option once, into a frozen object; INVALID_ARGUMENT names the first bad field. */
export function compileGeneratorWorkerOptions(options: GeneratorWorkerOptions): ResolvedGeneratorWorkerOptions {
  const { generator } = options;
  if (typeof generator !== 'object' || generator === null || typeof generator.generate !== 'function') {
    throw invalid('generator', 'expected a Generator', typeof generator);
  }
  const token = options.token ?? null;
  if (token !== null && (typeof token !== 'string' || token.length === 0 || /\s/.test(token))) {
    throw invalid('token', 'expected null or a non-empty string without whitespace', '<redacted>');
  }
  const host = options.host ?? DEFAULT_WORKER_HOST;
  if (typeof host !== 'string' || host.length === 0) throw invalid('host', 'expected a non-empty string', host);
  const allowUnauthenticated = options.allowUnauthenticated ?? false;
  if (typeof allowUnauthenticated !== 'boolean') throw invalid('allowUnauthenticated', 'expected a boolean', allowUnauthenticated);
  if (token === null && !allowUnauthenticated && !isLoopbackHost(host)) {
    throw invalid(
      'token',
      `host ${host} is reachable beyond loopback, where anyone could update the policy: set a token (or allowUnauthenticated: true on a network where every peer is trusted)`,
      null,
    );
  }
  const advantageClip = options.advantageClip ?? DEFAULT_WORKER_ADVANTAGE_CLIP;
  if (typeof advantageClip !== 'number' || !Number.isFinite(advantageClip) || advantageClip <= 0) {
    throw invalid('advantageClip', 'expected a finite number > 0', advantageClip);
  }
  const workerName = options.workerName ?? DEFAULT_WORKER_NAME;
  if (typeof workerName !== 'string' || workerName.length === 0 || workerName.length > 200)
    throw invalid('workerName', 'expected 1..200 characters', workerName);
  return Object.freeze({
    generator,
    trainable: isTrainable(generator),
    log: options.log,
    host,
    port: integer('port', options.port, 0, 0, 65_535),
    token,
    allowUnauthenticated,
    advantageClip,
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_WORKER_MAX_PAYLOAD_BYTES, 1024),
    heartbeatIntervalMs: integer('heartbeatIntervalMs', options.heartbeatIntervalMs, DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS, 0),
    drainTimeoutMs: integer('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_WORKER_DRAIN_TIMEOUT_MS, 0),
    maxQueuedPerConnection: integer('maxQueuedPerConnection', options.maxQueuedPerConnection, DEFAULT_MAX_QUEUED_PER_CONNECTION, 1),
    workerName,
    artifacts: options.artifacts ?? null,
  });
}
