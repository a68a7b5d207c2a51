/** What ffprobe tells about a video file: the `VideoInfo` shape, the ffprobe arguments, and the parser of its JSON. */
import { z } from 'zod';

/** Stream facts of the first video stream of a file. */
export interface VideoInfo {
  /** Frame width in pixels. */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Number of frames (decoded and counted by `Media.probe`; see its docs). */
  readonly frameCount: number;
  /** Frames per second (average frame rate; may be fractional). */
  readonly fps: number;
  /** Duration in seconds (stream duration, else container duration, else frameCount / fps). */
  readonly durationSeconds: number;
  /** ffprobe codec name, e.g. `h264`. */
  readonly codec: string;
  /** ffprobe pixel format name, e.g. `yuv420p`. */
  readonly pixelFormat: string;
}

/** Fields ffprobe reports that are not part of {@link VideoInfo} but decide whether the file is whole. */
export interface ProbedStream extends Omit<VideoInfo, 'frameCount'> {
  /** Frame count the container declares (`nb_frames`), when it declares one. */
  readonly declaredFrames: number | undefined;
  /** Frames ffprobe actually read (`nb_read_frames`), when run with `-count_frames`. */
  readonly readFrames: number | undefined;
}

/** How ffprobe is confined: the demuxer it must use, the decoder's pixel cap, and how many frames it may count. */
export interface ProbeConfinement {
  /** Demuxer forced with `-f` (from the sniffed container). */
  readonly format: string;
  /** Whitelists of demuxers and protocols (`-format_whitelist`, `-protocol_whitelist`). */
  readonly formatWhitelist: string;
  readonly protocolWhitelist: string;
  /** Decoder cap on pixels per frame (`-max_pixels`) when counting frames; undefined: ffmpeg's default. */
  readonly maxPixels?: number;
  /** With `countFrames`, read at most this many packets (`-read_intervals %+#N`); undefined: all. */
  readonly maxReadFrames?: number;
}

/**
 * ffprobe arguments printing, as JSON, the first video stream of `file` (and counting its frames if `countFrames`).
 * The file is named through the `file:` protocol, so a name can never select another protocol.
 */
export function ffprobeArgs(file: string, countFrames: boolean, confine?: ProbeConfinement): string[] {
  const confined =
    confine === undefined
      ? []
      : [
          '-protocol_whitelist',
          confine.protocolWhitelist,
          '-format_whitelist',
          confine.formatWhitelist,
          // Only where frames are decoded (counting): the header probe must still report an oversized stream's size.
          ...(countFrames && confine.maxPixels !== undefined ? ['-max_pixels', String(Math.min(confine.maxPixels, 2_147_483_647))] : []),
          ...(countFrames && confine.maxReadFrames !== undefined ? ['-read_intervals', `%+#${confine.maxReadFrames}`] : []),
          '-f',
          confine.format,
        ];
  return [
    '-v',
    'error',
    ...confined,
    '-select_streams',
    'v:0',
    ...(countFrames ? ['-count_frames'] : []),
    '-show_entries',
    'stream=codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,nb_frames,nb_read_frames,duration:format=duration',
    '-of',
    'json',
    confine === undefined ? file : `file:${file}`,
  ];
}

// ffprobe prints numbers as JSON numbers for some fields and as strings ("24", "N/A") for others.
const numeric = z.union([z.number(), z.string()]).optional();

const ffprobeJson = z.object({
  streams: z
    .array(
      z.object({
        codec_name: z.string().optional(),
        width: numeric,
        height: numeric,
        pix_fmt: z.string().optional(),
        avg_frame_rate: z.string().optional(),
        r_frame_rate: z.string().optional(),
        nb_frames: numeric,
        nb_read_frames: numeric,
        duration: numeric,
      }),
    )
    .optional(),
  format: z.object({ duration: numeric }).optional(),
});

function toNumber(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && !(typeof value === 'string' && value.trim() === '') ? n : undefined;
}

function toCount(value: number | string | undefined): number | undefined {
  const n = toNumber(value);
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** `"30000/1001"` → 29.97…; `undefined` for `"0/0"` and other unusable rates. */
export function parseRate(rate: string | undefined): number | undefined {
  if (rate === undefined) return undefined;
  const [num, den] = rate.split('/');
  const value = den === undefined ? Number(num) : Number(num) / Number(den);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Parses ffprobe's JSON; returns the problem as a string when the output has no usable video stream. */
export function parseFfprobeJson(stdout: string): ProbedStream | string {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    return 'ffprobe printed no JSON';
  }
  const parsed = ffprobeJson.safeParse(raw);
  if (!parsed.success) return 'unexpected ffprobe output';
  const stream = parsed.data.streams?.[0];
  if (stream === undefined) return 'no video stream';

  const width = toCount(stream.width);
  const height = toCount(stream.height);
  if (width === undefined || height === undefined || width === 0 || height === 0) return 'video stream has no size';
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  if (fps === undefined) return 'video stream has no frame rate';

  const declaredFrames = toCount(stream.nb_frames);
  const readFrames = toCount(stream.nb_read_frames);
  const duration = toNumber(stream.duration) ?? toNumber(parsed.data.format?.duration);
  const frames = readFrames ?? declaredFrames;
  return {
    width,
    height,
    fps,
    durationSeconds: duration ?? (frames === undefined ? 0 : frames / fps),
    codec: stream.codec_name ?? 'unknown',
    pixelFormat: stream.pix_fmt ?? 'unknown',
    declaredFrames,
    readFrames,
  };
}
