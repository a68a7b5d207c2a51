/**
 * GRPO's ratio on the learned judge: the log-probability recorded when a turn was sampled (plain-JS policy, through the
 * real judge engine) is the one tfjs differentiates, so the first, on-policy pass has r = 1 to float rounding; after an
 * update r moves, and stale log-probabilities are detected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { encodeSteps, PolicyNet } from '../../src/judge-training/policy-net.js';
import { GrpoUpdater, clonePolicy, jsPolicyOf, policyTraces, runGrpo, type Trace, type TrainingData } from '../../src/judge-training/index.js';
import { chooseTensorBackend, scoped } from '../../src/tensor/index.js';
import { worldTrainingData } from './fixtures.js';

let data: TrainingData;
let net: PolicyNet;
let traces: Trace[];

beforeAll(async () => {
  await chooseTensorBackend('auto');
  data = await worldTrainingData(5, 4, 21);
  net = PolicyNet.create({ hidden: [16] }, 5);
  traces = await policyTraces(jsPolicyOf(net), data.cache, data.train, {
    answerMode: 'per-dimension',
    decoding: { kind: 'sample', rng: Rng.fromSeed(3) },
    samplesPerPair: 4,
  });
});
afterAll(() => net.dispose());

const updateOptions = { learningRate: 0.01, clipRange: 0.2, innerEpochs: 2, maxGradNorm: 1 };
/** One advantage per trace (±1 alternating), repeated for its turns. */
const advantagesOf = (ts: readonly Trace[]): number[] => ts.flatMap((t, i) => t.steps.map(() => (i % 2 === 0 ? 1 : -1)));

describe('on-policy ratio of the learned judge', () => {
  it('sampled traces cover both actions, and the recorded log-probabilities are the ones tfjs computes', () => {
    const steps = traces.flatMap((t) => t.steps);
    expect(steps.some((s) => s.action.kind === 'select')).toBe(true);
    expect(steps.some((s) => s.action.kind === 'answer' && s.context.selectAllowed)).toBe(true);
    const tfLp = scoped(() => Array.from(net.stepLogProbs(encodeSteps(steps)).dataSync()));
    const worst = Math.max(...steps.map((s, i) => Math.abs((tfLp[i] ?? NaN) - s.logProb)));
    expect(worst).toBeLessThan(1e-4);
    expect(steps.every((s) => Number.isFinite(s.logProb) && s.logProb < 0)).toBe(true);
  });

  it('is 1 on the first pass (to float32 rounding) and moves after the update', () => {
    const copy = clonePolicy(net);
    const updater = new GrpoUpdater(copy, updateOptions);
    try {
      const steps = traces.flatMap((t) => t.steps);
      const stats = updater.update(steps, advantagesOf(traces));
      expect(stats.rows).toBe(steps.length);
      expect(stats.onPolicyMaxRatioDeviation).toBeLessThan(1e-5);
      // The second pass runs after one Adam step: the ratio is no longer 1.
      expect(Math.abs(stats.ratioMean - 1) + stats.approxKl).toBeGreaterThan(1e-6);
      expect(stats.gradNorm).toBeGreaterThan(0);
    } finally {
      updater.dispose();
      copy.dispose();
    }
  });

  it('reports stale log-probabilities (the check can fail) and masks turns without an advantage', () => {
    const copy = clonePolicy(net);
    const updater = new GrpoUpdater(copy, { ...updateOptions, innerEpochs: 1 });
    try {
      const steps = traces.flatMap((t) => t.steps);
      const stale = steps.map((s) => ({ ...s, logProb: s.logProb - 0.05 }));
      const adv = advantagesOf(traces).map((a, i) => (i % 3 === 0 ? Number.NaN : a));
      const stats = updater.update(stale, adv);
      expect(stats.onPolicyMaxRatioDeviation).toBeGreaterThan(0.04);
      expect(stats.rows).toBe(adv.filter(Number.isFinite).length);
    } finally {
      updater.dispose();
      copy.dispose();
    }
  });

  it('a GRPO stage run records the on-policy check of every iteration', async () => {
    const result = await runGrpo(data, net, {
      seed: 4,
      answerMode: 'per-dimension',
      maxToolCalls: 3,
      iterations: 2,
      pairsPerIteration: 3,
      groupSize: 4,
      learningRate: 0.005,
      clipRange: 0.2,
      innerEpochs: 2,
      maxGradNorm: 1,
      evalEvery: 0,
      weights: { format: 0.25, accuracy: 1, overallShare: 0.5, cotGain: 0.5 },
      exploration: { floor: 0.3, bonus: 0.2 },
    });
    try {
      const m = result.metrics as { iterations: { update: { rows: number; onPolicyMaxRatioDeviation: number } }[]; onPolicyMaxRatioDeviation: number };
      expect(m.iterations).toHaveLength(2);
      expect(m.iterations.every((i) => i.update.rows > 0)).toBe(true);
      expect(m.onPolicyMaxRatioDeviation).toBeLessThan(1e-5);
      expect(result.validation.judgments).toBe(data.validation.length);
    } finally {
      result.net.dispose();
    }
  });
});
