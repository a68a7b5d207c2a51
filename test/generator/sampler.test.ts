import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { sampleLatents, sdeNoiseScale, sigmaSchedule, trajectoryLogProbs, selectVideos } from '../../src/generator/index.js';
import { liveTensorCount, scoped, tf } from '../../src/tensor/index.js';
import { SDE, SMALL, features, policyWithAdapters, useBackend } from './helpers.js';

const PROMPTS = ['a red circle moving left fast on a navy background', 'a blue square staying still on a beige background'];

beforeAll(useBackend);

/** Independent float64 evaluation of one Flow-GRPO SDE step log-density (DESIGN.md §3). */
function referenceLogProb(x: Float64Array, v: Float64Array, xNext: Float64Array, sigma: number, sigmaNext: number, a: number, sigmaMax: number): number {
  const dt = sigmaNext - sigma;
  const st = a * Math.sqrt(sigma / (1 - (sigma === 1 ? sigmaMax : sigma)));
  const sd = st * Math.sqrt(-dt);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] ?? 0;
    const vi = v[i] ?? 0;
    const mu = xi + (vi + ((st * st) / (2 * sigma)) * (xi + (1 - sigma) * vi)) * dt;
    const d = (xNext[i] ?? 0) - mu;
    sum += -(d * d) / (2 * sd * sd) - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
  }
  return sum / x.length;
}

