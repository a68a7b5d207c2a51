/**
 * Starts `vr-grpo serve-reward` as a child process on loopback (free port, random token), waits for its
 * `listening ws://…` line, and stops it (SIGTERM, then SIGKILL) on `stop()`. Used by `vr-grpo train` on the embedded
 * default when no reward servers are configured. The child exits by itself when this process dies (its stdin closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/index.js';
import type { Logger } from '../common/logger.js';
import { VrGrpoError } from '../errors/index.js';

export interface LocalRewardServer {
  readonly url: string;
  readonly token: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface LocalRewardServerOptions {
  readonly configPath: string | null;
  readonly artifactRoot: string;
  readonly log: Logger;
  /** Bearer token the child requires. Default: a fresh random one. */
  readonly token?: string;
  /** More `serve-reward` arguments (an auditor's `--checkpoint DIR --no-planted-hack`). */
  readonly args?: readonly string[];
  /** How long the child may take to report listening, in milliseconds. Default: 60000. */
  readonly startTimeoutMs?: number;
}

/**
 * Spawns one local reward server. Rejects with REWARD_SERVER_START_FAILED when the child exits before listening or
 * does not report listening within `startTimeoutMs` (`details.stderrTail` holds the end of its stderr).
 */
export async function startLocalRewardServer(options: LocalRewardServerOptions): Promise<LocalRewardServer> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const args = [
    join(PROJECT_ROOT, 'bin', 'vr-grpo.js'),
    'serve-reward',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--artifact-root',
    options.artifactRoot,
    '--exit-with-parent',
    // Throughput over liveness for a child only this run talks to: frame analysis and ffmpeg spawns stay on its main
    // thread (bench:event-loop measured 25–43 % fewer judgments/s with the threads on 2 shared cores; docs/perf.md).
    '--no-analysis-thread',
    '--no-media-thread',
  ];
  if (options.configPath !== null) args.push('--config', options.configPath);
  args.push(...(options.args ?? []));
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, VRGRPO_TOKEN: token },
    // stdin is a pipe the child watches (--exit-with-parent): if this process dies, even by SIGKILL, the child drains.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderrTail = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new VrGrpoError('REWARD_SERVER_START_FAILED', 'the local reward server did not start in time', { details: { reason: 'timeout', stderrTail } }));
    }, options.startTimeoutMs ?? 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const m = /listening (ws:\/\/\S+)/.exec(buffer);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new VrGrpoError('REWARD_SERVER_START_FAILED', `the local reward server exited (code ${String(code)}) before listening: ${stderrTail.slice(-500)}`, {
          details: { reason: 'exited', stderrTail },
        }),
      );
    });
  });
  options.log.info({ url, pid: child.pid }, 'local reward server started');
  let stopping: Promise<void> | null = null;
  return {
    url,
    token,
    pid: child.pid ?? -1,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** `count` local reward servers sharing one token, for the pool to spread judgments over (one per core pays off). */
export interface LocalRewardServers {
  readonly urls: readonly string[];
  readonly token: string;
  /** Process ids of the children, in `urls` order. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** Starts `count` local reward servers at once; if one fails to start, the others are stopped before the error is thrown. */
export async function startLocalRewardServers(count: number, options: Omit<LocalRewardServerOptions, 'token'>): Promise<LocalRewardServers> {
  if (!Number.isInteger(count) || count < 1) throw new VrGrpoError('INVALID_ARGUMENT', `local reward servers: expected an integer >= 1, got ${String(count)}`);
  const token = randomBytes(18).toString('base64url');
  const started = await Promise.allSettled(Array.from({ length: count }, () => startLocalRewardServer({ ...options, token })));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  return { urls: servers.map((s) => s.url), token, pids: servers.map((s) => s.pid), stop };
}
