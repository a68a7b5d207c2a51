/**
 * Stage 2, rejection-sampling fine-tuning: the cold-start policy samples `samplesPerPair` traces per training pair
 * (temperature 1, through the judge engine); only well-formed traces whose final answer is right on every decided
 * dimension (overall and per-dimension) are kept, and the policy is fine-tuned on their turns.
 */
import { Rng, deriveSeed } from '../common/rng.js';
import { PolicyNet } from './policy-net.js';
import { readMlpFromOnnx } from '../onnx/index.js';
import { exportPolicy } from './checkpoint.js';
import type { TrainingData } from './data.js';
import { fitAndValidate, keptTurns } from './imitation-stage.js';
import { summarise } from './metrics.js';
import type { RftOptions } from './options.js';
import { policyTraces } from './rollouts.js';
import type { StageResult } from './stage-result.js';
import { jsPolicyOf } from './validation.js';

/** A trainable copy of a network. */
export function clonePolicy(net: PolicyNet): PolicyNet {
  return PolicyNet.fromMlpSpec(readMlpFromOnnx(exportPolicy(net, 'copy')));
}

export async function runRft(data: TrainingData, parent: PolicyNet, o: RftOptions, log: (line: string) => void = () => undefined): Promise<StageResult> {
  const t0 = performance.now();
  const samples = await policyTraces(jsPolicyOf(parent), data.cache, data.train, {
    answerMode: o.answerMode,
    layout: data.layout ?? 'v1',
    decoding: { kind: 'sample', rng: Rng.fromSeed(deriveSeed(o.seed, 21)) },
    samplesPerPair: o.samplesPerPair,
    maxOwnToolCalls: o.maxToolCalls,
    judge: { maxToolCalls: o.maxToolCalls },
  });
  const { kept, steps, selectTurns } = keptTurns(samples, o.answerMode);
  const rolloutSeconds = (performance.now() - t0) / 1000;
  const pairsCovered = new Set(kept.map((t) => t.pairId)).size;
  log(`rft: kept ${kept.length}/${samples.length} sampled traces (${pairsCovered} pairs, ${steps.length} turns) in ${rolloutSeconds.toFixed(1)} s`);
  const net = clonePolicy(parent);
  const { fit, validation } = await fitAndValidate(
    net,
    steps,
    { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: deriveSeed(o.seed, 22) },
    data,
    o,
    'rft: fine-tuning',
    log,
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    net,
    training: { stage: 'rft', options: o, trainPairs: data.train.length, seconds: Math.round(seconds * 10) / 10 },
    metrics: {
      samples: summarise(samples, o.answerMode),
      kept: { traces: kept.length, of: samples.length, pairs: pairsCovered, turns: steps.length, selectTurns },
      fineTuning: fit,
      validation,
      seconds: { rollouts: rolloutSeconds, fineTuning: fit.seconds, total: seconds },
    },
    validation,
  };
}
