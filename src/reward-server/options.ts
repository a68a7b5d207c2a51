/** Reward-server options: the public, documented options and their compilation into one frozen, validated object. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { RewardServerMetrics, type RewardServerMetricsSink } from '../metrics/index.js';
import { VrGrpoError } from '../errors/index.js';
import type { JudgeService } from '../judge/judge-service.js';
import { DEFAULT_DECODE_MAX_PIXELS, DEFAULT_MEDIA_LIMITS, type MediaLimits, type MediaPort } from '../media/index.js';
import { pickSocketPolicy, type SocketPolicyOptions } from '../transport/index.js';
import type { CheckpointManager } from './checkpoint-manager.js';
import { MemoryBudget } from './memory-budget.js';

/** Default interface to listen on: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/** Default largest WebSocket message, in bytes (64 MiB): a 64×64×24 RGB24 video is 288 KiB, a 512×512×96 one 72 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Default judge requests one connection may have in flight (a coordinator sends a whole step at once); = the config's default. */
export const DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 64;
/** Default bytes of inline video one connection may hold (stored or in use by its judgments): 256 MiB. */
export const DEFAULT_MAX_INLINE_BYTES_PER_CONNECTION = 256 * 1024 * 1024;
/** Default bytes of frames (inline videos and decoded files) all connections together may hold: 1 GiB. */
export const DEFAULT_MAX_FRAME_MEMORY_BYTES = 1024 * 1024 * 1024;
/** Default most pixels per frame of an inline video (1024×1024). */
export const DEFAULT_MAX_INLINE_PIXELS_PER_FRAME = 1024 * 1024;
/** Pixel budget of decoded frames for the embedded judge (128×128): its world frames are 64×64. */
export const EMBEDDED_DECODE_MAX_PIXELS = 128 * 128;
/** Upper bounds of the media limits (documented maxima): 16384² pixels, 1M frames, 24 h, 16 GiB. */
export const MEDIA_LIMIT_MAXIMA: Readonly<Record<keyof MediaLimits, number>> = Object.freeze({
  maxPixelsPerFrame: 16384 * 16384,
  maxFrames: 1_000_000,
  maxDurationSeconds: 86_400,
  maxDecodedBytes: 16 * 1024 * 1024 * 1024,
});
/** Default WebSocket ping interval, in milliseconds; a peer that missed the previous ping's pong is terminated. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Default time `close()` lets in-flight judgments finish before aborting them, in milliseconds. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Default frames per second of an inline video whose header omits `fps`. */
export const DEFAULT_INLINE_FPS = 8;
/** Default server name announced in `hello`. */
export const DEFAULT_SERVER_NAME = 'vr-grpo-reward-server';

