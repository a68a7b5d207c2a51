/**
 * The Python side of the tests (the PyTorch reference worker, workers/python): which interpreter, and whether its
 * tests run here. Without torch, websockets and numpy they are skipped with a printed reason, except under CI
 * (`.ci/run` installs Debian's python3-torch), where they run and fail.
 */
import { spawnSync } from 'node:child_process';
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
