/**
 * The reward server's metrics (prefix `vrgrpo_rm_`): judgments by mode/outcome/RM version, latency, turns, tool calls,
 * frames viewed, format errors, hallucinations (counted and as a rate over the last N judgments), connections,
 * in-flight judgments, frame-decode time and the checkpoint being served. One registry per server, owned here.
 * The server reports through the narrow `RewardServerMetricsSink`; docs/metrics.md lists every metric.
 */
import { Registry } from 'prom-client';
import { VrGrpoError } from '../errors/index.js';
import { HALLUCINATION_KINDS, type HallucinationKind } from '../protocol/index.js';
import { MetricSet, type MetricDefinition } from './metric-set.js';
import type { MetricsExposition, MetricsSource } from './metrics-endpoint.js';
import { SlidingWindowRatio } from './sliding-window.js';

/** Default judgments in the sliding hallucination window. */
export const DEFAULT_HALLUCINATION_WINDOW = 500;

export const JUDGMENT_MODES = ['pairwise', 'pointwise'] as const;
export type JudgmentMode = (typeof JUDGMENT_MODES)[number];
/** ok: a verdict was sent; failed: an error was sent; cancelled: the client left before the judgment ended. */
export const JUDGMENT_OUTCOMES = ['ok', 'failed', 'cancelled'] as const;
export type JudgmentOutcome = (typeof JUDGMENT_OUTCOMES)[number];
export const FRAME_SOURCES = ['file', 'inline'] as const;
export type FrameSourceKind = (typeof FRAME_SOURCES)[number];
export const UPGRADE_REFUSALS = ['unauthorized', 'shutting_down', 'forbidden_host', 'forbidden_origin', 'overloaded'] as const;
export type UpgradeRefusal = (typeof UPGRADE_REFUSALS)[number];

/** What the metrics read from the server at scrape time. */
export interface RewardServerView {
  /** The judge backend's name (embedded, vlm, …). */
  backend(): string;
  /** The RM version new judgments start on (may throw; then `unknown`). */
  rmVersion(): string;
  inFlight(): number;
  connections(): number;
}

/** One judgment that was admitted and ended. */
export interface JudgmentRecord {
  readonly mode: JudgmentMode;
  readonly outcome: JudgmentOutcome;
  /** From admission to verdict or error, in seconds. */
  readonly seconds: number;
  /** The verdict's RM version; default: the server's current one. */
  readonly rmVersion?: string;
  /** The error code of a failed or cancelled judgment. */
  readonly code?: string;
  /** The verdict of an `ok` judgment. */
  readonly verdict?: {
    readonly toolCalls: number;
    /** Frames whose images the judge saw, over all videos. */
    readonly framesViewed: number;
    readonly formatErrors: number;
    readonly forced: boolean;
    readonly hallucinations: readonly { readonly kind: HallucinationKind }[];
    /** Assistant turns, when the backend reported its turns. */
    readonly turns: number | null;
  };
}

/** What the reward server calls. */
export interface RewardServerMetricsSink extends MetricsSource {
  /** Attaches the server whose state is read at scrape time (once). */
  bind(view: RewardServerView): void;
  connectionOpened(): void;
  upgradeRefused(reason: UpgradeRefusal): void;
  /** Every `error` message sent, by code. */
  errorSent(code: string): void;
  /** A checkpoint load or validation was refused (the current version kept serving), by error code. */
  checkpointRejected(code: string): void;
  judgment(record: JudgmentRecord): void;
  /** One read of frames from a video: how long it took and how many frames it returned. */
  frameDecode(source: FrameSourceKind, seconds: number, frames: number): void;
}

export interface RewardServerMetricsOptions {
  /** Judgments the sliding hallucination window holds. Default: 500. */
  readonly hallucinationWindow?: number;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const DECODE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const TURN_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 12];
const TOOL_CALL_BUCKETS = [0, 1, 2, 3, 4, 6, 8];
const FRAME_BUCKETS = [2, 4, 8, 12, 16, 24, 32, 48, 64, 96];

const nonNegative = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);

export class RewardServerMetrics implements RewardServerMetricsSink {
  /** This server's registry (never the global default). */
  readonly registry: Registry;
  readonly #set: MetricSet;
  readonly #window: SlidingWindowRatio<HallucinationKind>;
  #view: RewardServerView | null = null;
  #version: string | null = null;

