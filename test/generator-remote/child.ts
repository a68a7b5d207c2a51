/** Child processes for the tests: spawn a TypeScript entry point, wait (bounded) for a stdout line, and always reap it. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { within } from './helpers.js';

export class ChildProcess {
  #stdout = '';
  #stderr = '';
  readonly #waiters: (() => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.#stdout += d.toString();
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** `node <args>` in the project root, with `env` added to the environment. */
  static spawn(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    return new ChildProcess(child);
  }

  /** Runs a TypeScript file of the project through `bin/run-ts.js`. */
  static runTs(file: string, env: Record<string, string> = {}): ChildProcess {
    return ChildProcess.spawn([join(PROJECT_ROOT, 'bin', 'run-ts.js'), file], env);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first capture group of `pattern` in stdout, waiting for it at most `ms`. */
  async line(pattern: RegExp, ms: number): Promise<string> {
    const found = async (): Promise<string> => {
      for (;;) {
        const match = pattern.exec(this.#stdout);
        if (match !== null) return match[1] ?? match[0];
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          throw new Error(
            `process exited (${String(this.child.exitCode ?? this.child.signalCode)}) before printing ${String(pattern)}; stderr: ${this.#stderr.slice(-2000)}`,
          );
        }
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return within(found(), `${String(pattern)} on stdout (stderr so far: ${this.#stderr.slice(-500)})`, ms);
  }

  /** Kills with SIGKILL unless it already exited, and waits for the exit. */
  async reap(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await within(this.exited, 'the child process to exit', 10_000);
  }
}
