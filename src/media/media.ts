/** The ffmpeg adapter: encodes RGB24 frames to browser-playable MP4, probes video files, decodes them back to RGB24. */
import { constants as bufferConstants } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { VrGrpoError, type ErrorCode } from '../errors/index.js';
import { resolveFfmpegBinaries, type FfmpegBinaries, type ResolveFfmpegBinariesOptions } from './binaries.js';
import { FORMAT_WHITELIST, PROTOCOL_WHITELIST, sniffContainer, type ContainerFormat } from './container.js';
import { decodeFilter } from './decode-filter.js';
import { FrameSink } from './frame-sink.js';
import { assertMediaLimits, fitWithin, tooLarge, type DecodePlan, type MediaLimits } from './limits.js';
import type { MediaPort } from './media-port.js';
import { assertRawVideo, frameByteLength, type RawVideo } from './raw-video.js';
import { newFfmpegCommand, runFfmpeg, type FfmpegOutcome, type RunFfmpegOptions } from './run-ffmpeg.js';
import { runProcess, type ProcessOutcome } from './run-process.js';
import { stderrTail, withTail } from './stderr-tail.js';
import { ffprobeArgs, parseFfprobeJson, type ProbeConfinement, type ProbedStream, type VideoInfo } from './video-info.js';

/** libx264 speed/size presets, fastest first. */
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

/** Default wall-clock limit of each ffmpeg/ffprobe process, in milliseconds. */
export const DEFAULT_MEDIA_TIMEOUT_MS = 60_000;
/** Default x264 constant rate factor (0 = lossless … 51 = worst). */
export const DEFAULT_CRF = 18;
/** Default x264 preset. */
export const DEFAULT_PRESET: X264Preset = 'veryfast';

export interface MediaOptions extends ResolveFfmpegBinariesOptions {
  /** Wall-clock limit of each ffmpeg/ffprobe process, in milliseconds; on expiry it is SIGKILLed. Default: 60000. */
  readonly timeoutMs?: number;
}

export interface EncodeMp4Options {
  /** x264 constant rate factor, 0 (lossless) … 51 (worst); lower is better quality. Default: 18. */
  readonly crf?: number;
  /** x264 preset: slower presets give smaller files at the same quality. Default: `'veryfast'`. */
  readonly preset?: X264Preset;
}

export interface DecodeOptions {
  /** Output width in pixels; give both `width` and `height` or neither. Default: the stream's width. */
  readonly width?: number;
  /** Output height in pixels; give both `width` and `height` or neither. Default: the stream's height. */
  readonly height?: number;
  /**
   * 0-based frame indices to decode. Duplicates are dropped and the frames are returned in ascending index order,
   * whatever the order given. Default: every frame.
   */
  readonly indices?: readonly number[];
  /**
   * Pixel budget of a decoded frame when `width`/`height` are not given: a larger stream is shrunk to it by ffmpeg's
   * scaler (aspect kept, never enlarged), so frames never reach this process at native size. Default: native size.
   */
  readonly maxPixels?: number;
  /**
   * Limits checked from the header probe before any frame is decoded; a video beyond one is VIDEO_TOO_LARGE (and
   * ffmpeg's decoder is capped at `maxPixelsPerFrame`). Default: none.
   */
  readonly limits?: MediaLimits;
  /**
   * Called with what the decode will produce, after the limits and before ffmpeg starts; throwing refuses the decode
   * with that error (e.g. a memory budget that is full). Default: none.
   */
  readonly admit?: (plan: DecodePlan) => void;
}

/** {@link DecodeOptions} without the admission callback: what a decode is prepared from (and what crosses to a media thread). */
export type PrepareDecodeOptions = Omit<DecodeOptions, 'admit'>;

/**
 * A decode that passed its probes and limits and is ready to run ({@link Media.prepareDecode}): `plan` is what it will
 * produce, the rest is for {@link Media.runDecode} only. Nothing runs until then; an unused one holds nothing.
 */
export interface PreparedDecode {
  readonly plan: DecodePlan;
  readonly indices: readonly number[] | undefined;
  readonly format: ContainerFormat;
  readonly pixelCap: number | undefined;
  readonly fps: number;
}

type FfmpegFailure = Exclude<FfmpegOutcome, { kind: 'ok' }>;
type MediaErrorCode = Extract<ErrorCode, 'VIDEO_DECODE_FAILED' | 'VIDEO_ENCODE_FAILED'>;

