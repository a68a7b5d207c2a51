/** Tensor layer: tfjs backend choice, the single tfjs import point, and small training helpers. */
export { tf } from './tf.js';
export type { Tensor, Tensor1D, Tensor2D, Variable, Scalar } from './tf.js';
export * from './backend.js';
export * from './adam.js';
export * from './scoped.js';
export * from './dense-vars.js';
