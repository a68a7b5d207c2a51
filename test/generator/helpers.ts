import { Rng } from '../../src/common/rng.js';
import { FlowPolicy, textFeatures, type PolicyArchitecture, type SamplerOptions } from '../../src/generator/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { LATENT_DIM } from '../../src/world/index.js';

export const SMALL: PolicyArchitecture = {
  latentDim: LATENT_DIM,
  textFeatures: 64,
  textEmbedDim: 16,
  hiddenDim: 32,
  depth: 2,
  timeFeatures: 8,
  loraRank: 4,
  loraAlpha: 8,
};

export const SDE: SamplerOptions = { mode: 'sde', steps: 6, noiseLevel: 0.7, shift: 1, sdeWindow: { start: 0, end: null }, sameNoiseInGroup: false };

export async function useBackend(): Promise<void> {
  await chooseTensorBackend('auto');
}

/** A small random policy whose adapters are not the identity (B filled with noise). */
export function policyWithAdapters(seed: number): FlowPolicy {
  const policy = FlowPolicy.create(SMALL, seed);
  const rng = Rng.fromSeed(seed + 1);
  const values = new Map<string, Float32Array>();
  for (const [name, v] of policy.lora)
    if (name.endsWith('.loraB'))
      values.set(
        name,
        rng.normals(v.size).map((x) => 0.05 * x),
      );
  policy.setParameters(values);
  return policy;
}

export function features(prompts: readonly string[], groupSize: number): { textFeatures: Float32Array; groups: number[] } {
  const dim = SMALL.textFeatures;
  const out = new Float32Array(prompts.length * groupSize * dim);
  const groups: number[] = [];
  prompts.forEach((p, i) => {
    const f = textFeatures(p, dim);
    for (let m = 0; m < groupSize; m++) {
      out.set(f, (i * groupSize + m) * dim);
      groups.push(i);
    }
  });
  return { textFeatures: out, groups };
}
