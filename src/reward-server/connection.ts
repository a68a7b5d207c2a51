/**
 * One client connection of the reward server: parses what arrives, keeps the connection's inline videos and in-flight
 * judgments, and answers every failure with an `error` message while keeping the socket open (except a protocol
 * mismatch, which closes it with 1002). Nothing a client sends can throw out of here.
 */
import type { Logger } from '../common/logger.js';
import { assertNever, isVrGrpoError, VrGrpoError, type ErrorCode } from '../errors/index.js';
import { FileFrameSource, RawFrameSource, type FrameSource } from '../judge/frame-source.js';
import type { DecodePlan, RawVideo } from '../media/index.js';
import { shortTail } from '../media/stderr-tail.js';
import {
  PROTOCOL_VERSION,
  parseClientMessage,
  type AdminRequest,
  turnSchema,
  verdictSchema,
  type JudgeRequest,
  type ServerMessage,
  type Turn,
  type VideoHeader,
} from '../protocol/index.js';
import { CLOSE_CODES as TRANSPORT_CLOSE_CODES, describeError as describe, type ConnectionHandler, type ServerConnection } from '../transport/index.js';
import { resolveArtifactUri } from './artifact-path.js';
import { InlineVideoStore } from './inline-store.js';
import type { MemoryLease } from './memory-budget.js';
import type { ResolvedRewardServerOptions } from './options.js';
import { TrackedFrameSource } from './tracked-frame-source.js';

/** WebSocket close codes the server uses (the transport's: 1001 going away, 1002 protocol mismatch, 1009 too big). */
export const CLOSE_CODES = TRANSPORT_CLOSE_CODES;

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly options: ResolvedRewardServerOptions;
  /** Whether new judgments are accepted. */
  isDraining(): boolean;
  /** The `status` answer. */
  statusMessage(id: string | null): ServerMessage;
  /** The `hello` sent on open. */
  helloMessage(): ServerMessage;
  /** Registers a running judgment (it never rejects) so `close()` can wait for it or abort it. */
  trackJudgment(run: Promise<void>, controller: AbortController): void;
  /** A verdict was sent. */
  judgmentCompleted(): void;
  /** Answers an admin command (checks its admin token); never rejects. */
  admin(request: AdminRequest): Promise<ServerMessage>;
}

/**
 * The binary message the connection expects next, announced by a `video` header. A refused header (its error already
 * sent, including a `video` message that failed its schema) leaves `accepted: false`: the binary that follows is
 * dropped without another error.
 */
type ExpectedVideo = { readonly accepted: true; readonly header: VideoHeader; readonly bytes: number } | { readonly accepted: false };

/** The abort reason when the client goes away (never sent: there is nobody to send it to). */
const DISCONNECTED = 'client disconnected';

/** The judge protocol on one connection; the socket itself (heartbeat, sends, closing) is the transport's. */
export class Connection implements ConnectionHandler {
  /** The connection's number on its server (log field `conn`, part of the perception-cache key). */
  readonly id: number;
  readonly #socket: ServerConnection;
  readonly #host: ConnectionHost;
  readonly #log: Logger;
  readonly #inline: InlineVideoStore;
  readonly #inFlight = new Map<string, AbortController>();
  #expected: ExpectedVideo | null = null;

  constructor(socket: ServerConnection, host: ConnectionHost) {
    this.id = socket.id;
    this.#socket = socket;
    this.#host = host;
    this.#log = socket.log;
    // Inline bytes count against this connection's budget and, through a lease, against the server-wide one.
    this.#inline = new InlineVideoStore(host.options.maxInlineBytesPerConnection, host.options.frameMemory.lease());
  }

  /** Sends the server `hello`. */
  onOpen(): void {
    this.#send(this.#host.helloMessage());
  }

  /** Judgments in flight on this connection. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Sends a server-initiated message (e.g. `version_changed`); dropped once the connection is closing. */
  notify(message: ServerMessage): void {
    if (this.#closing) return;
    this.#send(message);
  }

  /** Set once we started closing or the socket closed: nothing more is started or reported. */
  get #closing(): boolean {
    return this.#socket.closing;
  }