interface Probed {
  readonly stream: ProbedStream;
  /** The demuxer the file was sniffed as (forced on ffmpeg). */
  readonly format: ContainerFormat;
  /** Tail of ffprobe's stderr (warnings on a file that still probed). */
  readonly stderrTail: string;
}

function invalid(message: string, details: Record<string, unknown> = {}): VrGrpoError {
  return new VrGrpoError('INVALID_ARGUMENT', message, { details });
}

function compileTimeout(timeoutMs: number | undefined): number {
  const value = timeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS;
  if (!Number.isInteger(value) || value <= 0) {
    throw invalid(`timeoutMs must be a positive integer number of milliseconds (got ${String(timeoutMs)})`, {
      field: 'timeoutMs',
    });
  }
  return value;
}

/** Sorted unique indices; INVALID_ARGUMENT for an empty list or a negative / non-integer entry. */
function normalizeIndices(indices: readonly number[]): number[] {
  if (indices.length === 0) throw invalid('indices must not be empty (omit it to decode every frame)');
  indices.forEach((index, position) => {
    if (!Number.isInteger(index) || index < 0) {
      throw invalid(`indices[${position}] = ${String(index)} is not a non-negative integer`, { position, index });
    }
  });
  return [...new Set(indices)].sort((a, b) => a - b);
}

function decodeSize(opts: DecodeOptions): { readonly width: number; readonly height: number } | undefined {
  const { width, height } = opts;
  if (width === undefined && height === undefined) return undefined;
  if (width === undefined || height === undefined) throw invalid('decode: give both width and height, or neither');
  for (const [field, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw invalid(`decode: ${field} must be a positive integer (got ${String(value)})`, { field });
    }
  }
  return { width, height };
}

/** Each frame as a Buffer view of `video.data` (no copy), for piping to ffmpeg's stdin. */
function* frameChunks(video: RawVideo): Generator<Buffer> {
  const size = frameByteLength(video.width, video.height);
  const { buffer, byteOffset } = video.data;
  for (let i = 0; i < video.frameCount; i += 1) yield Buffer.from(buffer, byteOffset + i * size, size);
}

async function removeQuietly(file: string): Promise<void> {
  await fs.rm(file, { force: true }).catch(() => undefined);
}

/** Turns a failed ffmpeg/ffprobe run into the catalogue error for `code`. */
function runFailure(code: MediaErrorCode, file: string, what: string, outcome: FfmpegFailure | ProcessOutcome): VrGrpoError {
  if (outcome.kind === 'not-runnable') {
    return new VrGrpoError('FFMPEG_NOT_FOUND', `${outcome.binary} ${outcome.reason}`, {
      details: { path: outcome.binary, reason: outcome.reason },
    });
  }
  if (outcome.kind === 'spawn-error') {
    return new VrGrpoError('FFMPEG_NOT_FOUND', `${what}: could not start: ${outcome.error.message}`, {
      details: { path: file, reason: 'spawn failed', stderrTail: '' },
      cause: outcome.error,
    });
  }
  const tail = stderrTail(outcome.stderr);
  if (outcome.kind === 'timeout') {
    return new VrGrpoError(code, withTail(`${what}: timed out; process killed`, tail), {
      details: { path: file, reason: 'timeout', stderrTail: tail },
    });
  }
  if (outcome.kind === 'failed') {
    // Without stderr (fluent-ffmpeg's pre-flight checks, stream errors) the library's message is the only clue.
    const message = tail.length > 0 ? withTail(`${what} failed`, tail) : `${what} failed: ${outcome.error.message}`;
    return new VrGrpoError(code, message, {
      details: { path: file, reason: 'ffmpeg failed', stderrTail: tail },
      cause: outcome.error,
    });
  }
  const ending = outcome.signal === null ? `exit code ${String(outcome.exitCode)}` : `signal ${outcome.signal}`;
  return new VrGrpoError(code, withTail(`${what} failed (${ending})`, tail), {
    details: {
      path: file,
      reason: 'ffprobe failed',
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stderrTail: tail,
    },
  });
}

/** ffmpeg input options that confine it to the file protocol, the sniffed demuxer and (with limits) a pixel cap. */
function confinedInputOptions(format: ContainerFormat, maxPixels: number | undefined): string[] {
  return [
    '-protocol_whitelist',
    PROTOCOL_WHITELIST,
    '-format_whitelist',
    FORMAT_WHITELIST,
    ...(maxPixels === undefined ? [] : ['-max_pixels', String(Math.min(maxPixels, 2_147_483_647))]),
    '-f',
    format,
  ];
}

