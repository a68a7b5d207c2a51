/** Plain tensor and signature types of the ONNX adapter: what callers, the session thread and the probe exchange (no onnxruntime type). */

/** A named tensor shape; `-1` stands for a dynamic dimension (such as the batch). */
export interface TensorSignature {
  readonly name: string;
  readonly dims: readonly number[];
}

/** The inputs and outputs a caller expects of a model. */
export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  /** Outputs the caller needs; the model may have more. */
  readonly outputs: readonly TensorSignature[];
}

/** A dense float32 tensor in row-major order. */
export interface FloatTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}
