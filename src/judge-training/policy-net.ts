/**
 * The learned judge's policy network in TensorFlow.js (training only; serving runs the exported ONNX): a ReLU MLP over
 * the observation features with one linear head per action head, named variables for the project's Adam, exact
 * log-probabilities of recorded actions for a batch of turns (the same law as action.ts), and conversion to and from
 * the ONNX exporter's spec.
 */
import { Rng } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import type { MlpSpec } from '../onnx/index.js';
import { scoped, tf, addDense, addInitDense, type Tensor1D, type Tensor2D, type Variable } from '../tensor/index.js';
import { answerClass, type ActionContext, type PolicyAction } from '../judge/backends/learned/action.js';
import { FEATURE_SIZE } from '../judge/backends/learned/features.js';
import {
  ACT_CLASSES,
  ANSWER_HEADS,
  POLICY_HEADS,
  POLICY_INPUT_NAME,
  answerHeadsOf,
  type AnswerHead,
  type PolicyHeadName,
  type PolicyLogits,
} from '../judge/backends/learned/heads.js';
import { checkPolicySpec } from '../judge/backends/learned/mlp-spec.js';
import { SLOT_COUNT } from '../judge/backends/learned/slots.js';

export interface PolicyArchitecture {
  /** Widths of the ReLU trunk layers. */
  readonly hidden: readonly number[];
  /** Features per observation (the layout's). Default FEATURE_SIZE (the `v1` layout). */
  readonly inputSize?: number;
}

/** One recorded turn: what the policy saw, the constraint it acted under, what it did. */
export interface PolicyStep {
  readonly features: Float32Array;
  readonly context: ActionContext;
  readonly action: PolicyAction;
}

/** Recorded turns as dense arrays for one tfjs computation. */
export interface StepBatch {
  readonly n: number;
  /** Features per row. */
  readonly width: number;
  readonly features: Float32Array;
  /** 1 when `select` was allowed (the act term counts). */
  readonly selectAllowed: Float32Array;
  readonly actIndex: Int32Array;
  /** 1 for `select` turns (the slot term counts). */
  readonly isSelect: Float32Array;
  /** n × SLOT_COUNT, 0/1. */
  readonly slots: Float32Array;
  readonly answerClass: Readonly<Record<AnswerHead, Int32Array>>;
  /** 1 when the head's term counts (the answer mode uses it). */
  readonly answerUsed: Readonly<Record<AnswerHead, Float32Array>>;
}

/** Dense arrays of recorded turns; every turn must have `width` features (default: the first turn's, else FEATURE_SIZE). */
export function encodeSteps(steps: readonly PolicyStep[], width = steps[0]?.features.length ?? FEATURE_SIZE): StepBatch {
  const n = steps.length;
  const features = new Float32Array(n * width);
  const selectAllowed = new Float32Array(n);
  const actIndex = new Int32Array(n);
  const isSelect = new Float32Array(n);
  const slots = new Float32Array(n * SLOT_COUNT);
  const cls = Object.fromEntries(ANSWER_HEADS.map((h) => [h, new Int32Array(n)])) as Record<AnswerHead, Int32Array>;
  const used = Object.fromEntries(ANSWER_HEADS.map((h) => [h, new Float32Array(n)])) as Record<AnswerHead, Float32Array>;
  steps.forEach((s, i) => {
    if (s.features.length !== width) throw new VrGrpoError('INVALID_ARGUMENT', `step ${i} has ${s.features.length} features, expected ${width}`);
    features.set(s.features, i * width);
    selectAllowed[i] = s.context.selectAllowed ? 1 : 0;
    actIndex[i] = ACT_CLASSES.indexOf(s.action.kind);
    isSelect[i] = s.action.kind === 'select' ? 1 : 0;
    s.action.slots.forEach((on, k) => {
      if (k < SLOT_COUNT) slots[i * SLOT_COUNT + k] = on ? 1 : 0;
    });
    const heads = answerHeadsOf(s.context.answerMode);
    for (const h of ANSWER_HEADS) {
      cls[h][i] = answerClass(s.action.answer, h);
      used[h][i] = heads.includes(h) ? 1 : 0;
    }
  });
  return { n, width, features, selectAllowed, actIndex, isSelect, slots, answerClass: cls, answerUsed: used };
}

