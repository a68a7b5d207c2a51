/** `PolicyPort`: how the learned reasoner runs its policy network (ONNX when serving, plain JS during training rollouts). */
import type { PolicyLogits } from './heads.js';

export interface PolicyPort {
  /** Logits per head for one observation (a FEATURE_SIZE vector). */
  evaluate(features: Float32Array): Promise<PolicyLogits>;
  /** Idempotent. */
  close(): Promise<void>;
}