describe('schedule', () => {
  it('runs from 1 to 0, shifted towards noise with shift > 1', () => {
    const s = sigmaSchedule(4, 1);
    expect(Array.from(s)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    const shifted = sigmaSchedule(4, 3);
    expect(shifted[0]).toBe(1);
    expect(shifted[4]).toBe(0);
    expect(shifted[2]).toBeCloseTo(0.75, 10); // 3·0.5/(1+2·0.5)
    expect(sdeNoiseScale(0.5, s, 0.7)).toBeCloseTo(0.7, 10);
    expect(sdeNoiseScale(1, s, 0.7)).toBeCloseTo(0.7 * Math.sqrt(1 / 0.25), 10);
  });
});

describe('SDE sampler', () => {
  it('records a log-prob per step that matches an independent float64 computation', () => {
    const policy = policyWithAdapters(1);
    try {
      const input = features(PROMPTS, 3);
      const { trajectory } = sampleLatents(policy, input, Rng.fromSeed(4), SDE, true);
      expect(trajectory.steps).toHaveLength(SDE.steps);
      const schedule = sigmaSchedule(SDE.steps, SDE.shift);
      const L = SMALL.latentDim;
      for (const step of [trajectory.steps[0], trajectory.steps[3], trajectory.steps[5]]) {
        if (step === undefined) throw new Error('missing step');
        const v = scoped(() => {
          const n = trajectory.count;
          const emb = policy.embedText(tf.tensor2d(input.textFeatures, [n, SMALL.textFeatures]), true);
          return policy.velocity(tf.tensor2d(step.x, [n, L]), tf.fill<tf.Rank.R2>([n, 1], step.sigma), emb, true).dataSync() as Float32Array;
        });
        for (let i = 0; i < trajectory.count; i++) {
          const sl = (a: Float32Array): Float64Array => Float64Array.from(a.subarray(i * L, (i + 1) * L));
          const ref = referenceLogProb(sl(step.x), sl(v), sl(step.xNext), step.sigma, step.sigmaNext, SDE.noiseLevel, schedule[1] ?? 0);
          expect(step.logProb[i]).toBeCloseTo(ref, 4);
        }
      }
    } finally {
      policy.dispose();
    }
  });

  it('gives ratio exactly 1 when re-evaluated on-policy, and not after a parameter change', () => {
    const policy = policyWithAdapters(2);
    try {
      const { trajectory } = sampleLatents(policy, features(PROMPTS, 4), Rng.fromSeed(5), SDE, true);
      const old = Float32Array.from(trajectory.steps.flatMap((s) => Array.from(s.logProb)));
      const ratios = scoped(() => Array.from(tf.exp(tf.sub(trajectoryLogProbs(policy, trajectory, true).logProb, tf.tensor1d(old))).dataSync()));
      expect(ratios).toHaveLength(SDE.steps * 8);
      for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(1e-4);
      // Nudge one adapter: ratios move away from 1.
      const b = policy.lora.get('h0.loraB');
      if (b === undefined) throw new Error('no adapter');
      tf.tidy(() => b.assign(tf.add(b, tf.randomNormal(b.shape, 0, 0.2, 'float32', 3))));
      const moved = scoped(() => Array.from(tf.exp(tf.sub(trajectoryLogProbs(policy, trajectory, true).logProb, tf.tensor1d(old))).dataSync()));
      expect(Math.max(...moved.map((r) => Math.abs(r - 1)))).toBeGreaterThan(1e-3);
    } finally {
      policy.dispose();
    }
  });

  it('recomputes the log-probs of a sub-batch of videos and of selected steps', () => {
    const policy = policyWithAdapters(3);
    try {
      const { trajectory } = sampleLatents(policy, features(PROMPTS, 3), Rng.fromSeed(6), SDE, true);
      const sub = selectVideos(trajectory, [4, 1]);
      const lp = scoped(() => Array.from(trajectoryLogProbs(policy, sub, true, [2]).logProb.dataSync()));
      const step = trajectory.steps[2];
      expect(lp[0]).toBeCloseTo(step?.logProb[4] ?? NaN, 4);
      expect(lp[1]).toBeCloseTo(step?.logProb[1] ?? NaN, 4);
    } finally {
      policy.dispose();
    }
  });

  it('with adapters off equals the base model, which is what a fresh adapter (B = 0) gives too', () => {
    const policy = policyWithAdapters(4);
    try {
      const input = features(PROMPTS, 2);
      const withAdapters = sampleLatents(policy, input, Rng.fromSeed(7), SDE, true).latents;
      const off = sampleLatents(policy, input, Rng.fromSeed(7), SDE, false).latents;
      expect(Array.from(off)).not.toEqual(Array.from(withAdapters));
      policy.resetAdapters();
      const fresh = sampleLatents(policy, input, Rng.fromSeed(7), SDE, true).latents;
      for (let i = 0; i < off.length; i++) expect(fresh[i]).toBeCloseTo(off[i] ?? NaN, 5);
    } finally {
      policy.dispose();
    }
  });

  it('is reproducible by seed, shares initial noise in a group on request, and stores only SDE-window steps', () => {
    const policy = policyWithAdapters(5);
    try {
      const input = features(PROMPTS, 3);
      const a = sampleLatents(policy, input, Rng.fromSeed(8), SDE, true);
      const b = sampleLatents(policy, input, Rng.fromSeed(8), SDE, true);
      expect(Array.from(a.latents)).toEqual(Array.from(b.latents));
      const same = sampleLatents(policy, input, Rng.fromSeed(8), { ...SDE, sameNoiseInGroup: true }, true);
      const L = SMALL.latentDim;
      const x0 = same.trajectory.steps[0]?.x ?? new Float32Array(0);
      expect(Array.from(x0.subarray(0, L))).toEqual(Array.from(x0.subarray(L, 2 * L)));
      expect(Array.from(x0.subarray(0, L))).not.toEqual(Array.from(x0.subarray(3 * L, 4 * L)));
      const windowed = sampleLatents(policy, input, Rng.fromSeed(8), { ...SDE, sdeWindow: { start: 1, end: 3 } }, true);
      expect(windowed.trajectory.steps.map((s) => s.index)).toEqual([1, 2]);
      const ode1 = sampleLatents(policy, input, Rng.fromSeed(1), { ...SDE, mode: 'ode', sameNoiseInGroup: true }, true);
      expect(ode1.trajectory.steps).toHaveLength(0);
      expect(Array.from(ode1.latents.subarray(0, L))).toEqual(Array.from(ode1.latents.subarray(L, 2 * L)));
    } finally {
      policy.dispose();
    }
  });

  it('leaks no tensors across repeated sampling and log-prob recomputation', () => {
    const policy = policyWithAdapters(6);
    try {
      const input = features(PROMPTS, 2);
      const run = (): void => {
        const { trajectory } = sampleLatents(policy, input, Rng.fromSeed(9), SDE, true);
        scoped(() => trajectoryLogProbs(policy, trajectory, true).logProb.dataSync());
      };
      run();
      const before = liveTensorCount();
      for (let i = 0; i < 5; i++) run();
      expect(liveTensorCount()).toBe(before);
    } finally {
      policy.dispose();
    }
  });
});
