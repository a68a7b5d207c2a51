/** Creates fluent-ffmpeg commands bound to resolved binaries and runs them with a SIGKILL timeout and no stray events. */
import ffmpeg from 'fluent-ffmpeg';
import { whyNotExecutable } from '../common/executables.js';
import type { FfmpegBinaries } from './binaries.js';

/** A fluent-ffmpeg command; only this folder sees the vendor type. */
export type FfmpegCommand = ffmpeg.FfmpegCommand;

/** How an ffmpeg run ended. Always reported after the child (if any) has exited and stderr has closed. */
export type FfmpegOutcome =
  | { readonly kind: 'ok'; readonly stderr: string }
  | { readonly kind: 'failed'; readonly error: Error; readonly stderr: string }
  | { readonly kind: 'timeout'; readonly stderr: string }
  | { readonly kind: 'not-runnable'; readonly binary: string; readonly reason: string };

export interface RunFfmpegOptions {
  /** The ffmpeg binary the command was created with; re-checked before the run. */
  readonly binary: string;
  /** Wall-clock limit in milliseconds, after which ffmpeg is sent SIGKILL. */
  readonly timeoutMs: number;
  /** Called each time ffmpeg is spawned (for spawn counting). */
  readonly onSpawn: () => void;
}

type PathCallback = (error: Error | null, path: string) => void;

/** Lines of ffmpeg stderr fluent-ffmpeg keeps in its ring buffer (we report the last 20). */
const STDERR_LINES_KEPT = 100;

/**
 * A new command that runs `binaries.ffmpeg` / `binaries.ffprobe`.
 *
 * `setFfmpegPath`/`setFfprobePath` look per-command but write a module-level cache inside fluent-ffmpeg 2.1.3
 * (lib/capabilities.js), read again asynchronously just before spawning; two `Media` instances with different binaries
 * would race on it. So the paths are also pinned on this instance by overriding the two lookups fluent-ffmpeg calls
 * (`_getFfmpegPath`, `_getFfprobePath`). fluent-ffmpeg is archived, so these private names will not move.
 */
export function newFfmpegCommand(binaries: FfmpegBinaries): FfmpegCommand {
  const command = ffmpeg({ stdoutLines: STDERR_LINES_KEPT });
  command.setFfmpegPath(binaries.ffmpeg);
  command.setFfprobePath(binaries.ffprobe);
  Object.assign(command, {
    _getFfmpegPath: (callback: PathCallback): void => {
      callback(null, binaries.ffmpeg);
    },
    _getFfprobePath: (callback: PathCallback): void => {
      callback(null, binaries.ffprobe);
    },
  });
  return command;
}

/**
 * Runs a fully configured `command` (inputs and outputs set, not yet started). A timeout sends SIGKILL — also when it
 * fires before fluent-ffmpeg has finished its pre-flight checks, in which case ffmpeg is killed the moment it starts.
 * Resolves only once fluent-ffmpeg reports the end ('end' or 'error', both emitted after process exit), so no child
 * outlives the promise. Never rejects.
 *
 * Limit: before its first run in a Node process fluent-ffmpeg runs `ffmpeg -formats` and `ffmpeg -encoders` itself
 * (results cached module-wide). Those are outside our reach — no handle, no 'start' event — so the timeout cannot
 * kill them; with a working ffmpeg they finish in milliseconds.
 */
export function runFfmpeg(command: FfmpegCommand, opts: RunFfmpegOptions): Promise<FfmpegOutcome> {
  // Once its capability cache is warm, fluent-ffmpeg 2.1.3 crashes the process (an uncaught TypeError in its spawn
  // 'error' handler) when the binary cannot be spawned, so a binary removed since resolution is caught here instead.
  const why = whyNotExecutable(opts.binary);
  if (why !== undefined) return Promise.resolve({ kind: 'not-runnable', binary: opts.binary, reason: why });
  return new Promise<FfmpegOutcome>((resolve) => {
    let started = false;
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (started) command.kill('SIGKILL');
    }, opts.timeoutMs);
    const settle = (outcome: FfmpegOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };

    command.on('start', () => {
      started = true;
      opts.onSpawn();
      if (timedOut) command.kill('SIGKILL');
    });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      settle(timedOut ? { kind: 'timeout', stderr: stderr ?? '' } : { kind: 'failed', error, stderr: stderr ?? '' });
    });
    command.on('end', (_stdout: string | null, stderr: string | null) => {
      settle({ kind: 'ok', stderr: stderr ?? '' });
    });
    try {
      command.run();
    } catch (error) {
      settle({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)), stderr: '' });
    }
  });
}
