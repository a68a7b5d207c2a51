/**
 * Metrics test helpers: find and run the real promtool, parse a Prometheus text exposition, and read one sample.
 * promtool is the one tool of the suite that `npm install` cannot bring (no npm package ships it): where it is missing
 * the promtool checks are *skipped* (test/global-setup.ts prints why and how to get it), except under CI=true, where
 * they run and fail so CI keeps proving the rules. `.ci/run` installs it with Debian's `prometheus` package, which also
 * brings the Prometheus server (`findPrometheus`, same rules) for test/monitoring.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { findOnPath, whyNotExecutable } from '../../src/common/executables.js';
import { strictStepRecordSchema } from '../../src/metrics/index.js';

/** True when the environment says this is a CI run (`CI` set to anything but "", "0" or "false"). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Where promtool is, or why it is not there: `PROMTOOL_PATH` (which must then be executable), else `promtool` on PATH. */
export function findPromtool(env: NodeJS.ProcessEnv = process.env): { readonly path: string } | { readonly missing: string } {
  const explicit = env.PROMTOOL_PATH;
  if (explicit !== undefined && explicit !== '') {
    const why = whyNotExecutable(resolve(explicit));
    return why === undefined ? { path: resolve(explicit) } : { missing: `PROMTOOL_PATH=${explicit} ${why}` };
  }
  const onPath = findOnPath(['promtool'], env);
  return onPath === undefined ? { missing: 'promtool is not on PATH and PROMTOOL_PATH is not set' } : { path: onPath };
}

const PROMTOOL = findPromtool();

/**
 * Where the Prometheus server is, or why it is not there: `PROMETHEUS_PATH` (which must then be executable), else
 * `prometheus` on PATH. Debian's `prometheus` package ships it beside promtool (`.ci/run` installs it).
 */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): { readonly path: string } | { readonly missing: string } {
  const explicit = env.PROMETHEUS_PATH;
  if (explicit !== undefined && explicit !== '') {
    const why = whyNotExecutable(resolve(explicit));
    return why === undefined ? { path: resolve(explicit) } : { missing: `PROMETHEUS_PATH=${explicit} ${why}` };
  }
  const onPath = findOnPath(['prometheus'], env);
  return onPath === undefined ? { missing: 'prometheus is not on PATH and PROMETHEUS_PATH is not set' } : { path: onPath };
}

const PROMETHEUS = findPrometheus();

/** How to get the Prometheus server, for skip and failure messages. */
export const PROMETHEUS_HINT = 'install it with `apt-get install prometheus` (Debian/Ubuntu; `.ci/run` does this) or set PROMETHEUS_PATH=/path/to/prometheus';

/** Skip the real-Prometheus checks: prometheus is missing, `PROMETHEUS_PATH` is not set and this is not a CI run. */
export const SKIP_PROMETHEUS = 'missing' in PROMETHEUS && (process.env.PROMETHEUS_PATH ?? '') === '' && !isCi();

/** Path of the Prometheus server; throws (naming how to get it) when it is missing. */
export function prometheusPath(found: ReturnType<typeof findPrometheus> = PROMETHEUS): string {
  if ('path' in found) return found.path;
  throw new Error(`${found.missing}: ${PROMETHEUS_HINT}.`);
}

/** How to get promtool, for skip and failure messages. */
export const PROMTOOL_HINT = 'install it with `apt-get install prometheus` (Debian/Ubuntu; `.ci/run` does this) or set PROMTOOL_PATH=/path/to/promtool';

/**
 * Skip the promtool checks: promtool is missing, `PROMTOOL_PATH` is not set (a path the user named must work) and
 * this is not a CI run.
 */
export const SKIP_PROMTOOL = 'missing' in PROMTOOL && (process.env.PROMTOOL_PATH ?? '') === '' && !isCi();

/** Path of promtool; throws (naming how to get it) when it is missing. */
export function promtoolPath(found: ReturnType<typeof findPromtool> = PROMTOOL): string {
  if ('path' in found) return found.path;
  throw new Error(`${found.missing}: ${PROMTOOL_HINT}.`);
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Asserts that `promtool check metrics` accepts the exposition `text` without a word. */
export async function expectPromtoolCleanMetrics(text: string): Promise<void> {
  expect(text, 'no exposition was captured (an earlier test failed)').not.toBe('');
  const r = await runPromtool(['check', 'metrics'], { stdin: text });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** Runs promtool with `args` (and `stdin` piped in), killing it after `timeoutMs`. */
export function runPromtool(args: readonly string[], options: { stdin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const bin = promtoolPath();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples of a text exposition (comments skipped); label values unescaped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[3] ?? '';
    out.push({ name: m[1] ?? '', labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${hits.length}`);
  return hits[0]?.value ?? NaN;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function sampleSum(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/**
 * Every line of a run's metrics.jsonl parses with the exact step record schema: a field the writer adds without
 * declaring it in src/metrics/step-record.ts (or one of the wrong type) fails, naming the step and the field.
 */
export function expectDeclaredStepRecords(lines: readonly unknown[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    const parsed = strictStepRecordSchema.safeParse(line);
    const step = line !== null && typeof line === 'object' && 'step' in line ? String(line.step) : '?';
    const problems = parsed.success ? [] : parsed.error.issues.map((i) => `step ${step}: ${i.path.join('.') || '(record)'}: ${i.message}`);
    expect(problems).toEqual([]);
  }
}
