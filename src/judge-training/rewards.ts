/**
 * Rule-based rewards of a judge trace (VR-Thinker's GRPO stage), all from the trace and the gold preferences:
 *   format      1 when the trace is well-formed: a verdict, no format error, no forced answer, no invalid selection,
 *               no unseen-frame reference, answers consistent with themselves (else 0);
 *   accuracy    overallShare·[OA correct] + (1 − overallShare)·mean over TA, MQ, VQ of [correct], counting only the
 *               dimensions whose gold preference is decided (a gold tie has no right answer; the weights renormalise);
 *               overall-only answers are scored on OA alone;
 *   CoT gain    the sum over turns t ≥ 1 of accuracy(answer_t) − accuracy(answer_{t−1}) — the recommended answers
 *               improving as the judge looks (0 for a single-turn trace);
 *   exploration added to the traces that looked at extra frames when the share of such traces in the batch is below
 *               the floor (keeps the policy from collapsing to never looking).
 * total = w_format·format + w_accuracy·accuracy + w_cot·CoT gain (+ exploration bonus).
 */
import type { AnswerMode } from '../judge/backends/learned/index.js';
import type { VerdictAnswer } from '../protocol/index.js';
import type { GoldPreferences } from './gold-pairs.js';
import { formatValid } from './filters.js';
import { explored, type Trace } from './trace.js';

export interface RewardWeights {
  readonly format: number;
  readonly accuracy: number;
  /** Share of the overall answer in the accuracy term (the rest: per-dimension). */
  readonly overallShare: number;
  readonly cotGain: number;
}

export interface ExplorationOptions {
  /** Minimum share of traces in a batch that look at extra frames. */
  readonly floor: number;
  /** Reward added to each exploring trace while the share is below the floor. */
  readonly bonus: number;
}

export interface RewardParts {
  readonly format: number;
  readonly accuracy: number;
  readonly cotGain: number;
  /** Weighted sum without the exploration bonus. */
  readonly total: number;
}

/** Accuracy of one answer against gold (a dimension the answer does not give counts as wrong); null when no scored dimension is decided. */
export function answerAccuracy(answer: VerdictAnswer, gold: GoldPreferences, overallShare: number, mode: AnswerMode): number | null {
  const terms: { w: number; ok: boolean }[] = [];
  if (gold.OA !== 0) terms.push({ w: mode === 'overall-only' ? 1 : overallShare, ok: answer.OA === gold.OA });
  if (mode === 'per-dimension') {
    const dims = (['TA', 'MQ', 'VQ'] as const).filter((d) => gold[d] !== 0);
    for (const d of dims) terms.push({ w: (1 - overallShare) / dims.length, ok: answer[d] === gold[d] });
  }
  const w = terms.reduce((s, t) => s + t.w, 0);
  return terms.length === 0 || w <= 0 ? null : terms.reduce((s, t) => s + (t.ok ? t.w : 0), 0) / w;
}

/** Σ_{t≥1} accuracy(answer_t) − accuracy(answer_{t−1}) over the trace's answers. */
export function cotGain(t: Trace, overallShare: number, mode: AnswerMode): number {
  const acc = t.answers.map((a) => answerAccuracy(a, t.gold, overallShare, mode) ?? 0);
  let sum = 0;
  for (let i = 1; i < acc.length; i++) sum += (acc[i] ?? 0) - (acc[i - 1] ?? 0);
  return sum;
}

export function traceRewards(t: Trace, w: RewardWeights, mode: AnswerMode): RewardParts {
  const format = formatValid(t) ? 1 : 0;
  const accuracy = t.final === null ? 0 : (answerAccuracy(t.final, t.gold, w.overallShare, mode) ?? 0);
  const gain = cotGain(t, w.overallShare, mode);
  return { format, accuracy, cotGain: gain, total: w.format * format + w.accuracy * accuracy + w.cotGain * gain };
}

/** The exploration incentive over a batch: the share of exploring traces and the bonus of each trace. */
export function explorationBonus(traces: readonly Trace[], o: ExplorationOptions): { share: number; active: boolean; bonuses: number[] } {
  const share = traces.length === 0 ? 0 : traces.filter(explored).length / traces.length;
  const active = o.bonus > 0 && share < o.floor;
  return { share, active, bonuses: traces.map((t) => (active && explored(t) ? o.bonus : 0)) };
}
