/** Benchmark helpers: start a server script of bench/support as a child process, read its address, stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';

export interface ChildServer {
  readonly child: ChildProcess;
  /** The address the script printed (`listening <url>`). */
  readonly url: string;
}

/** Runs `bench/support/<script> ...args` and resolves with the address it prints as `listening <url>` (60 s at most). */
export function startChildServer(script: string, args: readonly string[]): Promise<ChildServer> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'run-ts.js'), join(PROJECT_ROOT, 'bench', 'support', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<ChildServer>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start in 60 s`));
    }, 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${String(code)}) before listening`));
    });
  });
}

/** SIGTERM, then waits for the exit. */
export async function stopChildServer(server: ChildServer): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
