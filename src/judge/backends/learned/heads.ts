/**
 * The learned judge's action heads: what the policy network outputs for one turn. `act` chooses between looking at
 * more frames and answering; `slots` is one Bernoulli per candidate frame slot (see slots.ts); TA, MQ, VQ, OA choose a
 * pairwise preference (class k = value k: 0 tie, 1 video 1, 2 video 2) and CF a confidence (class k = CF k + 1).
 */
import { SLOT_COUNT } from './slots.js';

/** Name of the policy network's single input (`[batch, FEATURE_SIZE]`). */
export const POLICY_INPUT_NAME = 'observation';

/** Classes of the `act` head, in order. */
export const ACT_CLASSES = ['select', 'answer'] as const;
export type ActKind = (typeof ACT_CLASSES)[number];

/** The categorical answer heads, in graph order. */
export const ANSWER_HEADS = ['TA', 'MQ', 'VQ', 'OA', 'CF'] as const;
export type AnswerHead = (typeof ANSWER_HEADS)[number];
/** Classes per answer head (preferences 0/1/2; confidence 1/2/3). */
export const ANSWER_CLASSES = 3;

/** Every head of the network, in graph order, with its width and kind. */
export const POLICY_HEADS = [
  { name: 'act', size: ACT_CLASSES.length, kind: 'categorical' },
  { name: 'slots', size: SLOT_COUNT, kind: 'bernoulli' },
  ...ANSWER_HEADS.map((name) => ({ name, size: ANSWER_CLASSES, kind: 'categorical' as const })),
] as const satisfies readonly { readonly name: string; readonly size: number; readonly kind: 'categorical' | 'bernoulli' }[];

export type PolicyHeadName = (typeof POLICY_HEADS)[number]['name'];

/** Raw outputs of the network for one observation: logits per head (slots: one logit per slot). */
export type PolicyLogits = Readonly<Record<PolicyHeadName, Float32Array>>;

/**
 * How answers are given. `per-dimension`: TA, MQ, VQ, OA and CF are all chosen by the policy (VR-Thinker's paper
 * format). `overall-only`: only OA is chosen; the other dimensions mirror it and CF is 2 (the released code's
 * `\boxed{}` format) — the ablation "overall-only answers".
 */
export const ANSWER_MODES = ['per-dimension', 'overall-only'] as const;
export type AnswerMode = (typeof ANSWER_MODES)[number];

/** The answer heads a mode samples (and whose log-probabilities count). */
export function answerHeadsOf(mode: AnswerMode): readonly AnswerHead[] {
  return mode === 'per-dimension' ? ANSWER_HEADS : ['OA'];
}
