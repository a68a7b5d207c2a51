/** Adam over named tfjs variables, with state that can be saved and restored exactly, and global-norm gradient clipping. */
import * as tf from '@tensorflow/tfjs';
import { variableFrom } from './scoped.js';

export interface AdamOptions {
  readonly learningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

export interface AdamState {
  readonly step: number;
  /** First and second moments per variable name, flattened. */
  readonly m: Readonly<Record<string, Float32Array>>;
  readonly v: Readonly<Record<string, Float32Array>>;
}

export class Adam {
  private stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  learningRate: number;

  constructor(
    private readonly vars: ReadonlyMap<string, tf.Variable>,
    options: AdamOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    for (const [name, variable] of vars) {
      this.m.set(name, variableFrom(tf.zerosLike(variable), false));
      this.v.set(name, variableFrom(tf.zerosLike(variable), false));
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /** Applies one update. Gradients are keyed by variable name; missing names are left unchanged. Disposes nothing it did not create. */
  apply(grads: Readonly<Record<string, tf.Tensor>>): void {
    this.stepCount += 1;
    const t = this.stepCount;
    const lr = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    tf.tidy(() => {
      for (const [name, variable] of this.vars) {
        const g = grads[name];
        const m = this.m.get(name);
        const v = this.v.get(name);
        if (g === undefined || m === undefined || v === undefined) continue;
        const m2 = m.mul(this.beta1).add(g.mul(1 - this.beta1));
        const v2 = v.mul(this.beta2).add(g.square().mul(1 - this.beta2));
        m.assign(m2);
        v.assign(v2);
        variable.assign(variable.sub(m2.mul(lr).div(v2.sqrt().add(this.epsilon))));
      }
    });
  }

  state(): AdamState {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const name of this.vars.keys()) {
      const mv = this.m.get(name);
      const vv = this.v.get(name);
      if (mv === undefined || vv === undefined) continue;
      m[name] = mv.dataSync() as Float32Array;
      v[name] = vv.dataSync() as Float32Array;
    }
    return { step: this.stepCount, m, v };
  }

  load(state: AdamState): void {
    this.stepCount = state.step;
    for (const [name, variable] of this.vars) {
      const m = state.m[name];
      const v = state.v[name];
      if (m === undefined || v === undefined) continue;
      this.m.get(name)?.assign(tf.tensor(m, variable.shape));
      this.v.get(name)?.assign(tf.tensor(v, variable.shape));
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the clipped gradients and the norm before clipping. Call inside tf.tidy. */
export function clipByGlobalNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const names = Object.keys(grads);
  const sq = names.map((n) => tf.sum(tf.square(grads[n] as tf.Tensor)));
  const norm = tf.sqrt(sq.length === 0 ? tf.scalar(0) : tf.addN(sq));
  const scale = tf.minimum(tf.scalar(1), tf.div(maxNorm, tf.add(norm, 1e-12)));
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = tf.mul(grads[n] as tf.Tensor, scale);
  return { grads: out, norm: norm as tf.Scalar };
}
