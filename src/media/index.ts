/** Public face of the media adapter — the only folder that talks to ffmpeg/ffprobe (via fluent-ffmpeg). */
export { assertRawVideo, frameAt, frameByteLength, RGB24_BYTES_PER_PIXEL, type RawVideo } from './raw-video.js';
export { framesOf, isVideoFile, judgedFrameCount, type VideoFileRef, type VideoHandle } from './video-file.js';
export { resolveFfmpegBinaries, type BinarySource, type FfmpegBinaries, type ResolveFfmpegBinariesOptions } from './binaries.js';
export {
  Media,
  DEFAULT_CRF,
  DEFAULT_MEDIA_TIMEOUT_MS,
  DEFAULT_PRESET,
  X264_PRESETS,
  type DecodeOptions,
  type EncodeMp4Options,
  type MediaOptions,
  type PrepareDecodeOptions,
  type PreparedDecode,
  type X264Preset,
} from './media.js';
export type { MediaPort } from './media-port.js';
export { ThreadedMedia } from './media-thread.js';
export type { VideoInfo } from './video-info.js';
export { shrinkFrame } from './shrink.js';
export { FORMAT_WHITELIST, PROTOCOL_WHITELIST, sniffBytes, sniffContainer, type ContainerFormat, type SniffResult } from './container.js';
export {
  DEFAULT_DECODE_MAX_PIXELS,
  DEFAULT_MAX_DECODED_BYTES,
  DEFAULT_MAX_DURATION_SECONDS,
  DEFAULT_MAX_FRAMES,
  DEFAULT_MAX_PIXELS_PER_FRAME,
  DEFAULT_MEDIA_LIMITS,
  fitWithin,
  type DecodePlan,
  type MediaLimits,
} from './limits.js';
export { STDERR_TAIL_MAX_CHARS, STDERR_TAIL_MAX_LINES } from './stderr-tail.js';
