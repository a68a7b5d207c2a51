/**
 * Runs once before the suite (vitest globalSetup): says, in one visible line, which checks a missing system tool turns
 * into skips. Only promtool can be missing: everything else the suite drives comes with `npm install`.
 */
import { PROMTOOL_HINT, findPromtool, isCi } from './metrics/helpers.js';

export default function setup(): void {
  const promtool = findPromtool();
  if ('path' in promtool) return;
  const explicit = (process.env.PROMTOOL_PATH ?? '') !== '';
  const outcome = isCi() || explicit ? `they will FAIL (${isCi() ? 'CI is set' : 'PROMTOOL_PATH was given'})` : 'they are SKIPPED';
  process.stdout.write(`\n[vr-grpo] ${promtool.missing}: the promtool checks (alert rules, metric expositions) — ${outcome}; ${PROMTOOL_HINT}.\n\n`);
}
