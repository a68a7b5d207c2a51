/**
 * Helpers for tests that run `vr-grpo` as real child processes: spawn with captured output (every child is
 * remembered and killed by `killAll`), poll until a condition holds (bounded), read a run folder's jsonl files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';

export const BIN = join(PROJECT_ROOT, 'bin', 'vr-grpo.js');

export interface CliChild {
  readonly child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

export class CliChildren {
  readonly #children: ChildProcess[] = [];

  /** Spawns `vr-grpo <args>` in the project root, quiet logs, `env` added to this process's environment. */
  start(args: readonly string[], env: NodeJS.ProcessEnv = {}, killAfterMs = 300_000): CliChild {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VRGRPO_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    void exited.then(() => clearTimeout(timer));
    return { child, output: () => out, exited };
  }

  /** SIGTERM to every child still running, SIGKILL after 15 s; resolves when all have exited. */
  async killAll(): Promise<void> {
    await Promise.all(
      this.#children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** Polls `read` every 50 ms until it returns a non-null value; throws after `ms`. */
export async function until<T>(what: string, ms: number, read: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await read();
    if (v !== null) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The parsed lines of a jsonl file (none when it does not exist yet). */
export function jsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The `dashboard http://…/` address `vr-grpo train` prints, once printed. */
export const dashboardUrl = (output: string): string | null => /dashboard (http:\/\/\S+\/) /.exec(output)?.[1] ?? null;

/** The `listening ws://…` address `vr-grpo serve-reward` prints, once printed. */
export const listeningUrl = (output: string): string | null => /^listening (ws:\/\/\S+)$/m.exec(output)?.[1] ?? null;

/** GET `url` as text; null on a non-2xx answer or a connection error. */
export function getText(url: string): Promise<string | null> {
  return fetch(url)
    .then((r) => (r.ok ? r.text() : null))
    .catch(() => null);
}
