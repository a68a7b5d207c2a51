/**
 * A video held by reference: an MP4 under a shared artifact root (generator protocol v2, `delivery: reference`),
 * known by its `file:` URI and format, with an optional judge-ready copy. The coordinator passes the URI to the reward
 * servers and never holds the frames; `VideoHandle` is either this or the frames themselves.
 */
import { VrGrpoError } from '../errors/index.js';
import type { RawVideo } from './raw-video.js';

export interface VideoFileRef {
  /** `file:` URI of the MP4. */
  readonly uri: string;
  readonly width: number;
  readonly height: number;
  readonly frameCount: number;
  readonly fps: number;
  /** Size of the file, bytes. */
  readonly bytes: number;
  /** A copy with the judge's frame count and size, which judging prefers; null when none was written. */
  readonly judge: { readonly uri: string; readonly width: number; readonly height: number; readonly frameCount: number } | null;
}

/** A video as the coordinator holds it: its frames (inline delivery, in-process generators) or a file reference. */
export type VideoHandle = RawVideo | VideoFileRef;

export function isVideoFile(video: VideoHandle): video is VideoFileRef {
  return 'uri' in video;
}

/** Frames a judge sees of `video`: a reference's judge copy (when written) may have fewer than the file. */
export function judgedFrameCount(video: VideoHandle): number {
  return isVideoFile(video) ? (video.judge?.frameCount ?? video.frameCount) : video.frameCount;
}

/** The frames of `video`; INVALID_ARGUMENT naming `what` when it is held by reference (decode the file instead). */
export function framesOf(video: VideoHandle, what: string): RawVideo {
  if (isVideoFile(video)) {
    throw new VrGrpoError('INVALID_ARGUMENT', `${what} needs the frames, but the video is held by reference (${video.uri}): use inline delivery`, {
      details: { uri: video.uri },
    });
  }
  return video;
}
