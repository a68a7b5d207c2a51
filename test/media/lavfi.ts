/** Test clips made by the project's own ffmpeg from lavfi sources (no frames pass through the test process). */
import { spawnSync } from 'node:child_process';
import { resolveFfmpegBinaries } from '../../src/media/index.js';

/**
 * Encodes `frames` frames of the lavfi `source` (e.g. `color=c=gray:s=5000x5000:r=1`) as H.264 into `out`, with
 * `extra` output options before the file name. Throws with ffmpeg's stderr when it fails. Returns `out`.
 */
export function lavfiClip(out: string, source: string, frames: number, extra: readonly string[] = []): string {
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, '-frames:v', String(frames)];
  const encode = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...extra, out];
  const run = spawnSync(resolveFfmpegBinaries().ffmpeg, [...args, ...encode], { timeout: 60_000 });
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${String(run.stderr)}`);
  return out;
}
