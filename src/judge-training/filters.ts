/**
 * Which traces imitation learns from: cold start keeps teacher traces, rejection sampling keeps policy samples, that are
 * well-formed and whose final answer is right on every dimension with a decided gold preference (overall-only: OA).
 */
import type { AnswerMode } from '../judge/backends/learned/index.js';
import type { Trace } from './trace.js';

/**
 * Well-formed: a verdict, no format error, no forced answer, no teacher turn the policy cannot express, no invalid
 * selection, no reference to an unseen frame, no answer inconsistent with itself.
 */
export function formatValid(t: Trace): boolean {
  if (t.failed || t.final === null || t.formatErrors > 0 || t.forced || t.unrepresentable > 0) return false;
  return !t.hallucinations.some((h) => h.kind === 'invalid_selection' || h.kind === 'unseen_frame_reference' || h.kind === 'inconsistent_answer');
}

/** Every non-tie dimension of the final answer is right (overall-only: OA), and at least one dimension is decided. */
export function allCorrect(t: Trace, mode: AnswerMode): boolean {
  if (t.final === null) return false;
  const dims = mode === 'overall-only' ? (['OA'] as const) : (['TA', 'MQ', 'VQ', 'OA'] as const);
  const decided = dims.filter((d) => t.gold[d] !== 0);
  return decided.length > 0 && decided.every((d) => t.final?.[d] === t.gold[d]);
}

/** What rejection sampling and cold start keep: well-formed traces whose answers are all correct. */
export function keepForImitation(t: Trace, mode: AnswerMode): boolean {
  return formatValid(t) && allCorrect(t, mode) && t.steps.length > 0;
}
