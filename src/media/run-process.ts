/** Runs a short-lived child process (ffprobe) to completion with a SIGKILL timeout, capturing stdout and stderr. */
import { spawn } from 'node:child_process';

/** How a process run ended. Always reported after the child is gone and its pipes are closed. */
export type ProcessOutcome =
  | {
      readonly kind: 'exited';
      readonly exitCode: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly stdout: string;
      readonly stderr: string;
    }
  | { readonly kind: 'timeout'; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'spawn-error'; readonly error: Error; readonly stderr: string };

export interface RunProcessOptions {
  /** Wall-clock limit in milliseconds, after which the child is sent SIGKILL. */
  readonly timeoutMs: number;
  /** Called once the child has been spawned (for spawn counting). */
  readonly onSpawn: () => void;
  /** Most stderr characters kept (the newest). Default: 65536. */
  readonly maxStderrChars?: number;
}

/** Runs `binary args…` with stdin closed. Never rejects: every ending is a {@link ProcessOutcome}. */
export function runProcess(binary: string, args: readonly string[], opts: RunProcessOptions): Promise<ProcessOutcome> {
  const maxStderr = opts.maxStderrChars ?? 65_536;
  return new Promise<ProcessOutcome>((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;

    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    const settle = (outcome: ProcessOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > maxStderr) stderr = stderr.slice(-maxStderr);
    });
    // 'error' covers spawn failures (ENOENT, EACCES) and failed kills; 'close' fires after exit and closed pipes.
    child.on('error', (error) => {
      settle({ kind: 'spawn-error', error, stderr });
    });
    child.on('close', (exitCode, signal) => {
      settle(timedOut ? { kind: 'timeout', stdout, stderr } : { kind: 'exited', exitCode, signal, stdout, stderr });
    });
    if (child.pid !== undefined) opts.onSpawn();
  });
}
