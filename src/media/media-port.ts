/**
 * `MediaPort`: the part of the media adapter a reward server needs — decode a file (with limits and an admission
 * check) and probe one. Implemented by `Media` (ffmpeg and ffprobe started from the caller's thread) and by
 * `ThreadedMedia` (./media-thread.ts: started from a worker thread, so their spawns do not stall the caller's loop).
 */
import type { DecodeOptions } from './media.js';
import type { RawVideo } from './raw-video.js';
import type { VideoInfo } from './video-info.js';

export interface MediaPort {
  /** Decodes `file` to RGB24 frames; errors and their codes as `Media.decode`. */
  decode(file: string, opts?: DecodeOptions): Promise<RawVideo>;
  /** Facts about the first video stream of `file`; errors and their codes as `Media.probe`. */
  probe(file: string): Promise<VideoInfo>;
  /** ffmpeg and ffprobe processes started so far (as `Media.spawnCount`). */
  readonly spawnCount: number;
}
