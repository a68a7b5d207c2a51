/**
 * `vr-grpo check-generator <url>`: runs the conformance checks of src/generator/conformance against a generator worker
 * and prints a pass/fail/skip table (or, with `--json`, the report); exit 0 when no check failed, 1 otherwise.
 */
import type { Command } from 'commander';
import { VrGrpoError } from '../../errors/index.js';
import { DEFAULT_CHECK_TIMEOUT_MS, runConformance, type CheckResult, type ConformanceReport } from '../../generator/conformance/index.js';
import { intOption } from '../context.js';
import { GENERATOR_TOKEN_ENV } from './serve-generator.js';

interface CheckGeneratorFlags {
  timeoutMs?: string;
  json?: boolean;
}

/** The table: id, result, ms, title, reason (the last two unpadded). */
function table(results: readonly CheckResult[]): string {
  const rows = [['id', 'result', 'ms', 'title', 'reason'], ...results.map((r) => [r.id, r.status.toUpperCase(), String(r.ms), r.title, r.reason])];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c < 3 ? cell.padEnd(widths[c] ?? 0) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function summary(report: ConformanceReport): string {
  const who = report.generator === null ? report.url : `${report.generator}${report.worker === null ? '' : ` (${report.worker})`} at ${report.url}`;
  const state = report.stateRestored === null ? '' : report.stateRestored ? '; worker state restored' : '; worker state NOT restored';
  const cleanup = report.cleanupErrors.map((e) => `\ncleanup: ${e}`).join('');
  return `${who}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped${state}${cleanup}`;
}

export function registerCheckGenerator(program: Command): void {
  program
    .command('check-generator')
    .description(`check that a generator worker speaks protocol v2 correctly (token: ${GENERATOR_TOKEN_ENV}); exit 0 when no check fails, 1 otherwise`)
    .argument('<url>', 'worker URL, ws://HOST:PORT')
    .option('--timeout-ms <n>', `time each check may take, in milliseconds (default ${DEFAULT_CHECK_TIMEOUT_MS})`)
    .option('--json', 'print the report as JSON instead of a table')
    .action(async (url: string, flags: CheckGeneratorFlags) => {
      const checkTimeoutMs = intOption('--timeout-ms', flags.timeoutMs, 1) ?? DEFAULT_CHECK_TIMEOUT_MS;
      const token = process.env[GENERATOR_TOKEN_ENV] ?? '';
      const report = await runConformance({
        url,
        checkTimeoutMs,
        ...(token === '' ? {} : { token }),
        ...(flags.json === true ? {} : { onResult: (r) => process.stderr.write(`${r.status.padEnd(4)} ${r.id} (${r.ms} ms)\n`) }),
      });
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${table(report.results)}\n${summary(report)}\n`);
      if (report.failed > 0) {
        // Exit 1 through the CLI's error path (main() turns a VrGrpoError into exit code 1).
        const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
        throw new VrGrpoError('GENERATOR_FAILED', `${failed.length} conformance check(s) failed: ${failed.join(', ')}`, { details: { url, failed } });
      }
    });
}