/** Socket-level limits (`maxConnections`, `maxSendBufferBytes`, `allowedHosts`, `allowedOrigins`): see `TransportServerOptions`. */
export interface RewardServerOptions extends SocketPolicyOptions {
  /** The judge that answers `judge` requests. Not closed by the server. */
  readonly service: JudgeService;
  /**
   * The media adapter used to decode `file://` videos: a `Media`, or a `ThreadedMedia` (what `serve-reward` uses) so
   * that ffprobe/ffmpeg spawns do not stall the event loop. Not closed by the server.
   */
  readonly media: MediaPort;
  /** Logger; the server logs through `log.child({ component: 'reward-server' })`. */
  readonly log: Logger;
  /**
   * Absolute directory that `file://` video URIs must resolve into (after `realpath`, so symlinks pointing out are
   * refused with FORBIDDEN_PATH). Must exist at start.
   */
  readonly artifactRoot: string;
  /** Interface to listen on. Default: `'127.0.0.1'`. */
  readonly host?: string;
  /** TCP port; 0 picks a free port (read it back from `server.port`). Default: 0. */
  readonly port?: number;
  /**
   * Bearer token. When set, a WebSocket upgrade without `Authorization: Bearer <token>` is refused with HTTP 401
   * (UNAUTHORIZED). `/healthz` needs no token. Default: `null` (no authentication).
   */
  readonly token?: string | null;
  /**
   * Whether `GET /metrics` needs the bearer `token` too (only when a token is set). Default: `false` — like `/healthz`,
   * scrapable without a token (the exposition carries only bounded labels; see docs/metrics.md).
   */
  readonly metricsRequireToken?: boolean;
  /** This server's metrics, served at `GET /metrics` (docs/metrics.md); one per server. Default: a new `RewardServerMetrics`. */
  readonly metrics?: RewardServerMetricsSink;
  /** Largest WebSocket message (text or binary), in bytes; a larger one closes the connection with 1009. Default: 64 MiB. */
  readonly maxPayloadBytes?: number;
  /** Judge requests one connection may have in flight; one more is answered with OVERLOADED. Default: 64. */
  readonly maxInFlightPerConnection?: number;
  /**
   * Bytes of inline video one connection may hold at once, counting videos stored and not yet used plus videos in use
   * by its in-flight judgments. A header that would exceed it is answered with OVERLOADED (INVALID_REQUEST when the
   * one video alone is larger). Default: 256 MiB.
   */
  readonly maxInlineBytesPerConnection?: number;
  /** WebSocket ping interval, in milliseconds; a peer that did not answer the previous ping is terminated. 0 disables. Default: 30000. */
  readonly heartbeatIntervalMs?: number;
  /** How long `close()` waits for in-flight judgments before aborting them, in milliseconds. Default: 30000. */
  readonly drainTimeoutMs?: number;
  /** Size `file://` videos are decoded to, in pixels. Default: `null` (the native size shrunk to `decodeMaxPixels`). */
  readonly judgeSize?: { readonly width: number; readonly height: number } | null;
  /**
   * Pixel budget of the frames the judge sees: a `file://` video (when `judgeSize` is null) is scaled down by ffmpeg so
   * its frames never reach the server at native size; a larger inline frame is shrunk by box averaging as the judge
   * reads it. Aspect kept, never enlarged. Default: 409600 (640×640).
   */
  readonly decodeMaxPixels?: number;
  /**
   * Limits a `file://` video must respect, checked from ffprobe's header before decoding (VIDEO_TOO_LARGE otherwise):
   * `maxPixelsPerFrame` (default 3840·2160; max 16384²), `maxFrames` (default 4096; max 1e6), `maxDurationSeconds`
   * (default 600; max 86400), `maxDecodedBytes` (RGB24 at the decoded size; default 256 MiB; max 16 GiB).
   */
  readonly mediaLimits?: Partial<MediaLimits>;
  /** Most pixels per frame of an inline video; a larger header is VIDEO_TOO_LARGE. Default: 1048576 (1024×1024). */
  readonly maxInlinePixelsPerFrame?: number;
  /**
   * Bytes of frames all connections together may hold: inline videos (stored or in use) and decoded `file://` videos
   * of running judgments. A video that would exceed it is refused with OVERLOADED (retryable). Default: 1 GiB.
   */
  readonly maxFrameMemoryBytes?: number;
  /** Frames per second assumed for an inline video whose header has no `fps`. Default: 8. */
  readonly defaultInlineFps?: number;
  /** Name announced in the `hello` message. Default: `'vr-grpo-reward-server'`. */
  readonly serverName?: string;
  /**
   * Admin token: `load_checkpoint`, `rollback` and `checkpoint_status` must carry it in their `adminToken` field
   * (ADMIN_FORBIDDEN otherwise). Must differ from `token`. Default: `null` (admin commands disabled).
   */
  readonly adminToken?: string | null;
  /**
   * The checkpoint manager that makes the judge swappable; pass it as `service` too. The server answers admin
   * commands through it and sends `version_changed` to every connection when it switches. Not closed by the server.
   * Default: `null` (no swapping).
   */
  readonly checkpoints?: CheckpointManager | null;
}

/** Every option filled in and checked; frozen. */
export interface ResolvedRewardServerOptions extends SocketPolicyOptions {
  readonly service: JudgeService;
  readonly media: MediaPort;
  readonly log: Logger;
  /** `artifactRoot` after `realpath`. */
  readonly artifactRoot: string;
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly metricsRequireToken: boolean;
  readonly metrics: RewardServerMetricsSink;
  readonly maxPayloadBytes: number;
  readonly maxInFlightPerConnection: number;
  readonly maxInlineBytesPerConnection: number;
  readonly heartbeatIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly judgeSize: { readonly width: number; readonly height: number } | null;
  readonly decodeMaxPixels: number;
  readonly mediaLimits: MediaLimits;
  readonly maxInlinePixelsPerFrame: number;
  readonly maxFrameMemoryBytes: number;
  /** The server-wide frame budget (`maxFrameMemoryBytes`), shared by all connections of the server. */
  readonly frameMemory: MemoryBudget;
  readonly defaultInlineFps: number;
  readonly serverName: string;
  readonly adminToken: string | null;
  readonly checkpoints: CheckpointManager | null;
}

function invalid(field: string, reason: string, got: unknown): VrGrpoError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new VrGrpoError('INVALID_ARGUMENT', `reward server option ${field}: ${reason} (got ${shown})`, { details: { field, reason } });
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `expected an integer in ${min}..${max}`, v);
  return v;
}

function compileMediaLimits(given: Partial<MediaLimits> | undefined): MediaLimits {
  const limits = { ...DEFAULT_MEDIA_LIMITS, ...given };
  for (const field of ['maxPixelsPerFrame', 'maxFrames', 'maxDecodedBytes'] as const) {
    integer(`mediaLimits.${field}`, limits[field], DEFAULT_MEDIA_LIMITS[field], 1, MEDIA_LIMIT_MAXIMA[field]);
  }
  const seconds = limits.maxDurationSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MEDIA_LIMIT_MAXIMA.maxDurationSeconds) {
    throw invalid('mediaLimits.maxDurationSeconds', `expected a number in (0, ${MEDIA_LIMIT_MAXIMA.maxDurationSeconds}]`, seconds);
  }
  return Object.freeze(limits);
}

