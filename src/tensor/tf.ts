/** The one import point of TensorFlow.js for the project (model files and tensor helpers import `tf` from here). */
export * as tf from '@tensorflow/tfjs';
export type { Tensor, Tensor1D, Tensor2D, Variable, Scalar } from '@tensorflow/tfjs';