  onHandlerError(error: unknown): void {
    // A bug, not the client's fault: report it and keep serving.
    this.#sendError(null, 'JUDGE_FAILED', `internal error: ${describe(error)}`);
  }

  onClose(code: number, reason: string): void {
    this.#log.debug({ code, reason, inFlight: this.#inFlight.size }, 'connection closed');
    for (const controller of this.#inFlight.values()) controller.abort(new VrGrpoError('JUDGE_FAILED', DISCONNECTED, { details: { reason: 'disconnected' } }));
    if (this.#expected?.accepted === true) this.#inline.release(this.#expected.bytes);
    this.#expected = null;
    this.#inline.clear();
  }

  // ---- sending ----

  #send(message: ServerMessage): void {
    this.#socket.sendJson(message);
  }

  #sendError(id: string | null, code: ErrorCode, message: string): void {
    this.#host.options.metrics.errorSent(code);
    this.#send({ type: 'error', id, code, message });
  }

  // ---- receiving ----

  onMessage(buffer: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#onBinary(buffer);
      return;
    }
    const expected = this.#expected;
    if (expected !== null) {
      // A header promised a binary message next; this text message breaks that promise. Fail the ref, then handle the text.
      this.#expected = null;
      if (expected.accepted) {
        this.#inline.release(expected.bytes);
        this.#sendError(
          expected.header.ref,
          'INVALID_REQUEST',
          `video ${JSON.stringify(expected.header.ref)}: expected a binary message of ${expected.bytes} bytes right after the header, got a text message`,
        );
      }
    }
    const parsed = parseClientMessage(buffer.toString('utf8'));
    if (!parsed.ok) {
      this.#sendError(parsed.id, parsed.code, parsed.message);
      if (parsed.type === 'video') this.#expected = { accepted: false };
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'hello':
        this.#onHello(message.protocol);
        return;
      case 'ping':
        this.#send({ type: 'pong', id: message.id ?? null, t: message.t ?? null });
        return;
      case 'status':
        this.#send(this.#host.statusMessage(message.id ?? null));
        return;
      case 'video':
        this.#onVideoHeader(message);
        return;
      case 'judge':
        this.#onJudge(message);
        return;
      case 'load_checkpoint':
      case 'rollback':
      case 'checkpoint_status':
        this.#onAdmin(message);
        return;
      default:
        assertNever(message, 'client message');
    }
  }

  #onHello(protocol: number): void {
    if (protocol === PROTOCOL_VERSION) return;
    this.#sendError(null, 'PROTOCOL_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}, client announced ${protocol}`);
    this.#socket.close(CLOSE_CODES.protocolError, 'protocol mismatch');
  }

  #onAdmin(request: AdminRequest): void {
    // Handled concurrently with judgments (a load takes a while); the answer goes out when it is ready.
    void this.#host.admin(request).then((answer) => {
      if (!this.#closing) this.#send(answer);
    });
  }

  #onVideoHeader(header: VideoHeader): void {
    const bytes = header.width * header.height * 3 * header.frameCount;
    const { maxPayloadBytes, maxInlineBytesPerConnection, maxInlinePixelsPerFrame, maxFrameMemoryBytes } = this.#host.options;
    const name = JSON.stringify(header.ref);
    let refusal: { code: ErrorCode; message: string } | null = null;
    const pixels = header.width * header.height;
    if (bytes > maxPayloadBytes) {
      refusal = { code: 'INVALID_REQUEST', message: `video ${name}: ${bytes} bytes exceed the server's maxPayloadBytes ${maxPayloadBytes}` };
    } else if (pixels > maxInlinePixelsPerFrame && bytes <= maxInlineBytesPerConnection && !this.#inline.has(header.ref)) {
      // After the refusals that are INVALID_REQUEST (too many bytes, a duplicate ref), so those keep their code.
      refusal = {
        code: 'VIDEO_TOO_LARGE',
        message: `video ${name}: ${header.width}x${header.height} = ${pixels} pixels per frame exceed the server's maxInlinePixelsPerFrame ${maxInlinePixelsPerFrame}`,
      };
    } else {
      const outcome = this.#inline.reserve(header.ref, bytes);
      if (outcome === 'duplicate-ref') refusal = { code: 'INVALID_REQUEST', message: `ref: an inline video ${name} is already stored on this connection` };
      else if (outcome === 'too-large')
        refusal = { code: 'INVALID_REQUEST', message: `video ${name}: ${bytes} bytes exceed maxInlineBytesPerConnection ${maxInlineBytesPerConnection}` };
      else if (outcome === 'over-budget') {
        refusal = {
          code: 'OVERLOADED',
          message: `video ${name}: ${bytes} more bytes would exceed this connection's inline budget (${this.#inline.bytesHeld} of ${maxInlineBytesPerConnection} held); judge or drop stored videos first`,
        };
      } else if (outcome === 'server-over-budget') {
        refusal = {
          code: 'OVERLOADED',
          message: `video ${name}: ${bytes} more bytes would exceed the server's frame memory budget (maxFrameMemoryBytes ${maxFrameMemoryBytes}, shared by all connections); retry later or on another replica`,
        };
      }
    }
    this.#expected = refusal === null ? { accepted: true, header, bytes } : { accepted: false };
    if (refusal !== null) this.#sendError(header.ref, refusal.code, refusal.message);
  }

  #onBinary(buffer: Buffer): void {
    const expected = this.#expected;
    this.#expected = null;
    if (expected === null) {
      this.#sendError(null, 'BAD_MESSAGE', 'binary message without a preceding video header');
      return;
    }
    if (!expected.accepted) return; // the header was already answered with an error
    const { header, bytes } = expected;
    if (buffer.length !== bytes) {
      this.#inline.release(bytes);
      this.#sendError(
        header.ref,
        'INVALID_REQUEST',
        `video ${JSON.stringify(header.ref)}: expected width·height·3·frameCount = ${bytes} bytes, got ${buffer.length}`,
      );
      return;
    }
    const video: RawVideo = {
      width: header.width,
      height: header.height,
      frameCount: header.frameCount,
      fps: header.fps ?? this.#host.options.defaultInlineFps,
      data: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length),
    };
    this.#inline.commit(header.ref, video);
    this.#send({ type: 'video_received', ref: header.ref, bytes });
  }

  #onJudge(request: JudgeRequest): void {
    const { id } = request;
    if (this.#host.isDraining()) {
      this.#sendError(id, 'SHUTTING_DOWN', 'server is draining and accepts no new judgments; retry on another replica');
      return;
    }
    if (this.#inFlight.has(id)) {
      this.#sendError(id, 'DUPLICATE_ID', `id: a judge request with id ${JSON.stringify(id)} is still in flight on this connection`);
      return;
    }
    const limit = this.#host.options.maxInFlightPerConnection;
    if (this.#inFlight.size >= limit) {
      this.#sendError(id, 'OVERLOADED', `${this.#inFlight.size} judgments in flight on this connection (limit ${limit}); retry later`);
      return;
    }
    const missing = request.videos.findIndex((ref) => 'inline' in ref && !this.#inline.has(ref.inline));
    const missingRef = request.videos[missing];
    if (missingRef !== undefined && 'inline' in missingRef) {
      this.#sendError(
        id,
        'INVALID_REQUEST',
        `videos.${missing}.inline: no inline video ${JSON.stringify(missingRef.inline)} on this connection (send its video header and binary first; each is used once)`,
      );
      return;
    }
    // Admitted: take the inline videos now, so later messages on this connection cannot race for them.
    const inline = new Map<string, RawVideo>();
    for (const ref of request.videos) {
      if (!('inline' in ref) || inline.has(ref.inline)) continue;
      const video = this.#inline.take(ref.inline);
      if (video !== undefined) inline.set(ref.inline, video);
    }
    const lentBytes = [...inline.values()].reduce((sum, v) => sum + v.data.length, 0);
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    const run = this.#runJudgment(request, inline, controller.signal).finally(() => {
      this.#inFlight.delete(id);
      this.#inline.release(lentBytes);
    });
    this.#host.trackJudgment(run, controller);
  }

  // ---- judging ----

  /**
   * The request's frame sources. Files are decoded lazily, the first time the judge asks for frames (a judge that needs
   * none decodes nothing); each decode first sniffs the container (FORBIDDEN_PATH for playlists), probes the header
   * against the media limits (VIDEO_TOO_LARGE) and reserves its bytes in the server's frame budget (OVERLOADED; held by
   * `lease` until the judgment ends), and only then decodes, at the judge's size.
   */
  async #frameSources(request: JudgeRequest, inline: ReadonlyMap<string, RawVideo>, lease: MemoryLease): Promise<TrackedFrameSource[]> {
    const { artifactRoot, media, judgeSize, metrics, decodeMaxPixels, mediaLimits, maxFrameMemoryBytes } = this.#host.options;
    const admit = (plan: DecodePlan): void => {
      if (lease.tryGrow(plan.bytes)) return;
      throw new VrGrpoError(
        'OVERLOADED',
        `decoding a ${plan.frames}-frame ${plan.width}x${plan.height} video (${plan.bytes} bytes) would exceed the server's frame memory budget (maxFrameMemoryBytes ${maxFrameMemoryBytes}); retry later or on another replica`,
        { details: { bytes: plan.bytes, maxFrameMemoryBytes } },
      );
    };
    const decode = { maxPixels: decodeMaxPixels, limits: mediaLimits, admit };
    const sources = await Promise.all(
      request.videos.map(async (ref, index): Promise<TrackedFrameSource> => {
        let source: FrameSource;
        if ('inline' in ref) {
          const video = inline.get(ref.inline);
          if (video === undefined) throw new VrGrpoError('INVALID_REQUEST', `videos.${index}.inline: no inline video ${JSON.stringify(ref.inline)}`);
          // Inline frames larger than the decode budget are shrunk for the judge too, like decoded files.
          source = new RawFrameSource(video, `inline:${ref.inline}`, undefined, decodeMaxPixels);
        } else {
          let file: string;
          try {
            file = await resolveArtifactUri(ref.uri, artifactRoot);
          } catch (error) {
            if (isVrGrpoError(error)) throw new VrGrpoError(error.code, `videos.${index}.uri: ${error.message}`, { details: error.details, cause: error });
            throw error;
          }
          source = new FileFrameSource(media, file, judgeSize ?? undefined, decode);
        }
        const kind = 'inline' in ref ? 'inline' : 'file';
        const video = 'inline' in ref ? inline.get(ref.inline) : undefined;
        // A video named in a comparison group: what is perceived of it may be reused by the group's other requests on
        // this connection. The key also carries the content's fingerprint, so a reused id never serves another video.
        const cacheKey =
          request.group === undefined || ref.id === undefined
            ? undefined
            : [this.id, request.group, ref.id, video === undefined ? source.label : contentFingerprint(video)].join('\u0000');
        return new TrackedFrameSource(source, (seconds, frames) => metrics.frameDecode(kind, seconds, frames), cacheKey);
      }),
    );
    return sources;
  }

  async #runJudgment(request: JudgeRequest, inline: ReadonlyMap<string, RawVideo>, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let sources: TrackedFrameSource[] = [];
    // Decoded file frames of this judgment, held against the server's frame budget until it ends.
    const lease = this.#host.options.frameMemory.lease();
    try {
      sources = await this.#frameSources(request, inline, lease);
      signal.throwIfAborted();
      const options = request.options ?? {};
      const judgment = await this.#host.options.service.judge(
        { id: request.id, prompt: request.prompt, mode: request.mode, videos: sources, options },
        options.stream === true ? { signal, onTurn: (turn) => this.#sendTurn(request.id, turn) } : { signal },
      );
      const { turns, ...rest } = judgment;
      const verdict = verdictSchema.safeParse({
        ...rest,
        ...(options.trace === true && turns !== undefined ? { turns } : {}),
        type: 'verdict',
        id: request.id,
      });
      if (!verdict.success) {
        const issue = verdict.error.issues[0];
        throw new VrGrpoError(
          'JUDGE_FAILED',
          `the judge returned a malformed verdict (${issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`})`,
        );
      }
      this.#send(verdict.data);
      this.#host.judgmentCompleted();
      const v = verdict.data;
      this.#host.options.metrics.judgment({
        mode: request.mode,
        outcome: 'ok',
        seconds: (performance.now() - started) / 1000,
        rmVersion: v.rmVersion,
        verdict: {
          toolCalls: v.toolCalls,
          framesViewed: v.framesViewed.reduce((sum, f) => sum + f.length, 0),
          formatErrors: v.formatErrors,
          forced: v.forced,
          hallucinations: v.hallucinations,
          turns: turns === undefined ? null : turns.filter((t) => t.role === 'assistant').length,
        },
      });
      this.#log.debug({ id: request.id, ms: Math.round(performance.now() - started) }, 'verdict sent');
    } catch (error) {
      const failure = this.#failureOf(error, sources, signal);
      this.#host.options.metrics.judgment({
        mode: request.mode,
        outcome: this.#closing ? 'cancelled' : 'failed',
        seconds: (performance.now() - started) / 1000,
        code: failure.code,
      });
      if (this.#closing) {
        this.#log.debug({ id: request.id, code: failure.code }, 'judgment ended after the connection closed');
        return;
      }
      // The full text (server paths, ffmpeg's stderr) goes to the log; the client gets the protocol's code and a short text.
      this.#log.info({ id: request.id, code: failure.code, err: failure.message, details: failure.details }, 'judgment failed');
      const told = clientFailure(failure);
      this.#sendError(request.id, told.code, told.message);
    } finally {
      lease.release();
    }
  }

  #sendTurn(id: string, turn: Turn): void {
    const parsed = turnSchema.safeParse(turn);
    if (!parsed.success) {
      this.#log.warn({ id }, 'judge streamed a malformed turn; dropped');
      return;
    }
    this.#send({ type: 'turn', id, turn: parsed.data });
  }

  /** The code and message a failed judgment is reported with. */
  #failureOf(error: unknown, sources: readonly TrackedFrameSource[], signal: AbortSignal): VrGrpoError {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (isVrGrpoError(reason, 'SHUTTING_DOWN')) return reason;
    // A lazily decoded file that failed inside the judge (refused, too large, no budget, undecodable) is the real
    // cause, however the backend reported it.
    const index = sources.findIndex((s) => s.sourceFailure !== null);
    const sourceFailure = sources[index]?.sourceFailure ?? null;
    if (sourceFailure !== null) {
      const where = sources[index]?.label.startsWith('inline:') === true ? 'inline' : 'uri';
      return new VrGrpoError(sourceFailure.code, `videos.${index}.${where}: ${sourceFailure.message}`, {
        details: sourceFailure.details,
        cause: sourceFailure,
      });
    }
    if (isVrGrpoError(error) && error.code !== 'JUDGE_FAILED') return error;
    if (isVrGrpoError(error)) return error;
    return new VrGrpoError('JUDGE_FAILED', `judge failed: ${describe(error)}`, { cause: error });
  }
}

/**
 * What a client is told about a failed judgment: the protocol's code (INVALID_ARGUMENT, an internal code, is a request
 * the judge cannot use: INVALID_REQUEST) and the message without ffmpeg's stderr. Server paths are cut by the transport.
 */
export function clientFailure(error: VrGrpoError): { readonly code: ErrorCode; readonly message: string } {
  const code: ErrorCode = error.code === 'INVALID_ARGUMENT' ? 'INVALID_REQUEST' : error.code;
  const tail = error.details.stderrTail;
  if (typeof tail !== 'string' || tail.length === 0) return { code, message: error.message };
  const shown = `: ${shortTail(tail)}`;
  const at = error.message.indexOf(shown);
  const message = at < 0 ? error.message : `${error.message.slice(0, at)}${error.message.slice(at + shown.length)}`;
  return { code, message: `${message} (ffmpeg's output is in the server log)` };
}

/** Size and a hash of ~4 KiB sampled evenly from a raw video's bytes (FNV-1a): cheap, and differs for another video. */
export function contentFingerprint(video: RawVideo): string {
  const data = video.data;
  const step = Math.max(1, Math.floor(data.length / 4096));
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i += step) {
    h ^= data[i] ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${video.width}x${video.height}x${video.frameCount}:${h.toString(16)}`;
}
