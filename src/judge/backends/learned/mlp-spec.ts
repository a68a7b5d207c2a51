/**
 * The policy network as the ONNX exporter describes it (a ReLU trunk and one linear head per action head, logits
 * only), its checks, and a plain-JS forward pass over such a spec — what training rollouts sample from (exactly the
 * network tfjs trains and ONNX serves; they agree to float32 rounding).
 */
import { VrGrpoError } from '../../../errors/index.js';
import type { HeadLayer, MlpSpec, TrunkLayer } from '../../../onnx/index.js';
import { layoutOfFeatureSize } from './layout.js';
import { POLICY_HEADS, POLICY_INPUT_NAME, type PolicyHeadName, type PolicyLogits } from './heads.js';
import type { PolicyPort } from './policy-port.js';

/** Output name of a head's logits in the ONNX graph. */
export const logitsOutput = (head: PolicyHeadName): string => `${head}_logits`;

/** MODEL_INVALID unless `spec` is a policy network for this code's features and heads. */
export function checkPolicySpec(spec: MlpSpec, where: string): void {
  const fail = (what: string): never => {
    throw new VrGrpoError('MODEL_INVALID', `learned policy ${where}: ${what}`, { details: { model: where } });
  };
  if (spec.input.name !== POLICY_INPUT_NAME) fail(`input is ${spec.input.name}, expected ${POLICY_INPUT_NAME}`);
  if (layoutOfFeatureSize(spec.input.size) === null) fail(`input has ${spec.input.size} features, which no observation layout of this code builds`);
  for (const [i, layer] of spec.trunk.entries()) if ((layer.activation ?? 'relu') !== 'relu') fail(`trunk layer ${i} is not a ReLU layer`);
  for (const h of POLICY_HEADS) {
    const layer = spec.heads.find((x) => x.name === h.name);
    if (layer === undefined) fail(`no ${h.name} head`);
    else if (layer.outSize !== h.size) fail(`head ${h.name} has ${layer.outSize} outputs, expected ${h.size}`);
  }
}

function dense(layer: TrunkLayer | HeadLayer, x: Float64Array<ArrayBufferLike>): Float64Array<ArrayBufferLike> {
  const out = new Float64Array(layer.outSize);
  for (let j = 0; j < layer.outSize; j++) out[j] = layer.bias[j] ?? 0;
  for (let i = 0; i < layer.inSize; i++) {
    const xi = x[i] ?? 0;
    if (xi === 0) continue;
    const row = i * layer.outSize;
    for (let j = 0; j < layer.outSize; j++) out[j] = (out[j] ?? 0) + xi * (layer.weights[row + j] ?? 0);
  }
  return out;
}

/** The policy network in plain JS (float64 accumulation of float32 weights). */
export class JsPolicy implements PolicyPort {
  private constructor(private readonly spec: MlpSpec) {}

  static fromSpec(spec: MlpSpec): JsPolicy {
    checkPolicySpec(spec, spec.graphName ?? 'spec');
    return new JsPolicy(spec);
  }

  evaluateSync(features: Float32Array): PolicyLogits {
    if (features.length !== this.spec.input.size)
      throw new VrGrpoError('INVALID_ARGUMENT', `expected ${this.spec.input.size} features, got ${features.length}`);
    let h: Float64Array<ArrayBufferLike> = Float64Array.from(features);
    for (const layer of this.spec.trunk) {
      h = dense(layer, h);
      if ((layer.activation ?? 'relu') === 'relu') for (let i = 0; i < h.length; i++) h[i] = Math.max(0, h[i] ?? 0);
    }
    const out = {} as Record<PolicyHeadName, Float32Array>;
    for (const head of POLICY_HEADS) {
      const layer = this.spec.heads.find((x) => x.name === head.name);
      out[head.name] = layer === undefined ? new Float32Array(head.size) : Float32Array.from(dense(layer, h));
    }
    return out;
  }

  evaluate(features: Float32Array): Promise<PolicyLogits> {
    try {
      return Promise.resolve(this.evaluateSync(features));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
