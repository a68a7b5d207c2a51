/** Hallucination checks on judge traces (DESIGN.md §5): unseen frame references, inconsistent answers, order flips. */
import type { Confidence, Hallucination, Preference, VerdictAnswer } from '../protocol/index.js';
import { frameReferences } from './frame-claims.js';

/** Content claims in `text` about frames never shown (1-based indices): at most one finding per turn, naming them all. */
export function unseenReferences(text: string, shown: ReadonlySet<number>): Hallucination[] {
  const bad = frameReferences(text).filter((f) => !shown.has(f));
  return bad.length === 0 ? [] : [{ kind: 'unseen_frame_reference', detail: `cites frame(s) ${bad.join(', ')} never shown` }];
}

/** The overall answer contradicts unanimous, decided per-dimension answers (all three given). */
export function inconsistentAnswer(a: VerdictAnswer): Hallucination[] {
  if (a.TA !== undefined && a.TA === a.MQ && a.MQ === a.VQ && a.TA !== 0 && a.OA !== a.TA) {
    return [{ kind: 'inconsistent_answer', detail: `TA, MQ and VQ all prefer video ${a.TA} but OA = ${a.OA}` }];
  }
  return [];
}

/** A preference seen from the other order: 1 ↔ 2, tie stays. */
export function swapPreference(p: Preference): Preference {
  return p === 1 ? 2 : p === 2 ? 1 : 0;
}

/** Maps an answer given on (B, A) back to (A, B); dimensions the judge did not give stay absent. */
export function swapAnswer<A extends VerdictAnswer>(a: A): A {
  const out = { ...a, OA: swapPreference(a.OA) };
  for (const d of ['TA', 'MQ', 'VQ'] as const) {
    const v = a[d];
    if (v !== undefined) out[d] = swapPreference(v);
  }
  return out;
}

/**
 * Reconciles an answer with the answer of the reversed order (already swapped back): dimensions that agree keep
 * their value, dimensions that flip become ties, and a flipped overall lowers confidence to 3. A dimension only one
 * order gave keeps that order's value (nothing to compare); CF is absent when neither order gave one and OA agrees.
 * Reports each flip.
 */
export function reconcileOrders(first: VerdictAnswer, reversed: VerdictAnswer): { answer: VerdictAnswer; hallucinations: Hallucination[] } {
  const dims = ['TA', 'MQ', 'VQ', 'OA'] as const;
  const flipped = dims.filter((d) => first[d] !== undefined && reversed[d] !== undefined && first[d] !== reversed[d]);
  const merged: { -readonly [K in keyof VerdictAnswer]: VerdictAnswer[K] } = { OA: first.OA };
  for (const d of dims) {
    const v = first[d] ?? reversed[d];
    if (v !== undefined) merged[d] = flipped.includes(d) ? 0 : v;
  }
  const confidences = [first.CF, reversed.CF].filter((c): c is Confidence => c !== undefined);
  const CF: Confidence | undefined = flipped.includes('OA') ? 3 : confidences.length === 0 ? undefined : (Math.max(...confidences) as Confidence);
  if (CF !== undefined) merged.CF = CF;
  return {
    answer: merged,
    hallucinations: flipped.length === 0 ? [] : [{ kind: 'order_flip', detail: `answers changed with the order of the videos on ${flipped.join(', ')}` }],
  };
}