/** Rows `indices` of a batch. */
export function sliceSteps(b: StepBatch, indices: readonly number[]): StepBatch {
  const pick = <T extends Float32Array | Int32Array>(src: T, width: number, make: (n: number) => T): T => {
    const out = make(indices.length * width);
    indices.forEach((r, i) => out.set(src.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  const f32 = (n: number): Float32Array => new Float32Array(n);
  const i32 = (n: number): Int32Array => new Int32Array(n);
  return {
    n: indices.length,
    width: b.width,
    features: pick(b.features, b.width, f32),
    selectAllowed: pick(b.selectAllowed, 1, f32),
    actIndex: pick(b.actIndex, 1, i32),
    isSelect: pick(b.isSelect, 1, f32),
    slots: pick(b.slots, SLOT_COUNT, f32),
    answerClass: Object.fromEntries(ANSWER_HEADS.map((h) => [h, pick(b.answerClass[h], 1, i32)])) as Record<AnswerHead, Int32Array>,
    answerUsed: Object.fromEntries(ANSWER_HEADS.map((h) => [h, pick(b.answerUsed[h], 1, f32)])) as Record<AnswerHead, Float32Array>,
  };
}

export class PolicyNet {
  /** Variables by name: `trunk<i>.weight|bias`, `head_<name>.weight|bias`. Weights are `[in, out]`. */
  readonly vars: ReadonlyMap<string, Variable>;

  /** Features per observation. */
  readonly inputSize: number;

  private constructor(
    readonly architecture: PolicyArchitecture,
    vars: Map<string, Variable>,
  ) {
    this.vars = vars;
    this.inputSize = architecture.inputSize ?? FEATURE_SIZE;
  }

  /** He-initialised trunk; heads start small (near-uniform action probabilities). */
  static create(architecture: PolicyArchitecture, seed: number): PolicyNet {
    if (architecture.hidden.some((h) => !Number.isInteger(h) || h < 1))
      throw new VrGrpoError('INVALID_ARGUMENT', `invalid policy architecture ${JSON.stringify(architecture)}`);
    const rng = Rng.fromSeed(seed);
    const vars = new Map<string, Variable>();
    const dense = (prefix: string, inSize: number, outSize: number, gain: number): void => addInitDense(vars, prefix, inSize, outSize, gain, rng);
    const inputSize = architecture.inputSize ?? FEATURE_SIZE;
    if (!Number.isInteger(inputSize) || inputSize < 1) throw new VrGrpoError('INVALID_ARGUMENT', `invalid policy input size ${inputSize}`);
    let width = inputSize;
    architecture.hidden.forEach((h, i) => {
      dense(`trunk${i}`, width, h, Math.SQRT2);
      width = h;
    });
    for (const head of POLICY_HEADS) dense(`head_${head.name}`, width, head.size, 0.1);
    return new PolicyNet({ hidden: [...architecture.hidden], inputSize }, vars);
  }

  /** A network holding the weights of an exporter spec (a checkpoint's policy.onnx read back). MODEL_INVALID if it is no policy. */
  static fromMlpSpec(spec: MlpSpec): PolicyNet {
    checkPolicySpec(spec, spec.graphName ?? 'spec');
    const vars = new Map<string, Variable>();
    const put = (prefix: string, layer: Parameters<typeof addDense>[2]): void => addDense(vars, prefix, layer);
    spec.trunk.forEach((layer, i) => put(`trunk${i}`, layer));
    for (const head of POLICY_HEADS) {
      const layer = spec.heads.find((h) => h.name === head.name);
      if (layer !== undefined) put(`head_${head.name}`, layer);
    }
    return new PolicyNet({ hidden: spec.trunk.map((l) => l.outSize), inputSize: spec.input.size }, vars);
  }

  private variable(name: string): Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `policy net has no variable ${name}`);
    return v;
  }

  /** Logits per head for `[N, inputSize]`. Call inside tf.tidy / scoped. */
  logits(x: Tensor2D): Record<PolicyHeadName, Tensor2D> {
    let h: Tensor2D = x;
    this.architecture.hidden.forEach((_, i) => {
      h = tf.relu(tf.add<Tensor2D>(tf.matMul(h, this.variable(`trunk${i}.weight`)), this.variable(`trunk${i}.bias`)));
    });
    const trunk = h;
    const out = {} as Record<PolicyHeadName, Tensor2D>;
    for (const head of POLICY_HEADS)
      out[head.name] = tf.add(tf.matMul(trunk, this.variable(`head_${head.name}.weight`)), this.variable(`head_${head.name}.bias`));
    return out;
  }

  /** Logits for `n` observations, as plain arrays. */
  predict(rows: Float32Array, n: number): PolicyLogits[] {
    return scoped(() => {
      const l = this.logits(tf.tensor2d(rows, [n, this.inputSize]));
      const data = Object.fromEntries(POLICY_HEADS.map((h) => [h.name, l[h.name].dataSync() as Float32Array])) as Record<PolicyHeadName, Float32Array>;
      return Array.from(
        { length: n },
        (_, r) =>
          Object.fromEntries(POLICY_HEADS.map((h) => [h.name, data[h.name].slice(r * h.size, (r + 1) * h.size)])) as Record<PolicyHeadName, Float32Array>,
      );
    });
  }

  /** Exact log-probability of each recorded step's action (tensor `[n]`, differentiable). Call inside tf.tidy / scoped. */
  stepLogProbs(b: StepBatch): Tensor1D {
    if (b.width !== this.inputSize) throw new VrGrpoError('INVALID_ARGUMENT', `steps have ${b.width} features, the network takes ${this.inputSize}`);
    const l = this.logits(tf.tensor2d(b.features, [b.n, this.inputSize]));
    const picked = (logits: Tensor2D, classes: Int32Array, size: number): Tensor1D =>
      tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(classes, 'int32'), size)), 1);
    let lp: Tensor1D = tf.mul(picked(l.act, b.actIndex, ACT_CLASSES.length), tf.tensor1d(b.selectAllowed));
    const s = tf.tensor2d(b.slots, [b.n, SLOT_COUNT]);
    // log σ(l) = −softplus(−l) (tf.logSigmoid's gradient fails on the wasm backend).
    const on = tf.neg(tf.softplus(tf.neg(l.slots)));
    const off = tf.neg(tf.softplus(l.slots));
    const chosen = tf.sum(tf.add(tf.mul(s, on), tf.mul(tf.sub(1, s), off)), 1);
    // log P(at least one slot) = log(1 − Π σ(−l_i)) = log(−expm1(Σ log σ(−l_i))).
    const nonEmpty = tf.log(tf.neg(tf.expm1(tf.sum(off, 1))));
    lp = tf.add(lp, tf.mul(tf.sub(chosen, nonEmpty), tf.tensor1d(b.isSelect)));
    for (const h of ANSWER_HEADS) lp = tf.add(lp, tf.mul(picked(l[h], b.answerClass[h], 3), tf.tensor1d(b.answerUsed[h])));
    return lp;
  }

  /** The exporter's description of this network (weights copied out); logits only, no softmax. */
  toMlpSpec(meta: { version: string; metadata?: Readonly<Record<string, string>> }): MlpSpec {
    const read = (name: string): Float32Array => this.variable(name).dataSync() as Float32Array;
    let width = this.inputSize;
    const trunk = this.architecture.hidden.map((h, i) => {
      const layer = { inSize: width, outSize: h, weights: read(`trunk${i}.weight`), bias: read(`trunk${i}.bias`), activation: 'relu' as const };
      width = h;
      return layer;
    });
    const heads = POLICY_HEADS.map((head) => ({
      name: head.name,
      inSize: width,
      outSize: head.size,
      weights: read(`head_${head.name}.weight`),
      bias: read(`head_${head.name}.bias`),
      softmax: false,
    }));
    return {
      input: { name: POLICY_INPUT_NAME, size: this.inputSize },
      trunk,
      heads,
      graphName: 'vr-grpo-learned-judge-policy',
      producer: { name: 'vr-grpo', version: meta.version },
      ...(meta.metadata === undefined ? {} : { metadata: meta.metadata }),
      docString: 'VR-Thinker learned judge policy: observation features -> logits of act, frame slots and answers TA/MQ/VQ/OA/CF.',
    };
  }

  /** Copies another network's weights into this one (same architecture). */
  assign(from: PolicyNet): void {
    for (const [name, v] of this.vars) {
      const src = from.vars.get(name);
      if (src === undefined || src.size !== v.size) throw new VrGrpoError('INVALID_ARGUMENT', `cannot copy ${name}: architectures differ`);
      v.assign(src);
    }
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}
