/**
 * The Python side of the tests (the PyTorch reference worker, workers/python): which interpreter, and whether its
 * tests run here. Without torch, websockets and numpy they are skipped with a printed reason, except under CI
 * (`.ci/run` installs Debian's python3-torch), where they run and fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { resolveFfmpegBinaries } from '../../src/media/index.js';
import { within } from '../transport/helpers.js';
import { isCi } from '../metrics/helpers.js';

/** The interpreter that has the Debian torch packages; VRGRPO_PYTHON overrides it. */
export const PYTHON = process.env.VRGRPO_PYTHON !== undefined && process.env.VRGRPO_PYTHON !== '' ? process.env.VRGRPO_PYTHON : '/usr/bin/python3';

/** Why the Python side cannot run here, or undefined when `import torch, websockets, numpy` works. */
function whyPythonMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, websockets, numpy'], { timeout: 60_000, encoding: 'utf8' });
  if (probe.error !== undefined) return `${PYTHON} could not run: ${probe.error.message}`;
  if (probe.status !== 0) return `${PYTHON} -c "import torch, websockets, numpy" failed: ${probe.stderr.trim().split('\n').slice(-1).join('')}`;
  return undefined;
}

/** Why the Python side cannot run here (checked once), or undefined. */
export const PYTHON_MISSING = whyPythonMissing();

/** Whether tests of `what` are skipped here; prints the reason when they are. */
export function skipPython(what: string): boolean {
  const missing = PYTHON_MISSING;
  const skip = missing !== undefined && !isCi();
  if (skip) {
    console.warn(
      `${what} SKIPPED: ${missing ?? ''}. Install python3-torch python3-websockets python3-numpy (Debian) or set VRGRPO_PYTHON; under CI they fail instead.`,
    );
  }
  return skip;
}

/** A running Python reference worker (`python3 -m vrgrpo_worker`) and how to stop it. */
export interface PythonWorker {
  readonly url: string;
  readonly stop: () => Promise<void>;
}

/** Starts the Python reference worker on a free loopback port with these folders; resolves with its URL (bounded). */
export async function startPythonWorker(options: { readonly artifactRoot: string; readonly stateRoot: string }): Promise<PythonWorker> {
  const { ffmpeg } = resolveFfmpegBinaries();
  const worker = spawn(
    PYTHON,
    [
      '-m',
      'vrgrpo_worker',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--artifact-root',
      options.artifactRoot,
      '--state-root',
      options.stateRoot,
      '--ffmpeg',
      ffmpeg,
    ],
    { cwd: join(PROJECT_ROOT, 'workers', 'python'), env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await within(exited, 'the Python worker to exit', 10_000);
  };
  let stderr = '';
  worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await within(
      new Promise<string>((resolve, reject) => {
        let stdout = '';
        worker.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const match = /^listening (ws:\/\/\S+)$/m.exec(stdout);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        worker.once('exit', (code) => reject(new Error(`the Python worker exited (${String(code)}): ${stderr.slice(-2000)}`)));
      }),
      'the Python worker to listen',
      60_000,
    );
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
