/**
 * The perception network in TensorFlow.js for training: a ReLU MLP trunk over an input row and one linear head per
 * attribute, with named variables (so the project's Adam can update them) and a conversion to the ONNX exporter's
 * spec. Dense layers only — the wasm backend has no Conv2D gradients.
 */
import { Rng } from '../../common/rng.js';
import { VrGrpoError } from '../../errors/index.js';
import type { MlpSpec } from '../../onnx/index.js';
import { scoped, tf, addDense, addInitDense, type Tensor2D, type Variable } from '../../tensor/index.js';
import { HEADS, INPUT_NAME, type HeadName } from '../../judge/backends/embedded/perception/heads.js';

export interface NetArchitecture {
  /** Values per input row. */
  readonly inputSize: number;
  /** Widths of the ReLU trunk layers (may be empty: then the heads are linear in the input). */
  readonly hidden: readonly number[];
}

export class PerceptionNet {
  /** Variables by name: `trunk<i>.weight|bias`, `head_<name>.weight|bias`. Weights are `[in, out]`. */
  readonly vars: ReadonlyMap<string, Variable>;

  private constructor(
    readonly architecture: NetArchitecture,
    vars: Map<string, Variable>,
  ) {
    this.vars = vars;
  }

  /** He-initialised network from a seed. */
  static create(architecture: NetArchitecture, seed: number): PerceptionNet {
    if (!Number.isInteger(architecture.inputSize) || architecture.inputSize < 1 || architecture.hidden.some((h) => !Number.isInteger(h) || h < 1)) {
      throw new VrGrpoError('INVALID_ARGUMENT', `invalid perception architecture ${JSON.stringify(architecture)}`);
    }
    const rng = Rng.fromSeed(seed);
    const vars = new Map<string, Variable>();
    const dense = (prefix: string, inSize: number, outSize: number, gain: number): void => addInitDense(vars, prefix, inSize, outSize, gain, rng);
    let width = architecture.inputSize;
    architecture.hidden.forEach((h, i) => {
      dense(`trunk${i}`, width, h, Math.SQRT2);
      width = h;
    });
    for (const head of HEADS) dense(`head_${head.name}`, width, head.classes.length, 1);
    return new PerceptionNet(architecture, vars);
  }

  /** A network holding the weights of an exporter spec (e.g. read back from a shipped model.onnx). */
  static fromMlpSpec(spec: MlpSpec): PerceptionNet {
    const vars = new Map<string, Variable>();
    const put = (prefix: string, layer: Parameters<typeof addDense>[2]): void => addDense(vars, prefix, layer);
    spec.trunk.forEach((layer, i) => {
      if ((layer.activation ?? 'relu') !== 'relu') throw new VrGrpoError('MODEL_INVALID', `trunk layer ${i} is not a ReLU layer`);
      put(`trunk${i}`, layer);
    });
    for (const head of HEADS) {
      const layer = spec.heads.find((h) => h.name === head.name);
      if (layer === undefined || layer.outSize !== head.classes.length) {
        for (const v of vars.values()) v.dispose();
        throw new VrGrpoError('MODEL_INVALID', `the network has no ${head.name} head with ${head.classes.length} classes`);
      }
      put(`head_${head.name}`, layer);
    }
    return new PerceptionNet({ inputSize: spec.input.size, hidden: spec.trunk.map((l) => l.outSize) }, vars);
  }

  private variable(name: string): Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `perception net has no variable ${name}`);
    return v;
  }

  /** Logits per head for a batch `[N, inputSize]`. Call inside tf.tidy / scoped. */
  logits(x: Tensor2D): Record<HeadName, Tensor2D> {
    let h: Tensor2D = x;
    this.architecture.hidden.forEach((_, i) => {
      h = tf.relu(tf.add<Tensor2D>(tf.matMul(h, this.variable(`trunk${i}.weight`)), this.variable(`trunk${i}.bias`)));
    });
    const trunk = h;
    const head = (name: HeadName): Tensor2D => tf.add(tf.matMul(trunk, this.variable(`head_${name}.weight`)), this.variable(`head_${name}.bias`));
    return { colour: head('colour'), shape: head('shape'), background: head('background') };
  }

  /** Softmax probabilities per head for `n` rows of `rows` (plain arrays in, plain arrays out). */
  predict(rows: Float32Array, n: number): Record<HeadName, Float32Array> {
    return scoped(() => {
      const logits = this.logits(tf.tensor2d(rows, [n, this.architecture.inputSize]));
      return {
        colour: tf.softmax(logits.colour).dataSync() as Float32Array,
        shape: tf.softmax(logits.shape).dataSync() as Float32Array,
        background: tf.softmax(logits.background).dataSync() as Float32Array,
      };
    });
  }

  /** The exporter's description of this network (weights copied out). */
  toMlpSpec(meta: { version: string; metadata?: Readonly<Record<string, string>> }): MlpSpec {
    const read = (name: string): Float32Array => this.variable(name).dataSync() as Float32Array;
    let width = this.architecture.inputSize;
    const trunk = this.architecture.hidden.map((h, i) => {
      const layer = { inSize: width, outSize: h, weights: read(`trunk${i}.weight`), bias: read(`trunk${i}.bias`), activation: 'relu' as const };
      width = h;
      return layer;
    });
    const heads = HEADS.map((head) => ({
      name: head.name,
      inSize: width,
      outSize: head.classes.length,
      weights: read(`head_${head.name}.weight`),
      bias: read(`head_${head.name}.bias`),
      softmax: true,
    }));
    return {
      input: { name: INPUT_NAME, size: this.architecture.inputSize },
      trunk,
      heads,
      graphName: 'vr-grpo-perception',
      producer: { name: 'vr-grpo', version: meta.version },
      ...(meta.metadata === undefined ? {} : { metadata: meta.metadata }),
      docString: 'VR-Thinker embedded judge perception: object colour, shape and background colour from blob crops.',
    };
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}