/** `realpath` of the artifact root; INVALID_ARGUMENT unless it is an existing directory. */
async function realArtifactRoot(root: string): Promise<string> {
  if (typeof root !== 'string' || !path.isAbsolute(root)) throw invalid('artifactRoot', 'expected an absolute directory path', root);
  try {
    const real = await fs.realpath(root);
    if (!(await fs.stat(real)).isDirectory()) throw invalid('artifactRoot', 'not a directory', root);
    return real;
  } catch (error) {
    if (error instanceof VrGrpoError) throw error;
    throw invalid('artifactRoot', `cannot be resolved (${error instanceof Error ? error.message : String(error)})`, root);
  }
}

/**
 * Fills defaults and validates every option once, into a frozen object; INVALID_ARGUMENT names the first bad field.
 * The only I/O: `realpath` of `artifactRoot`, which must be an existing directory.
 */
export async function compileRewardServerOptions(options: RewardServerOptions): Promise<ResolvedRewardServerOptions> {
  const token = options.token ?? null;
  if (token !== null && (typeof token !== 'string' || token.length === 0 || /[\s]/.test(token))) {
    throw invalid('token', 'expected null or a non-empty string without whitespace', token === null ? null : '<redacted>');
  }
  const adminToken = options.adminToken ?? null;
  if (adminToken !== null && (typeof adminToken !== 'string' || adminToken.length === 0 || /[\s]/.test(adminToken))) {
    throw invalid('adminToken', 'expected null or a non-empty string without whitespace', '<redacted>');
  }
  if (adminToken !== null && adminToken === token)
    throw invalid('adminToken', 'must differ from token (the admin token is the stronger credential)', '<redacted>');
  const checkpoints = options.checkpoints ?? null;
  if (checkpoints !== null && options.service !== checkpoints) {
    throw invalid('checkpoints', 'the checkpoint manager must also be the service (pass it as both service and checkpoints)', '<manager>');
  }
  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) throw invalid('host', 'expected a non-empty string', host);
  const judgeSize = options.judgeSize ?? null;
  if (judgeSize !== null) {
    integer('judgeSize.width', judgeSize.width, 0, 2, 4096);
    integer('judgeSize.height', judgeSize.height, 0, 2, 4096);
  }
  const defaultInlineFps = options.defaultInlineFps ?? DEFAULT_INLINE_FPS;
  if (typeof defaultInlineFps !== 'number' || !Number.isFinite(defaultInlineFps) || defaultInlineFps <= 0) {
    throw invalid('defaultInlineFps', 'expected a finite number > 0', defaultInlineFps);
  }
  const serverName = options.serverName ?? DEFAULT_SERVER_NAME;
  if (typeof serverName !== 'string' || serverName.length === 0) throw invalid('serverName', 'expected a non-empty string', serverName);
  if (options.metricsRequireToken !== undefined && typeof options.metricsRequireToken !== 'boolean')
    throw invalid('metricsRequireToken', 'expected a boolean', options.metricsRequireToken);
  const frameMemoryBytes = integer('maxFrameMemoryBytes', options.maxFrameMemoryBytes, DEFAULT_MAX_FRAME_MEMORY_BYTES, 0, 256 * 1024 * 1024 * 1024);
  return Object.freeze({
    service: options.service,
    media: options.media,
    log: options.log,
    artifactRoot: await realArtifactRoot(options.artifactRoot),
    host,
    port: integer('port', options.port, 0, 0, 65_535),
    token,
    metricsRequireToken: options.metricsRequireToken ?? false,
    metrics: options.metrics ?? new RewardServerMetrics(),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 1024),
    ...pickSocketPolicy(options),
    maxInFlightPerConnection: integer('maxInFlightPerConnection', options.maxInFlightPerConnection, DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION, 1),
    maxInlineBytesPerConnection: integer('maxInlineBytesPerConnection', options.maxInlineBytesPerConnection, DEFAULT_MAX_INLINE_BYTES_PER_CONNECTION, 0),
    heartbeatIntervalMs: integer('heartbeatIntervalMs', options.heartbeatIntervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS, 0),
    drainTimeoutMs: integer('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS, 0),
    judgeSize: judgeSize === null ? null : Object.freeze({ width: judgeSize.width, height: judgeSize.height }),
    decodeMaxPixels: integer('decodeMaxPixels', options.decodeMaxPixels, DEFAULT_DECODE_MAX_PIXELS, 9, 4096 * 4096),
    mediaLimits: compileMediaLimits(options.mediaLimits),
    maxInlinePixelsPerFrame: integer('maxInlinePixelsPerFrame', options.maxInlinePixelsPerFrame, DEFAULT_MAX_INLINE_PIXELS_PER_FRAME, 4, 16384 * 16384),
    maxFrameMemoryBytes: frameMemoryBytes,
    frameMemory: new MemoryBudget(frameMemoryBytes),
    defaultInlineFps,
    serverName,
    adminToken,
    checkpoints,
  });
}
