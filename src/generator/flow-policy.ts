/**
 * The embedded text-to-video policy: a text encoder (hashed n-gram features → learned projection) and a flow-matching
 * velocity MLP over the scene latent, conditioned on the text embedding and the noise level σ. Every dense layer
 * carries a LoRA adapter (x·A·B·α/r, B initialised to 0); base weights are frozen during RL and the reference model is
 * the same net with adapters off.
 */
import { Rng } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import { tf, variableFrom, type Tensor2D, type Variable } from '../tensor/index.js';

export interface PolicyArchitecture {
  readonly latentDim: number;
  /** Hashed text feature buckets (input of the text projection). */
  readonly textFeatures: number;
  readonly textEmbedDim: number;
  readonly hiddenDim: number;
  /** Hidden layers of the velocity MLP. */
  readonly depth: number;
  /** Sinusoidal features of σ (even). */
  readonly timeFeatures: number;
  readonly loraRank: number;
  readonly loraAlpha: number;
}

interface DenseSpec {
  readonly name: string;
  readonly inDim: number;
  readonly outDim: number;
  /** Scale of the initial weights relative to 1/√fan_in. */
  readonly gain: number;
}

function denseSpecs(a: PolicyArchitecture): DenseSpec[] {
  const specs: DenseSpec[] = [{ name: 'text', inDim: a.textFeatures, outDim: a.textEmbedDim, gain: 1 }];
  let inDim = a.latentDim + a.textEmbedDim + a.timeFeatures;
  for (let i = 0; i < a.depth; i++) {
    specs.push({ name: `h${i}`, inDim, outDim: a.hiddenDim, gain: 1.4 });
    inDim = a.hiddenDim;
  }
  specs.push({ name: 'out', inDim, outDim: a.latentDim, gain: 0.5 });
  return specs;
}

/** Names and shapes of every parameter tensor, in a fixed order (the checkpoint order). */
export function parameterShapes(a: PolicyArchitecture): { base: [string, number[]][]; lora: [string, number[]][] } {
  const base: [string, number[]][] = [];
  const lora: [string, number[]][] = [];
  for (const d of denseSpecs(a)) {
    base.push([`${d.name}.w`, [d.inDim, d.outDim]], [`${d.name}.b`, [d.outDim]]);
    lora.push([`${d.name}.loraA`, [d.inDim, a.loraRank]], [`${d.name}.loraB`, [a.loraRank, d.outDim]]);
  }
  return { base, lora };
}

