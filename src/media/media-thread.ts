/**
 * `ThreadedMedia`: the {@link MediaPort} of a reward server. Its ffprobe and ffmpeg processes start from one worker
 * thread (./media-worker.ts, through the project's thread calls, src/common/thread-rpc.ts): forking a large Node
 * process is synchronous and takes milliseconds to tens of milliseconds under load, which the caller's event loop no
 * longer pays. Errors come back with their catalogue code and details (VIDEO_TOO_LARGE, VIDEO_DECODE_FAILED,
 * FORBIDDEN_PATH…, as `Media` raises them). The admission check of a decode (a function, which cannot cross to a
 * thread) runs here between the thread's `prepare` and `run`. A dead thread, or a call after `close`, fails with
 * VIDEO_DECODE_FAILED. Processes started per call: as `Media` (spawnCount counts them in the thread).
 */
import { ThreadClient } from '../common/thread-rpc.js';
import { VrGrpoError } from '../errors/index.js';
import type { DecodePlan } from './limits.js';
import { Media, type DecodeOptions, type MediaOptions } from './media.js';
import type { MediaPort } from './media-port.js';
import type { MediaReply, MediaThreadData } from './media-worker.js';
import type { RawVideo } from './raw-video.js';
import type { VideoInfo } from './video-info.js';

const ENTRY = new URL('./media-worker.ts', import.meta.url);

export class ThreadedMedia implements MediaPort {
  #spawnCount = 0;
  #closing: Promise<void> | null = null;
  /** Calls in flight: `close` lets them finish (each process is bounded by `timeoutMs`) so none is left running. */
  readonly #inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly client: ThreadClient,
    /** The executables in use (resolved on this thread, as `Media.create` does). */
    readonly binaries: Media['binaries'],
    /** Wall-clock limit of each ffmpeg/ffprobe process, in milliseconds. */
    readonly timeoutMs: number,
  ) {}

  /**
   * Resolves the binaries and checks the options as `Media.create` does (FFMPEG_NOT_FOUND, INVALID_ARGUMENT), then
   * starts the thread (VIDEO_DECODE_FAILED if it fails to start).
   */
  static async start(opts: MediaOptions = {}): Promise<ThreadedMedia> {
    const local = await Media.create(opts);
    const data: MediaThreadData = { ffmpegPath: local.binaries.ffmpeg, ffprobePath: local.binaries.ffprobe, timeoutMs: local.timeoutMs };
    const client = await ThreadClient.start(ENTRY, data, { failureCode: 'VIDEO_DECODE_FAILED', name: 'vr-grpo-media' });
    return new ThreadedMedia(client, local.binaries, local.timeoutMs);
  }

  /** ffmpeg and ffprobe processes the thread has started (as of its last answer). */
  get spawnCount(): number {
    return this.#spawnCount;
  }

  async #call(method: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#closing !== null) throw new VrGrpoError('VIDEO_DECODE_FAILED', 'the media thread is closed', { details: { reason: 'closed' } });
    const call = this.client.call(method, args);
    this.#inFlight.add(call);
    try {
      const reply = (await call) as MediaReply;
      this.#spawnCount = Math.max(this.#spawnCount, reply.spawnCount);
      return reply.result;
    } finally {
      this.#inFlight.delete(call);
    }
  }

  /** As `Media.decode`; `opts.admit` runs on this thread, between the probes and ffmpeg. */
  async decode(file: string, opts: DecodeOptions = {}): Promise<RawVideo> {
    const { admit, ...rest } = opts;
    if (admit === undefined) return Object.freeze((await this.#call('decode', [file, rest])) as RawVideo);
    const { id, plan } = (await this.#call('prepare', [file, rest])) as { id: number; plan: DecodePlan };
    try {
      admit(plan);
    } catch (error) {
      // Refused here: the thread forgets the plan (nothing ran for it); a dead or closed thread has nothing to forget.
      await this.#call('drop', [id]).catch(() => undefined);
      throw error;
    }
    return Object.freeze((await this.#call('run', [id])) as RawVideo);
  }

  /** As `Media.probe`. */
  async probe(file: string): Promise<VideoInfo> {
    return Object.freeze((await this.#call('probe', [file])) as VideoInfo);
  }

  /**
   * Refuses new calls, lets the calls in flight finish (their processes exit or are killed at `timeoutMs`: a thread
   * stopped mid-call would leave its child processes running), then stops the thread. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#inFlight]).then(() => this.client.terminate());
    return this.#closing;
  }
}
