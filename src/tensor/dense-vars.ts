/**
 * The variables of one dense layer (`<prefix>.weight` `[in, out]`, `<prefix>.bias` `[out]`), shared by the MLPs the
 * project trains in tfjs and exports to ONNX (the judge's perception net, the learned judge's policy net).
 */
import * as tf from '@tensorflow/tfjs';
import { variableFrom } from './scoped.js';

/** Adds a freshly initialised layer: weights ~ N(0, (gain/√in)²) from `rng`, bias 0. */
export function addInitDense(
  vars: Map<string, tf.Variable>,
  prefix: string,
  inSize: number,
  outSize: number,
  gain: number,
  rng: { normals(n: number): Float32Array },
): void {
  const std = gain / Math.sqrt(inSize);
  vars.set(
    `${prefix}.weight`,
    variableFrom(
      tf.tensor2d(
        rng.normals(inSize * outSize).map((x) => x * std),
        [inSize, outSize],
      ),
      true,
    ),
  );
  vars.set(`${prefix}.bias`, variableFrom(tf.zeros([outSize]), true));
}

/** Adds a layer holding given weights (e.g. read back from an exported model). */
export function addDense(
  vars: Map<string, tf.Variable>,
  prefix: string,
  layer: { readonly inSize: number; readonly outSize: number; readonly weights: Float32Array; readonly bias: Float32Array },
): void {
  vars.set(`${prefix}.weight`, variableFrom(tf.tensor2d(layer.weights, [layer.inSize, layer.outSize]), true));
  vars.set(`${prefix}.bias`, variableFrom(tf.tensor1d(layer.bias), true));
}