function initValues(shape: readonly number[], std: number, rng: Rng): Float32Array {
  const n = shape.reduce((p, s) => p * s, 1);
  const out = new Float32Array(n);
  if (std === 0) return out;
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

export class FlowPolicy {
  /** Base parameters by name (`h0.w`, `h0.b`, …). */
  readonly base: ReadonlyMap<string, Variable>;
  /** LoRA parameters by name (`h0.loraA`, `h0.loraB`, …). */
  readonly lora: ReadonlyMap<string, Variable>;
  private readonly specs: readonly DenseSpec[];
  private readonly loraScale: number;
  private readonly freqs: Float32Array;
  private disposed = false;

  private constructor(
    readonly architecture: PolicyArchitecture,
    base: Map<string, Variable>,
    lora: Map<string, Variable>,
  ) {
    this.base = base;
    this.lora = lora;
    this.specs = denseSpecs(architecture);
    this.loraScale = architecture.loraAlpha / architecture.loraRank;
    const half = architecture.timeFeatures / 2;
    this.freqs = Float32Array.from({ length: half }, (_, k) => Math.PI * 2 ** (k - 1));
  }

  /** A freshly initialised policy (seeded; LoRA B = 0 so adapters start as the identity). */
  static create(architecture: PolicyArchitecture, seed: number): FlowPolicy {
    validateArchitecture(architecture);
    const rng = Rng.fromSeed(seed);
    const { base, lora } = parameterShapes(architecture);
    const specs = new Map(denseSpecs(architecture).map((d) => [d.name, d]));
    const baseVars = new Map<string, Variable>();
    for (const [name, shape] of base) {
      const spec = specs.get(name.split('.')[0] ?? '');
      const std = name.endsWith('.b') || spec === undefined ? 0 : spec.gain / Math.sqrt(spec.inDim);
      baseVars.set(name, variableFrom(tf.tensor(initValues(shape, std, rng), shape), true));
    }
    const loraVars = new Map<string, Variable>();
    for (const [name, shape] of lora) {
      const std = name.endsWith('.loraA') ? 1 / Math.sqrt(shape[0] ?? 1) : 0;
      loraVars.set(name, variableFrom(tf.tensor(initValues(shape, std, rng), shape), false));
    }
    return new FlowPolicy(architecture, baseVars, loraVars);
  }

  /** Overwrites parameters from flat arrays (checkpoint load). Unknown names or wrong sizes raise CHECKPOINT_INVALID. */
  setParameters(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, data] of values) {
      const v = this.base.get(name) ?? this.lora.get(name);
      if (v === undefined) throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint has unknown parameter ${name}`);
      if (v.size !== data.length) {
        throw new VrGrpoError('CHECKPOINT_INVALID', `parameter ${name}: expected ${v.size} values, got ${data.length}`);
      }
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  /** Current parameter values as flat arrays. */
  parameters(group: 'base' | 'lora'): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of group === 'base' ? this.base : this.lora) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  private dense(name: string, x: Tensor2D, useLora: boolean): Tensor2D {
    const w = this.base.get(`${name}.w`);
    const b = this.base.get(`${name}.b`);
    if (w === undefined || b === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `no layer ${name}`);
    let y = tf.add<Tensor2D>(tf.matMul(x, w), b);
    if (useLora) {
      const a = this.lora.get(`${name}.loraA`) as Tensor2D | undefined;
      const bb = this.lora.get(`${name}.loraB`) as Tensor2D | undefined;
      if (a !== undefined && bb !== undefined) y = tf.add(y, tf.mul(tf.matMul(tf.matMul(x, a), bb), this.loraScale));
    }
    return y;
  }

  /** Text embedding [N, textEmbedDim] from hashed features [N, textFeatures]. */
  embedText(features: Tensor2D, useLora: boolean): Tensor2D {
    return tf.tanh(this.dense('text', features, useLora));
  }

  private timeEmbedding(sigma: Tensor2D): Tensor2D {
    const angles = tf.mul<Tensor2D>(sigma, tf.tensor2d(this.freqs, [1, this.freqs.length]));
    return tf.concat<Tensor2D>([tf.sin(angles), tf.cos(angles)], 1);
  }

  /** Velocity v(x, σ, text) [N, latentDim]; x [N, latentDim], sigma [N, 1], textEmbedding [N, textEmbedDim]. */
  velocity(x: Tensor2D, sigma: Tensor2D, textEmbedding: Tensor2D, useLora: boolean): Tensor2D {
    let h: Tensor2D = tf.concat([x, textEmbedding, this.timeEmbedding(sigma)], 1);
    for (let i = 0; i < this.architecture.depth; i++) {
      const z = this.dense(`h${i}`, h, useLora);
      h = tf.mul(z, tf.sigmoid(z));
    }
    return this.dense('out', h, useLora);
  }

  /** Makes the base or the adapters the trainable group (the other is frozen). */
  trainable(group: 'base' | 'lora'): Variable[] {
    const vars = group === 'base' ? this.base : this.lora;
    for (const v of this.base.values()) v.trainable = group === 'base';
    for (const v of this.lora.values()) v.trainable = group === 'lora';
    return [...vars.values()];
  }

  /** Resets adapters to the identity (B = 0), keeping A. */
  resetAdapters(): void {
    for (const [name, v] of this.lora) if (name.endsWith('.loraB')) tf.tidy(() => v.assign(tf.zerosLike(v)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of [...this.base.values(), ...this.lora.values()]) v.dispose();
  }
}

export function validateArchitecture(a: PolicyArchitecture): void {
  const ints: (keyof PolicyArchitecture)[] = ['latentDim', 'textFeatures', 'textEmbedDim', 'hiddenDim', 'depth', 'timeFeatures', 'loraRank'];
  for (const k of ints) {
    const v = a[k];
    if (!Number.isInteger(v) || v < 1) throw new VrGrpoError('INVALID_ARGUMENT', `architecture.${k}: expected integer >= 1, got ${v}`);
  }
  if (a.timeFeatures % 2 !== 0) throw new VrGrpoError('INVALID_ARGUMENT', `architecture.timeFeatures: expected even integer, got ${a.timeFeatures}`);
  if (!(a.loraAlpha > 0)) throw new VrGrpoError('INVALID_ARGUMENT', `architecture.loraAlpha: expected number > 0, got ${a.loraAlpha}`);
}