  readonly #checkpointInfo;
  readonly #checkpointChanges;
  readonly #judgments;
  readonly #duration;
  readonly #failures;
  readonly #turns;
  readonly #toolCalls;
  readonly #framesViewed;
  readonly #formatErrors;
  readonly #forced;
  readonly #hallucinations;
  readonly #errorsSent;
  readonly #checkpointRejections;
  readonly #connectionsOpened;
  readonly #upgradesRefused;
  readonly #decodeDuration;
  readonly #framesDecoded;

  constructor(options: RewardServerMetricsOptions = {}) {
    this.registry = new Registry();
    const m = new MetricSet(this.registry);
    this.#set = m;
    this.#window = new SlidingWindowRatio(options.hallucinationWindow ?? DEFAULT_HALLUCINATION_WINDOW, HALLUCINATION_KINDS);
    // The order here is the order of the exposition and of docs/metrics.md.
    this.#checkpointInfo = m.gauge('vrgrpo_rm_checkpoint_info', 'The judge checkpoint this server judges with (value 1).', ['rm_version', 'backend'], () => {
      this.#noteVersion(this.#currentVersion());
    });
    this.#checkpointChanges = m.counter('vrgrpo_rm_checkpoint_changes_total', 'Times the served RM version changed (checkpoint swaps).');
    this.#judgments = m.counter('vrgrpo_rm_judgments_total', 'Admitted judgments that ended, by mode, outcome (ok, failed, cancelled) and RM version.', [
      'mode',
      'outcome',
      'rm_version',
    ]);
    this.#duration = m.histogram('vrgrpo_rm_judgment_duration_seconds', 'Judgment latency from admission to verdict or error.', LATENCY_BUCKETS, [
      'mode',
      'outcome',
    ]);
    this.#failures = m.counter('vrgrpo_rm_judgment_failures_total', 'Judgments that failed or were cancelled, by error code.', ['code']);
    this.#turns = m.histogram('vrgrpo_rm_judgment_turns', 'Assistant turns per successful judgment.', TURN_BUCKETS, ['mode']);
    this.#toolCalls = m.histogram('vrgrpo_rm_judgment_tool_calls', 'select_frames tool calls per successful judgment.', TOOL_CALL_BUCKETS, ['mode']);
    this.#framesViewed = m.histogram(
      'vrgrpo_rm_judgment_frames_viewed',
      'Frames whose images the judge saw per successful judgment, over all videos.',
      FRAME_BUCKETS,
      ['mode'],
    );
    this.#formatErrors = m.counter('vrgrpo_rm_format_errors_total', 'Unparseable judge turns that were recovered from by a re-ask.');
    this.#forced = m.counter(
      'vrgrpo_rm_forced_answers_total',
      'Verdicts whose answer was forced from the last recommendation because the turn budget ran out.',
      ['mode'],
    );
    this.#hallucinations = m.counter('vrgrpo_rm_hallucinations_total', 'Hallucinations reported in verdicts, by kind.', ['kind']);
    m.gauge(
      'vrgrpo_rm_hallucinations_per_judgment',
      'Hallucinations of each kind per judgment over the last N successful judgments (N = vrgrpo_rm_hallucination_window_judgments).',
      ['kind'],
      (g) => {
        for (const kind of HALLUCINATION_KINDS) g.set({ kind }, this.#window.ratio(kind));
      },
    );
    m.gauge('vrgrpo_rm_hallucination_window_judgments', 'Judgments currently in the sliding hallucination window.', [], (g) => g.set(this.#window.size));
    m.gauge('vrgrpo_rm_requests_in_flight', 'Judgments running now, over all connections.', [], (g) => g.set(this.#view?.inFlight() ?? 0));
    m.gauge('vrgrpo_rm_connections', 'Open WebSocket connections.', [], (g) => g.set(this.#view?.connections() ?? 0));
    this.#connectionsOpened = m.counter('vrgrpo_rm_connections_opened_total', 'WebSocket connections accepted.');
    this.#upgradesRefused = m.counter(
      'vrgrpo_rm_upgrades_refused_total',
      'WebSocket upgrades refused, by reason (unauthorized, shutting_down, forbidden_host, forbidden_origin, overloaded).',
      ['reason'],
    );
    this.#errorsSent = m.counter('vrgrpo_rm_errors_sent_total', 'Error messages sent to clients (refused requests, bad messages, failed judgments), by code.', [
      'code',
    ]);
    this.#checkpointRejections = m.counter(
      'vrgrpo_rm_checkpoint_rejections_total',
      'Checkpoint loads refused (the current version kept serving), by error code.',
      ['code'],
    );
    this.#decodeDuration = m.histogram(
      'vrgrpo_rm_frame_decode_duration_seconds',
      'Time of one read of frames from a video, by source (file: ffmpeg decode, inline: copy).',
      DECODE_BUCKETS,
      ['source'],
    );
    this.#framesDecoded = m.counter('vrgrpo_rm_frames_decoded_total', 'Frames read from videos, by source.', ['source']);
    for (const kind of HALLUCINATION_KINDS) this.#hallucinations.inc({ kind }, 0);
    for (const reason of UPGRADE_REFUSALS) this.#upgradesRefused.inc({ reason }, 0);
    for (const source of FRAME_SOURCES) {
      this.#framesDecoded.inc({ source }, 0);
      this.#decodeDuration.zero({ source });
    }
  }

  /** Every metric this class registers (for docs/metrics.md). */
  definitions(): readonly MetricDefinition[] {
    return this.#set.definitions();
  }

  async exposition(): Promise<MetricsExposition> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  bind(view: RewardServerView): void {
    if (this.#view !== null) throw new VrGrpoError('INVALID_STATE', 'RewardServerMetrics: already bound to a server (one metrics object per server)');
    this.#view = view;
    const version = this.#currentVersion();
    this.#noteVersion(version);
    // Zero series for the current version so rates and ratios exist from the first scrape.
    for (const mode of JUDGMENT_MODES) {
      for (const outcome of JUDGMENT_OUTCOMES) {
        this.#judgments.inc({ mode, outcome, rm_version: version }, 0);
        this.#duration.zero({ mode, outcome });
      }
      this.#forced.inc({ mode }, 0);
    }
  }

  connectionOpened(): void {
    this.#connectionsOpened.inc();
  }

  upgradeRefused(reason: UpgradeRefusal): void {
    this.#upgradesRefused.inc({ reason });
  }

  errorSent(code: string): void {
    this.#errorsSent.inc({ code });
  }

  checkpointRejected(code: string): void {
    this.#checkpointRejections.inc({ code });
  }

  judgment(record: JudgmentRecord): void {
    const { mode, outcome } = record;
    // The info gauge follows the server's current version, not the (possibly older) version of a finishing judgment.
    this.#noteVersion(this.#currentVersion());
    const version = record.rmVersion ?? this.#version ?? 'unknown';
    this.#judgments.inc({ mode, outcome, rm_version: version });
    this.#duration.observe({ mode, outcome }, nonNegative(record.seconds));
    if (outcome !== 'ok') {
      this.#failures.inc({ code: record.code ?? 'UNKNOWN' });
      return;
    }
    const v = record.verdict;
    if (v === undefined) return;
    this.#toolCalls.observe({ mode }, nonNegative(v.toolCalls));
    this.#framesViewed.observe({ mode }, nonNegative(v.framesViewed));
    if (v.turns !== null) this.#turns.observe({ mode }, nonNegative(v.turns));
    if (v.formatErrors > 0) this.#formatErrors.inc(v.formatErrors);
    if (v.forced) this.#forced.inc({ mode });
    const counts: Partial<Record<HallucinationKind, number>> = {};
    for (const h of v.hallucinations) {
      this.#hallucinations.inc({ kind: h.kind });
      counts[h.kind] = (counts[h.kind] ?? 0) + 1;
    }
    this.#window.add(1, counts);
  }

  frameDecode(source: FrameSourceKind, seconds: number, frames: number): void {
    this.#decodeDuration.observe({ source }, nonNegative(seconds));
    if (frames > 0) this.#framesDecoded.inc({ source }, frames);
  }

  #currentVersion(): string {
    if (this.#view === null) return 'unknown';
    try {
      return this.#view.rmVersion();
    } catch {
      return 'unknown';
    }
  }

  #backendName(): string {
    try {
      return this.#view?.backend() ?? 'unknown';
    } catch {
      return 'unknown';
    }
  }

  /** Keeps the info gauge on the version being served and counts changes. */
  #noteVersion(version: string): void {
    if (version === this.#version) return;
    if (this.#version !== null) this.#checkpointChanges.inc();
    this.#version = version;
    this.#checkpointInfo.reset();
    this.#checkpointInfo.set({ rm_version: version, backend: this.#backendName() }, 1);
  }
}