/** VIDEO_TOO_LARGE when the header alone shows the stream is beyond `limits` (pixels, duration, declared frames). */
function checkHeaderLimits(file: string, stream: ProbedStream, limits: MediaLimits | undefined): void {
  if (limits === undefined) return;
  const pixels = stream.width * stream.height;
  if (pixels > limits.maxPixelsPerFrame)
    throw tooLarge(file, 'maxPixelsPerFrame', pixels, limits.maxPixelsPerFrame, `frame size (${stream.width}x${stream.height}, pixels)`);
  if (stream.durationSeconds > limits.maxDurationSeconds) {
    throw tooLarge(file, 'maxDurationSeconds', stream.durationSeconds, limits.maxDurationSeconds, 'duration (s)');
  }
  if (stream.declaredFrames !== undefined && stream.declaredFrames > limits.maxFrames) {
    throw tooLarge(file, 'maxFrames', stream.declaredFrames, limits.maxFrames, 'declared frame count');
  }
}

interface DecodeFailure {
  readonly file: string;
  readonly message: string;
  /** Stable machine-readable cause, `details.reason`. */
  readonly reason: string;
  /** Trimmed stderr of the process that ran ('' when none ran). */
  readonly tail: string;
  readonly extra?: Record<string, unknown>;
}

function decodeFailed({ file, message, reason, tail, extra = {} }: DecodeFailure): VrGrpoError {
  return new VrGrpoError('VIDEO_DECODE_FAILED', withTail(`${message}: ${file}`, tail), {
    details: { path: file, reason, stderrTail: tail, ...extra },
  });
}

/**
 * Runs ffmpeg and ffprobe for the rest of the project, which only sees {@link RawVideo} and {@link VideoInfo}.
 * Every process is awaited to its exit (killed with SIGKILL after `timeoutMs`), so no call leaves a child behind.
 */
export class Media implements MediaPort {
  /** The executables in use and where they were found. */
  readonly binaries: FfmpegBinaries;
  /** Wall-clock limit of each ffmpeg/ffprobe process, in milliseconds. */
  readonly timeoutMs: number;
  #spawnCount = 0;

  private constructor(binaries: FfmpegBinaries, timeoutMs: number) {
    this.binaries = binaries;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Resolves the binaries (see `resolveFfmpegBinaries`) and validates the options. Rejects with `FFMPEG_NOT_FOUND`
   * or `INVALID_ARGUMENT`. Starts no process.
   */
  static create(opts: MediaOptions = {}): Promise<Media> {
    return new Promise<Media>((resolve) => {
      resolve(new Media(resolveFfmpegBinaries(opts), compileTimeout(opts.timeoutMs)));
    });
  }

  /**
   * ffmpeg and ffprobe processes this instance has started: `encodeMp4` 1, `probe` 1, `decode` 2 (a header probe,
   * then ffmpeg; 3 when the container does not declare its frame count). Not counted: the one-off `ffmpeg -formats`
   * and `ffmpeg -encoders` runs fluent-ffmpeg makes, once per Node process, to check capabilities.
   */
  get spawnCount(): number {
    return this.#spawnCount;
  }

  readonly #countSpawn = (): void => {
    this.#spawnCount += 1;
  };

  #ffmpegRunOptions(): RunFfmpegOptions {
    return { binary: this.binaries.ffmpeg, timeoutMs: this.timeoutMs, onSpawn: this.#countSpawn };
  }

