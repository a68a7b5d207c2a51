// Reads a vitest JSON report and prints the summary line. Exit 1 when it holds no test or a failed one.
// With --bare: the run had no promtool and no system chromium (a machine with only Node); it must also show the
// promtool checks as skipped (never failed) and the dashboard browser test as passed, on the npm-shipped Chromium.
import { readFileSync } from 'node:fs';

const [file, flag, logFile] = process.argv.slice(2);
const r = JSON.parse(readFileSync(file, 'utf8'));
const tests = r.testResults.flatMap((f) => f.assertionResults.map((a) => ({ ...a, file: f.name })));
const skipped = (t) => t.status === 'skipped' || t.status === 'pending' || t.status === 'todo';
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped (${file})`);
const problems = [];
if (r.numTotalTests === 0) problems.push('no tests ran');
if (r.numFailedTests > 0 || r.success !== true) problems.push(`${r.numFailedTests} failed (success: ${r.success})`);
if (flag === '--bare') {
  const promtool = tests.filter((t) => /promtool/i.test(t.fullName));
  const promtoolSkipped = promtool.filter(skipped);
  console.log(`bare run: ${promtoolSkipped.length} of ${promtool.length} promtool tests skipped`);
  // The promtool lookup's own unit tests run everywhere; every test that needs the real promtool must be skipped.
  const needsPromtool = promtool.filter((t) => !/finding promtool/.test(t.fullName));
  if (needsPromtool.length === 0 || needsPromtool.some((t) => !skipped(t))) problems.push('the promtool checks were not all skipped');
  const browser = tests.filter((t) => t.file.endsWith('dashboard-browser.test.ts'));
  if (browser.length === 0 || browser.some((t) => t.status !== 'passed')) problems.push(`the dashboard browser test did not pass: ${browser.map((t) => t.status).join(', ')}`);
  const log = logFile === undefined ? '' : readFileSync(logFile, 'utf8');
  if (!/Chromium from bundled/.test(log)) problems.push('the browser test did not run on the npm-shipped Chromium');
  if (!/\[vr-grpo\] promtool is not on PATH.*SKIPPED/.test(log)) problems.push('no line said why the promtool checks were skipped');
}
for (const p of problems) console.error(`FAIL: ${p}`);
process.exit(problems.length === 0 ? 0 : 1);
