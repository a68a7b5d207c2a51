/** The learned judge's policy served by onnxruntime (the checkpoint's `policy.onnx`), behind the `PolicyPort` interface. */
import { VrGrpoError } from '../../../errors/index.js';
import { OnnxModel, readMlpFromOnnx, type ModelSignature } from '../../../onnx/index.js';
import { FEATURE_SIZE } from './features.js';
import { POLICY_HEADS, POLICY_INPUT_NAME, type PolicyHeadName, type PolicyLogits } from './heads.js';
import { checkPolicySpec, logitsOutput } from './mlp-spec.js';
import type { PolicyPort } from './policy-port.js';

/** The signature every policy model must have. */
export const POLICY_SIGNATURE: ModelSignature = Object.freeze({
  inputs: [{ name: POLICY_INPUT_NAME, dims: [-1, FEATURE_SIZE] }],
  outputs: POLICY_HEADS.map((h) => ({ name: logitsOutput(h.name), dims: [-1, h.size] })),
});

export class OnnxPolicy implements PolicyPort {
  private constructor(private readonly model: OnnxModel) {}

  /** Loads policy bytes; MODEL_INVALID when they are not a policy network for this code's features and heads. */
  static async create(bytes: Uint8Array, label = 'policy.onnx'): Promise<OnnxPolicy> {
    checkPolicySpec(readMlpFromOnnx(bytes), label);
    return new OnnxPolicy(await OnnxModel.create(bytes, POLICY_SIGNATURE));
  }

  /** Logits for `n` observations (`rows`: n × FEATURE_SIZE), one run. */
  async evaluateBatch(rows: Float32Array, n: number): Promise<PolicyLogits[]> {
    if (rows.length !== n * FEATURE_SIZE) throw new VrGrpoError('INVALID_ARGUMENT', `expected ${n}×${FEATURE_SIZE} features, got ${rows.length} values`);
    const out = await this.model.run({ [POLICY_INPUT_NAME]: { data: rows, dims: [n, FEATURE_SIZE] } });
    return Array.from({ length: n }, (_, r) => {
      const logits = {} as Record<PolicyHeadName, Float32Array>;
      for (const h of POLICY_HEADS) {
        const t = out[logitsOutput(h.name)];
        if (t === undefined) throw new VrGrpoError('INFERENCE_FAILED', `policy output ${logitsOutput(h.name)} missing`);
        logits[h.name] = t.data.slice(r * h.size, (r + 1) * h.size);
      }
      return logits;
    });
  }

  async evaluate(features: Float32Array): Promise<PolicyLogits> {
    const [first] = await this.evaluateBatch(features, 1);
    if (first === undefined) throw new VrGrpoError('INFERENCE_FAILED', 'policy returned no output');
    return first;
  }

  close(): Promise<void> {
    return this.model.close();
  }
}