  /**
   * Encodes `video` to an H.264 (libx264, yuv420p, BT.601 tagged, `+faststart`) MP4 at `outPath`, written to a
   * temporary name in the same directory and renamed into place, so readers never see a partial file.
   * Frames are piped to ffmpeg's stdin as raw RGB24. Width and height must be even (yuv420p); otherwise
   * `INVALID_ARGUMENT`. ffmpeg failures and timeouts reject with `VIDEO_ENCODE_FAILED` carrying `details.stderrTail`.
   */
  async encodeMp4(video: RawVideo, outPath: string, opts: EncodeMp4Options = {}): Promise<void> {
    assertRawVideo(video);
    if (video.frameCount === 0) throw invalid('encodeMp4: video has no frames');
    if (video.width % 2 !== 0 || video.height % 2 !== 0) {
      throw invalid(`encodeMp4: width and height must be even for yuv420p (got ${video.width}x${video.height})`, {
        width: video.width,
        height: video.height,
      });
    }
    const crf = opts.crf ?? DEFAULT_CRF;
    if (typeof crf !== 'number' || !Number.isFinite(crf) || crf < 0 || crf > 51) {
      throw invalid(`encodeMp4: crf must be a number in 0..51 (got ${String(crf)})`, { field: 'crf' });
    }
    const preset = opts.preset ?? DEFAULT_PRESET;
    if (!(X264_PRESETS as readonly string[]).includes(preset)) {
      throw invalid(`encodeMp4: unknown preset "${String(preset)}" (one of ${X264_PRESETS.join(', ')})`, {
        field: 'preset',
      });
    }

    const target = path.resolve(outPath);
    const dir = path.dirname(target);
    const dirStat = await fs.stat(dir).catch(() => undefined);
    if (dirStat === undefined || !dirStat.isDirectory()) {
      throw new VrGrpoError('VIDEO_ENCODE_FAILED', `encodeMp4: output directory does not exist: ${dir}`, {
        details: { path: target, reason: 'output directory missing', stderrTail: '' },
      });
    }
    const temp = path.join(dir, `.${path.basename(target)}.${randomUUID()}.partial`);

    const frames = Readable.from(frameChunks(video), { objectMode: false });
    const command = newFfmpegCommand(this.binaries)
      .input(frames)
      .inputFormat('rawvideo')
      .inputOptions(['-hide_banner', '-loglevel', 'error'])
      .inputOptions(['-pix_fmt', 'rgb24', '-s', `${video.width}x${video.height}`, '-r', String(video.fps)])
      .videoCodec('libx264')
      .outputOptions(['-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p'])
      // swscale converts RGB→YUV with BT.601 limited-range coefficients; say so, so players do not guess.
      .outputOptions(['-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m'])
      .outputOptions(['-color_range', 'tv', '-movflags', '+faststart', '-an'])
      .format('mp4')
      .output(temp);

    let outcome: FfmpegOutcome;
    try {
      outcome = await runFfmpeg(command, this.#ffmpegRunOptions());
    } finally {
      frames.destroy();
    }
    if (outcome.kind !== 'ok') {
      await removeQuietly(temp);
      throw runFailure('VIDEO_ENCODE_FAILED', target, `encodeMp4 ${target}`, outcome);
    }
    try {
      await fs.rename(temp, target);
    } catch (error) {
      await removeQuietly(temp);
      throw new VrGrpoError('VIDEO_ENCODE_FAILED', `encodeMp4: could not move the encoded file into place: ${target}`, {
        details: { path: target, reason: 'rename failed', stderrTail: '' },
        cause: error,
      });
    }
  }

  /**
   * Facts about the first video stream of `file`. Frames are counted by decoding them (`ffprobe -count_frames`), so
   * `frameCount` is exact. A file whose container declares more frames than can be decoded (a truncated file) is
   * rejected. Missing, unreadable or corrupt files and timeouts reject with `VIDEO_DECODE_FAILED` carrying
   * `details.path` and `details.stderrTail`.
   */
  async probe(file: string): Promise<VideoInfo> {
    const target = path.resolve(file);
    const { stream } = await this.#probe(target, true);
    return Object.freeze({
      width: stream.width,
      height: stream.height,
      frameCount: stream.readFrames ?? 0,
      fps: stream.fps,
      durationSeconds: stream.durationSeconds,
      codec: stream.codec,
      pixelFormat: stream.pixelFormat,
    });
  }

  /**
   * Decodes `file` to packed RGB24 through a pipe (no temporary files), at the stream's size or `width × height`,
   * every frame or only `indices` (0-based; de-duplicated; returned in ascending index order). `fps` is the stream's.
   * Negative or non-integer indices → `INVALID_ARGUMENT`; an index ≥ the frame count → `VIDEO_DECODE_FAILED` with
   * `details.reason = 'index out of range'`. Fewer or more frames than expected (e.g. a truncated file), a corrupt or
   * missing file, and timeouts → `VIDEO_DECODE_FAILED` with `details.path` and `details.stderrTail`.
   *
   * Confinement (always): the container is sniffed first — a playlist or concat list is FORBIDDEN_PATH, anything but
   * mp4/mov and webm/matroska VIDEO_DECODE_FAILED — and ffprobe/ffmpeg run with that demuxer forced, a demuxer
   * whitelist and `-protocol_whitelist file`. With `limits`, a stream beyond one is VIDEO_TOO_LARGE from its header,
   * before anything is decoded; `maxPixels` makes ffmpeg scale the frames down, so none arrives at native size.
   */
  async decode(file: string, opts: DecodeOptions = {}): Promise<RawVideo> {
    const prepared = await this.prepareDecode(file, opts);
    opts.admit?.(prepared.plan);
    return this.runDecode(prepared);
  }

  /**
   * The first half of {@link decode}: checks the options, probes the file and checks the limits (same errors as
   * `decode`), and says what the decode will produce, without decoding. A media thread (./media-thread.ts) runs the
   * caller's admission check between this and {@link runDecode}.
   */
  async prepareDecode(file: string, opts: PrepareDecodeOptions = {}): Promise<PreparedDecode> {
    const size = decodeSize(opts);
    const indices = opts.indices === undefined ? undefined : normalizeIndices(opts.indices);
    const { limits, maxPixels } = opts;
    if (limits !== undefined) assertMediaLimits(limits);
    if (maxPixels !== undefined && (!Number.isInteger(maxPixels) || maxPixels <= 0)) {
      throw invalid(`decode: maxPixels must be a positive integer (got ${String(maxPixels)})`, { field: 'maxPixels' });
    }
    const target = path.resolve(file);

    // The container's declared count is enough here (decoding verifies it); count by decoding only if it is absent.
    let probed = await this.#probe(target, false);
    checkHeaderLimits(target, probed.stream, limits);
    // The decoders are capped at this stream's own (macroblock-padded) size: a stream that grows mid-way is refused.
    const pixelCap = limits === undefined ? undefined : (probed.stream.width + 64) * (probed.stream.height + 64);
    let frameCount = probed.stream.declaredFrames;
    if (frameCount === undefined) {
      // Counted by ffprobe (a child process), never past maxFrames + 1 packets.
      probed = await this.#probe(target, true, limits === undefined ? undefined : { maxPixels: pixelCap, maxReadFrames: limits.maxFrames + 1 });
      frameCount = probed.stream.readFrames ?? 0;
    }
    if (limits !== undefined && frameCount > limits.maxFrames) {
      throw tooLarge(target, 'maxFrames', frameCount, limits.maxFrames, 'frame count');
    }
    const { stream } = probed;
    if (frameCount === 0) {
      throw decodeFailed({ file: target, message: 'video has no frames', reason: 'no frames', tail: probed.stderrTail });
    }
    const last = indices?.[indices.length - 1];
    if (last !== undefined && last >= frameCount) {
      throw decodeFailed({
        file: target,
        message: `decode: frame index ${last} is out of range (${frameCount} frames)`,
        reason: 'index out of range',
        tail: probed.stderrTail,
        extra: { index: last, frameCount },
      });
    }

    const fitted = size ?? (maxPixels === undefined ? undefined : fitWithin(stream.width, stream.height, maxPixels));
    const width = fitted?.width ?? stream.width;
    const height = fitted?.height ?? stream.height;
    const frameBytes = frameByteLength(width, height);
    const expectedFrames = indices?.length ?? frameCount;
    const expectedBytes = expectedFrames * frameBytes;
    if (limits !== undefined && expectedBytes > limits.maxDecodedBytes) {
      throw tooLarge(target, 'maxDecodedBytes', expectedBytes, limits.maxDecodedBytes, `decoded size (${expectedFrames} frames of ${width}x${height}, bytes)`);
    }
    if (expectedBytes > bufferConstants.MAX_LENGTH) {
      const message = `decode: ${expectedFrames} frames of ${width}x${height} exceed the largest buffer`;
      throw decodeFailed({ file: target, message, reason: 'too large', tail: '' });
    }
    return Object.freeze({
      plan: Object.freeze({
        file: target,
        nativeWidth: stream.width,
        nativeHeight: stream.height,
        width,
        height,
        frames: expectedFrames,
        bytes: expectedBytes,
      }),
      indices,
      format: probed.format,
      pixelCap,
      fps: stream.fps,
    });
  }

  /** The second half of {@link decode}: runs ffmpeg for a prepared decode and checks what came out. */
  async runDecode(prepared: PreparedDecode): Promise<RawVideo> {
    const { plan, indices, pixelCap } = prepared;
    const { file: target, width, height, nativeWidth, nativeHeight, frames: expectedFrames, bytes: expectedBytes } = plan;
    const frameBytes = frameByteLength(width, height);
    const sink = new FrameSink(expectedBytes);
    const filter = decodeFilter({ indices, width, height, nativeWidth, nativeHeight });
    const command = newFfmpegCommand(this.binaries)
      // Through the file protocol only, with the sniffed demuxer forced: a playlist or concat list cannot be followed.
      .input(`file:${target}`)
      .inputOptions(confinedInputOptions(prepared.format, pixelCap))
      // -noautorotate: frames stay in stored orientation, matching the width and height ffprobe reports.
      .inputOptions(['-hide_banner', '-loglevel', 'error', '-nostdin', '-noautorotate'])
      // `-vsync 0` (passthrough) is spelled `-fps_mode passthrough` from ffmpeg 5.1 but still accepted there, and is
      // the only spelling the bundled ffmpeg 4.x knows. `-frames:v` lets ffmpeg stop after the last selected frame.
      .outputOptions(['-map', '0:v:0', '-vf', filter, '-vsync', '0'])
      .outputOptions(indices === undefined ? [] : ['-frames:v', String(expectedFrames)])
      .outputOptions(['-pix_fmt', 'rgb24'])
      .format('rawvideo')
      .output(sink);

    const outcome = await runFfmpeg(command, this.#ffmpegRunOptions());
    if (outcome.kind !== 'ok') {
      if (sink.overflowed && outcome.kind !== 'not-runnable') {
        throw decodeFailed({
          file: target,
          message: `decode: more than the expected ${expectedFrames} frames`,
          reason: 'frame count mismatch',
          tail: stderrTail(outcome.stderr),
          extra: { expectedFrames },
        });
      }
      throw runFailure('VIDEO_DECODE_FAILED', target, `decode ${target}`, outcome);
    }
    // fluent-ffmpeg reports the end on process exit; the last stdout bytes may still be in flight to the sink.
    if (!sink.writableFinished) await new Promise<void>((resolve) => sink.once('finish', resolve));

    const tail = stderrTail(outcome.stderr);
    const decodedFrames = sink.bytes / frameBytes;
    if (!Number.isInteger(decodedFrames) || decodedFrames !== expectedFrames) {
      throw decodeFailed({
        file: target,
        message: `decode: got ${sink.bytes} bytes = ${decodedFrames.toFixed(2)} frames, expected ${expectedFrames}`,
        reason: 'frame count mismatch',
        tail,
        extra: { expectedFrames, decodedBytes: sink.bytes },
      });
    }
    return Object.freeze({ width, height, frameCount: expectedFrames, fps: prepared.fps, data: sink.toUint8Array() });
  }

  /** Runs ffprobe on `target` (absolute); `countFrames` decodes the stream to count frames exactly. */
  async #probe(target: string, countFrames: boolean, bounds?: { readonly maxPixels?: number; readonly maxReadFrames: number }): Promise<Probed> {
    const stat = await fs.stat(target).catch(() => undefined);
    if (stat === undefined) {
      throw decodeFailed({ file: target, message: 'video file not found', reason: 'file not found', tail: '' });
    }
    if (!stat.isFile()) {
      throw decodeFailed({ file: target, message: 'not a regular file', reason: 'not a regular file', tail: '' });
    }

    // Sniffed before any ffmpeg process sees the file: only the mov and matroska demuxers may read it.
    const format = await sniffContainer(target);
    const confine: ProbeConfinement = {
      format,
      formatWhitelist: FORMAT_WHITELIST,
      protocolWhitelist: PROTOCOL_WHITELIST,
      ...bounds,
    };
    const outcome = await runProcess(this.binaries.ffprobe, ffprobeArgs(target, countFrames, confine), {
      timeoutMs: this.timeoutMs,
      onSpawn: this.#countSpawn,
    });
    if (outcome.kind !== 'exited' || outcome.exitCode !== 0) {
      throw runFailure('VIDEO_DECODE_FAILED', target, `probe ${target}`, outcome);
    }
    const tail = stderrTail(outcome.stderr);
    const stream = parseFfprobeJson(outcome.stdout);
    if (typeof stream === 'string') {
      throw decodeFailed({ file: target, message: `cannot probe (${stream})`, reason: stream, tail });
    }
    if (countFrames) {
      const read = stream.readFrames ?? 0;
      if (read === 0) {
        throw decodeFailed({ file: target, message: 'no decodable video frames', reason: 'no decodable frames', tail });
      }
      if (stream.declaredFrames !== undefined && read < stream.declaredFrames) {
        throw decodeFailed({
          file: target,
          message: `truncated or corrupt: ${read} of ${stream.declaredFrames} declared frames decodable`,
          reason: 'truncated',
          tail,
          extra: { declaredFrames: stream.declaredFrames, readFrames: read },
        });
      }
    }
    return { stream, format, stderrTail: tail };
  }
}
