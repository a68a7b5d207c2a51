/** The learned judge's policy served by onnxruntime (the checkpoint's `policy.onnx`), behind the `PolicyPort` interface. */
import { VrGrpoError } from '../../../errors/index.js';
import { OnnxModel, readMlpFromOnnx, type ModelSignature } from '../../../onnx/index.js';
import { FEATURE_SIZE } from './features.js';
import { POLICY_HEADS, POLICY_INPUT_NAME, type PolicyHeadName, type PolicyLogits } from './heads.js';
import { checkPolicySpec, logitsOutput } from './mlp-spec.js';
import type { PolicyPort } from './policy-port.js';

/** The signature of a policy model over `featureSize` features. */
export function policySignature(featureSize: number): ModelSignature {
  return Object.freeze({
    inputs: [{ name: POLICY_INPUT_NAME, dims: [-1, featureSize] }],
    outputs: POLICY_HEADS.map((h) => ({ name: logitsOutput(h.name), dims: [-1, h.size] })),
  });
}

/** The signature every `v1`-layout policy model must have. */
export const POLICY_SIGNATURE: ModelSignature = policySignature(FEATURE_SIZE);

export class OnnxPolicy implements PolicyPort {
  private constructor(
    private readonly model: OnnxModel,
    /** Features per observation (the checkpoint's layout). */
    readonly featureSize: number,
  ) {}

  /** Loads policy bytes; MODEL_INVALID when they are not a policy network for this code's features and heads. */
  static async create(bytes: Uint8Array, label = 'policy.onnx'): Promise<OnnxPolicy> {
    const spec = readMlpFromOnnx(bytes);
    checkPolicySpec(spec, label);
    return new OnnxPolicy(await OnnxModel.create(bytes, policySignature(spec.input.size)), spec.input.size);
  }

  /** Logits for `n` observations (`rows`: n × featureSize), one run. */
  async evaluateBatch(rows: Float32Array, n: number): Promise<PolicyLogits[]> {
    const size = this.featureSize;
    if (rows.length !== n * size) throw new VrGrpoError('INVALID_ARGUMENT', `expected ${n}×${size} features, got ${rows.length} values`);
    const out = await this.model.run({ [POLICY_INPUT_NAME]: { data: rows, dims: [n, size] } });
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
