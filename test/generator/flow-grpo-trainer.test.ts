import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { FlowGrpoTrainer, FlowPolicy, sampleLatents, scheduledLearningRate, trajectoryLogProbs } from '../../src/generator/index.js';
import { groupAdvantages } from '../../src/grpo/index.js';
import { liveTensorCount, scoped } from '../../src/tensor/index.js';
import { SDE, SMALL, features, useBackend } from './helpers.js';

beforeAll(useBackend);

const OPTIONS = { learningRate: 3e-3, clipRange: 0.2, beta: 0, timestepFraction: 1, maxGradNorm: 1, innerEpochs: 2 };
const PROMPTS = ['a red circle moving left fast on a navy background', 'a blue square staying still on a beige background'];

describe('learning-rate schedule', () => {
  it('cosine goes from the base rate to minFraction × base at totalUpdates and stays there; constant stays', () => {
    const cosine = { kind: 'cosine', totalUpdates: 100, minFraction: 0.1 } as const;
    expect(scheduledLearningRate(2e-3, undefined, 50)).toBe(2e-3);
    expect(scheduledLearningRate(2e-3, { kind: 'constant' }, 50)).toBe(2e-3);
    expect(scheduledLearningRate(2e-3, cosine, 0)).toBeCloseTo(2e-3, 12);
    expect(scheduledLearningRate(2e-3, cosine, 50)).toBeCloseTo(2e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(scheduledLearningRate(2e-3, cosine, 25)).toBeCloseTo(2e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2)), 12);
    expect(scheduledLearningRate(2e-3, cosine, 100)).toBeCloseTo(2e-4, 12);
    expect(scheduledLearningRate(2e-3, cosine, 400)).toBeCloseTo(2e-4, 12);
  });

  it('a trainer follows it per optimizer update, and one restored from the optimizer state continues on the same curve', () => {
    const schedule = { kind: 'cosine', totalUpdates: 6, minFraction: 0 } as const;
    const policy = FlowPolicy.create(SMALL, 23);
    const trainer = new FlowGrpoTrainer(policy, { ...OPTIONS, schedule });
    let restored: FlowGrpoTrainer | null = null;
    try {
      const { trajectory } = sampleLatents(policy, features(PROMPTS, 4), Rng.fromSeed(3), SDE, true);
      const adv = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 1 : -1));
      // Two inner epochs per update: the second epoch of update k is optimizer step 2k.
      const rates = [trainer.update(trajectory, adv).learningRate, trainer.update(trajectory, adv).learningRate];
      expect(rates[0]).toBeCloseTo(scheduledLearningRate(3e-3, schedule, 1), 12);
      expect(rates[1]).toBeCloseTo(scheduledLearningRate(3e-3, schedule, 3), 12);
      restored = new FlowGrpoTrainer(policy, { ...OPTIONS, schedule }, trainer.optimizerState());
      expect(restored.update(trajectory, adv).learningRate).toBeCloseTo(scheduledLearningRate(3e-3, schedule, 5), 12);
    } finally {
      restored?.dispose();
      trainer.dispose();
      policy.dispose();
    }
  });
});

describe('Flow-GRPO trainer', () => {
  it('is on-policy on the first pass (every ratio 1, KL 0 with fresh adapters) and moves the policy after', () => {
    const policy = FlowPolicy.create(SMALL, 21);
    const trainer = new FlowGrpoTrainer(policy, OPTIONS);
    try {
      const { trajectory } = sampleLatents(policy, features(PROMPTS, 4), Rng.fromSeed(1), SDE, true);
      const adv = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 1 : -1));
      const stats = trainer.update(trajectory, adv);
      expect(stats.onPolicyMaxRatioDeviation).toBeLessThan(1e-4);
      expect(stats.rows).toBe(8 * SDE.steps);
      expect(stats.gradNorm).toBeGreaterThan(0);
      const after = scoped(() => Array.from(trajectoryLogProbs(policy, trajectory, true).logProb.dataSync()));
      const before = trajectory.steps.flatMap((s) => Array.from(s.logProb));
      expect(Math.max(...after.map((x, i) => Math.abs(x - (before[i] ?? 0))))).toBeGreaterThan(1e-4);
    } finally {
      trainer.dispose();
      policy.dispose();
    }
  });

  it('raises the log-probability of positive-advantage samples and lowers negative ones; masked videos do not count', () => {
    const policy = FlowPolicy.create(SMALL, 22);
    const trainer = new FlowGrpoTrainer(policy, { ...OPTIONS, innerEpochs: 1 });
    try {
      const { trajectory } = sampleLatents(policy, features(PROMPTS, 4), Rng.fromSeed(2), SDE, true);
      const adv = [1, -1, 1, -1, null, null, 1, -1];
      const before = trajectory.steps.map((s) => Array.from(s.logProb));
      const stats = trainer.update(trajectory, adv);
      expect(stats.videos).toBe(6);
      const after = scoped(() => Array.from(trajectoryLogProbs(policy, trajectory, true).logProb.dataSync()));
      const n = trajectory.count;
      let up = 0;
      let down = 0;
      for (let i = 0; i < n; i++) {
        const a = adv[i];
        if (a === null || a === undefined) continue;
        const delta = trajectory.steps.reduce((s, _, j) => s + ((after[j * n + i] ?? 0) - (before[j]?.[i] ?? 0)), 0);
        if (a > 0 && delta > 0) up += 1;
        if (a < 0 && delta < 0) down += 1;
      }
      expect(up + down).toBeGreaterThanOrEqual(5);
    } finally {
      trainer.dispose();
      policy.dispose();
    }
  });

  it('learns a toy reward (push latent dim 1 up) over a few GRPO steps, without leaking tensors', () => {
    const policy = FlowPolicy.create(SMALL, 23);
    const trainer = new FlowGrpoTrainer(policy, { ...OPTIONS, learningRate: 1e-2 });
    try {
      const input = features(PROMPTS, 8);
      const L = SMALL.latentDim;
      const reward = (latents: Float32Array): number[] => Array.from({ length: 16 }, (_, i) => latents[i * L + 1] ?? 0);
      const rng = Rng.fromSeed(3);
      const meanReward = (): number => {
        const r = reward(sampleLatents(policy, input, Rng.fromSeed(99), { ...SDE, mode: 'ode' }, true).latents);
        return r.reduce((a, b) => a + b, 0) / r.length;
      };
      const start = meanReward();
      let tensors = -1;
      for (let step = 0; step < 12; step++) {
        const { latents, trajectory } = sampleLatents(policy, input, rng, SDE, true);
        const r = reward(latents);
        const adv = groupAdvantages([r.slice(0, 8), r.slice(8)]).advantages.flat();
        trainer.update(trajectory, adv);
        if (step === 1) tensors = liveTensorCount();
      }
      expect(liveTensorCount()).toBe(tensors);
      expect(meanReward()).toBeGreaterThan(start + 0.1);
    } finally {
      trainer.dispose();
      policy.dispose();
    }
  });
});
