/** Hallucination checks on judge traces (DESIGN.md §5): unseen frame references, inconsistent answers, order flips. */
import type { Hallucination, PairwiseAnswer, Preference } from '../protocol/index.js';
import { frameReferences } from './frame-claims.js';

/** Content claims in `text` about frames never shown (1-based indices): at most one finding per turn, naming them all. */
export function unseenReferences(text: string, shown: ReadonlySet<number>): Hallucination[] {
  const bad = frameReferences(text).filter((f) => !shown.has(f));
  return bad.length === 0 ? [] : [{ kind: 'unseen_frame_reference', detail: `cites frame(s) ${bad.join(', ')} never shown` }];
}

/** The overall answer contradicts unanimous, decided per-dimension answers. */
export function inconsistentAnswer(a: PairwiseAnswer): Hallucination[] {
  if (a.TA === a.MQ && a.MQ === a.VQ && a.TA !== 0 && a.OA !== a.TA) {
    return [{ kind: 'inconsistent_answer', detail: `TA, MQ and VQ all prefer video ${a.TA} but OA = ${a.OA}` }];
  }
  return [];
}

/** A preference seen from the other order: 1 ↔ 2, tie stays. */
export function swapPreference(p: Preference): Preference {
  return p === 1 ? 2 : p === 2 ? 1 : 0;
}

/** Maps an answer given on (B, A) back to (A, B). */
export function swapAnswer(a: PairwiseAnswer): PairwiseAnswer {
  return { TA: swapPreference(a.TA), MQ: swapPreference(a.MQ), VQ: swapPreference(a.VQ), OA: swapPreference(a.OA), CF: a.CF };
}

/**
 * Reconciles an answer with the answer of the reversed order (already swapped back): dimensions that agree keep
 * their value, dimensions that flip become ties, and a flipped overall lowers confidence to 3. Reports each flip.
 */
export function reconcileOrders(first: PairwiseAnswer, reversed: PairwiseAnswer): { answer: PairwiseAnswer; hallucinations: Hallucination[] } {
  const dims = ['TA', 'MQ', 'VQ', 'OA'] as const;
  const flipped = dims.filter((d) => first[d] !== reversed[d]);
  const merged = { ...first };
  for (const d of flipped) merged[d] = 0;
  const CF = (flipped.includes('OA') ? 3 : Math.max(first.CF, reversed.CF)) as PairwiseAnswer['CF'];
  return {
    answer: { ...merged, CF },
    hallucinations: flipped.length === 0 ? [] : [{ kind: 'order_flip', detail: `answers changed with the order of the videos on ${flipped.join(', ')}` }],
  };
}
