/**
 * Runs the Python reference generator worker's own unittest suite (workers/python/tests: Flow-GRPO maths, state,
 * and an end-to-end protocol-v2 run against the worker as a child process) under Debian's /usr/bin/python3 with
 * python3-torch, python3-websockets and python3-numpy. Where those are missing the suite is *skipped* with a warning,
 * except under CI (CI set to anything but "", "0" or "false"), where it runs and fails so CI keeps proving the worker.
 * ffmpeg/ffprobe come from the repo's media adapter (the npm-shipped binaries unless PATH or FFMPEG_PATH say otherwise).
 */
import { spawn } from 'node:child_process';
import { PYTHON, PYTHON_MISSING as MISSING, skipPython } from './python.js';

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveFfmpegBinaries } from '../../src/media/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The whole Python suite takes ~20 s on 2 cores; the bound leaves room for a slow CI machine. */
const SUITE_TIMEOUT_MS = 240_000;
const SKIP = skipPython('python-worker tests');

interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs `cmd args` to completion, killing it (SIGKILL) after `timeoutMs`; stdout and stderr interleaved. */
function runBounded(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe.skipIf(SKIP)('python reference generator worker (workers/python)', () => {
  it(
    'passes its unittest suite, including reference delivery with the repo ffmpeg',
    async () => {
      expect(MISSING, `the Python worker cannot run under CI: ${MISSING ?? ''}`).toBeUndefined();
      const { ffmpeg, ffprobe } = resolveFfmpegBinaries();
      const env = { ...process.env, VRGRPO_TEST_FFMPEG: ffmpeg, VRGRPO_TEST_FFPROBE: ffprobe, PYTHONDONTWRITEBYTECODE: '1' };
      const r = await runBounded(
        PYTHON,
        ['-m', 'unittest', 'discover', '-s', 'workers/python/tests', '-t', 'workers/python/tests', '-v'],
        env,
        SUITE_TIMEOUT_MS,
      );
      const tail = r.output.slice(-6000);
      expect(r.signal, `the suite was killed after ${SUITE_TIMEOUT_MS} ms:\n${tail}`).toBeNull();
      expect(r.code, tail).toBe(0);
      expect(r.output).toMatch(/\nRan \d+ tests? in [\d.]+s\n/);
      expect(r.output).toMatch(/\nOK(?: \(skipped=\d+\))?\n?$/);
      expect(r.output, 'ffmpeg was given, so nothing may be skipped').not.toMatch(/skipped/);
    },
    SUITE_TIMEOUT_MS + 30_000,
  );
});
