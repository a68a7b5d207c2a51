/**
 * Actions of the learned judge and their exact probabilities. One turn's action: `select` (with a non-empty set of
 * slots) or `answer`, plus the answer it recommends (on `select` turns) or gives (on `answer` turns). The distribution:
 *   act   — softmax over {select, answer}; when no tool call is left, `answer` is forced and this term is absent;
 *   slots — independent Bernoulli(σ(l_i)) per slot, conditioned on at least one slot chosen:
 *           log p(s) = Σ_i [s_i log σ(l_i) + (1 − s_i) log σ(−l_i)] − log(1 − Π_i σ(−l_i));
 *   answers — a softmax per answer head the answer mode uses (per-dimension: TA, MQ, VQ, OA, CF; overall-only: OA).
 * Greedy decoding takes the mode of each factor (for slots: those with l_i > 0, or the single best slot if none).
 * Sampling is exact (the first chosen slot is drawn from its conditional law, the rest independently), so the
 * log-probabilities here are those GRPO's ratio needs.
 */
import type { Rng } from '../../../common/rng.js';
import type { Confidence, PairwiseAnswer, Preference } from '../../../protocol/index.js';
import { ACT_CLASSES, answerHeadsOf, type ActKind, type AnswerHead, type AnswerMode, type PolicyLogits } from './heads.js';
import { SLOT_COUNT } from './slots.js';

export interface PolicyAction {
  readonly kind: ActKind;
  /** Per slot: chosen. All false for `answer`. */
  readonly slots: readonly boolean[];
  /** The recommended answer (select) or the final answer (answer). Overall-only: TA = MQ = VQ = OA, CF = 2. */
  readonly answer: PairwiseAnswer;
}

/** What constrains a turn's action. */
export interface ActionContext {
  /** False when no tool call is left: the action is `answer` with probability 1. */
  readonly selectAllowed: boolean;
  readonly answerMode: AnswerMode;
}

export type Decoding = { readonly kind: 'greedy' } | { readonly kind: 'sample'; readonly rng: Rng };

export function logSoftmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i] ?? -Infinity);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp((logits[i] ?? 0) - m);
  const lse = m + Math.log(s);
  return Array.from({ length: logits.length }, (_, i) => (logits[i] ?? 0) - lse);
}

/** log(1 + e^x), stable. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** log σ(x) and log σ(−x). */
const logSigmoid = (x: number): number => -softplus(-x);

function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] ?? -Infinity) > (xs[best] ?? -Infinity)) best = i;
  return best;
}

function sampleCategorical(logits: ArrayLike<number>, rng: Rng): number {
  const lp = logSoftmax(logits);
  let u = rng.next();
  for (let i = 0; i < lp.length; i++) {
    u -= Math.exp(lp[i] ?? -Infinity);
    if (u < 0) return i;
  }
  return lp.length - 1;
}

/** A non-empty slot set: greedy mode, or an exact draw from the conditioned product of Bernoullis. */
function chooseSlots(logits: Float32Array, decoding: Decoding): boolean[] {
  const n = Math.min(SLOT_COUNT, logits.length);
  if (decoding.kind === 'greedy') {
    const on = Array.from({ length: SLOT_COUNT }, (_, i) => i < n && (logits[i] ?? 0) > 0);
    if (!on.some(Boolean)) on[argmax(logits.subarray(0, n))] = true;
    return on;
  }
  const { rng } = decoding;
  // P(first chosen slot = j | at least one) ∝ Π_{i<j} σ(−l_i) · σ(l_j).
  const logOff = Array.from({ length: n }, (_, i) => logSigmoid(-(logits[i] ?? 0)));
  const weights: number[] = [];
  let prefix = 0;
  for (let j = 0; j < n; j++) {
    weights.push(Math.exp(prefix + logSigmoid(logits[j] ?? 0)));
    prefix += logOff[j] ?? 0;
  }
  const total = weights.reduce((s, w) => s + w, 0);
  let u = rng.next() * total;
  let first = n - 1;
  for (let j = 0; j < n; j++) {
    u -= weights[j] ?? 0;
    if (u < 0) {
      first = j;
      break;
    }
  }
  const on = new Array<boolean>(SLOT_COUNT).fill(false);
  on[first] = true;
  for (let i = first + 1; i < n; i++) on[i] = rng.next() < Math.exp(logSigmoid(logits[i] ?? 0));
  return on;
}

const PREFERENCES: readonly Preference[] = [0, 1, 2];
const CONFIDENCES: readonly Confidence[] = [1, 2, 3];

/** The action for one turn from the network's logits. */
export function decodeAction(logits: PolicyLogits, context: ActionContext, decoding: Decoding): PolicyAction {
  const pick = (head: AnswerHead): number => (decoding.kind === 'greedy' ? argmax(logits[head]) : sampleCategorical(logits[head], decoding.rng));
  let kind: ActKind = 'answer';
  if (context.selectAllowed) kind = ACT_CLASSES[decoding.kind === 'greedy' ? argmax(logits.act) : sampleCategorical(logits.act, decoding.rng)] ?? 'answer';
  const slots = kind === 'select' ? chooseSlots(logits.slots, decoding) : new Array<boolean>(SLOT_COUNT).fill(false);
  let answer: PairwiseAnswer;
  if (context.answerMode === 'overall-only') {
    const oa = PREFERENCES[pick('OA')] ?? 0;
    answer = { TA: oa, MQ: oa, VQ: oa, OA: oa, CF: 2 };
  } else {
    // Fixed order so that a sampled action depends only on the rng state and the logits.
    const TA = PREFERENCES[pick('TA')] ?? 0;
    const MQ = PREFERENCES[pick('MQ')] ?? 0;
    const VQ = PREFERENCES[pick('VQ')] ?? 0;
    const OA = PREFERENCES[pick('OA')] ?? 0;
    const CF = CONFIDENCES[pick('CF')] ?? 2;
    answer = { TA, MQ, VQ, OA, CF };
  }
  return { kind, slots, answer };
}

/** Class index of an answer head's value (preferences 0/1/2 → 0/1/2; CF 1/2/3 → 0/1/2). */
export function answerClass(answer: PairwiseAnswer, head: AnswerHead): number {
  return head === 'CF' ? answer.CF - 1 : answer[head];
}

/** Exact log-probability of `action` under the logits (the same quantity as the tfjs loss computes). */
export function actionLogProb(logits: PolicyLogits, action: PolicyAction, context: ActionContext): number {
  let lp = 0;
  if (context.selectAllowed) lp += logSoftmax(logits.act)[ACT_CLASSES.indexOf(action.kind)] ?? -Infinity;
  else if (action.kind !== 'answer') return -Infinity;
  if (action.kind === 'select') {
    let allOff = 0;
    for (let i = 0; i < SLOT_COUNT; i++) {
      const l = logits.slots[i] ?? 0;
      allOff += logSigmoid(-l);
      lp += action.slots[i] === true ? logSigmoid(l) : logSigmoid(-l);
    }
    if (!action.slots.some(Boolean)) return -Infinity;
    lp -= Math.log(-Math.expm1(allOff));
  }
  for (const head of answerHeadsOf(context.answerMode)) lp += logSoftmax(logits[head])[answerClass(action.answer, head)] ?? -Infinity;
  return lp;
}
