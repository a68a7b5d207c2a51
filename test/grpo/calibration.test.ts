import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { PerPromptStatTracker, RewardCalibration, groupAdvantages, type CalibrationMethod } from '../../src/grpo/index.js';

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

function expectInvalid(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isVrGrpoError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('reward calibration: fitting', () => {
  // Old judge: scores in [0.2, 0.8]; the new one scores the same videos as new = 0.5·old + 0.1 (so old = 2·new − 0.2).
  const rng = Rng.fromSeed(7);
  const old = range(24, () => rng.uniform(0.2, 0.8));
  const fresh = old.map((y) => 0.5 * y + 0.1);

  it.each<CalibrationMethod>(['quantile', 'affine'])('%s recovers an affine transform on its range', (method) => {
    const cal = RewardCalibration.fit({ overall: old }, { overall: fresh }, { method });
    const lo = Math.min(...fresh);
    const hi = Math.max(...fresh);
    for (let i = 0; i <= 20; i++) {
      const x = lo + ((hi - lo) * i) / 20;
      expect(cal.map('overall', x)).toBeCloseTo(2 * x - 0.2, 10);
    }
    const fit = cal.toJSON().dimensions.overall;
    expect(fit?.residual).toBeLessThan(1e-12);
    if (method === 'affine')
      expect(fit).toMatchObject({ kind: 'affine', a: expect.closeTo(2, 10) as unknown, b: expect.closeTo(-0.2, 10) as unknown, via: 'least-squares' });
    // Quantile: beyond the ends the knots' overall slope continues the line (until the clip).
    if (method === 'quantile') expect(cal.map('overall', hi + 0.01)).toBeCloseTo(2 * (hi + 0.01) - 0.2, 10);
  });

  it('quantile recovers a monotone nonlinear transform at the knots and closely between them', () => {
    const r = Rng.fromSeed(11);
    const o = range(200, () => r.uniform(0, 1));
    const n = o.map((y) => y ** 3); // new = old³  →  map(x) = ∛x
    const cal = RewardCalibration.fit({ TA: o }, { TA: n }, { method: 'quantile' });
    for (const y of o) expect(cal.map('TA', y ** 3)).toBeCloseTo(y, 12);
    let worst = 0;
    for (let i = 1; i < 100; i++) {
      const y = 0.05 + (0.9 * i) / 100;
      worst = Math.max(worst, Math.abs(cal.map('TA', y ** 3) - y));
    }
    expect(worst).toBeLessThan(0.02);
    // The affine fit cannot follow the curve: its residual is far larger.
    const affine = RewardCalibration.fit({ TA: o }, { TA: n }, { method: 'affine' });
    expect(affine.toJSON().dimensions.TA?.residual).toBeGreaterThan(10 * (cal.toJSON().dimensions.TA?.residual ?? 1) + 0.01);
  });

  it('handles ties in the new scores with one knot at the mean of their old quantiles, and stays monotone', () => {
    const cal = RewardCalibration.fit({ VQ: [0, 1, 2, 3, 4, 5] }, { VQ: [0.5, 0.5, 0.5, 0.7, 0.8, 0.9] }, { method: 'quantile' });
    const fit = cal.toJSON().dimensions.VQ;
    expect(fit?.kind).toBe('quantile');
    if (fit?.kind !== 'quantile') return;
    expect(fit.knots).toEqual([
      [0.5, 1],
      [0.7, 3],
      [0.8, 4],
      [0.9, 5],
    ]);
    let previous = -Infinity;
    for (let x = 0; x <= 1.5; x += 0.01) {
      const y = cal.map('VQ', x);
      expect(y).toBeGreaterThanOrEqual(previous);
      previous = y;
    }
  });

  it('clips the extrapolation to the old range widened by the margin', () => {
    const cal = RewardCalibration.fit({ MQ: [0, 0.25, 0.5, 0.75, 1] }, { MQ: [0, 0.25, 0.5, 0.75, 1] }, { method: 'quantile', extrapolationMargin: 0.1 });
    expect(cal.map('MQ', 1.05)).toBeCloseTo(1.05, 12);
    expect(cal.map('MQ', 5)).toBeCloseTo(1.1, 12);
    expect(cal.map('MQ', -5)).toBeCloseTo(-0.1, 12);
  });

  it('affine falls back to mean/std matching for a negative slope, and to the identity for constant scores', () => {
    const reversed = RewardCalibration.fit({ combined: [1, 2, 3, 4] }, { combined: [4, 3, 2, 1] }, { method: 'affine' }).toJSON().dimensions.combined;
    expect(reversed).toMatchObject({ kind: 'affine', via: 'mean-std', a: expect.closeTo(1, 12) as unknown, b: expect.closeTo(0, 12) as unknown });
    const flat = RewardCalibration.fit({ combined: [1, 2, 3, 4] }, { combined: [2, 2, 2, 2] }, { method: 'affine' });
    expect(flat.toJSON().dimensions.combined).toMatchObject({ kind: 'identity', reason: 'new scores are constant' });
    expect(flat.map('combined', 0.3)).toBe(0.3);
    const flatOld = RewardCalibration.fit({ combined: [5, 5, 5, 5] }, { combined: [1, 2, 3, 4] }, { method: 'affine' });
    expect(flatOld.toJSON().dimensions.combined).toMatchObject({ kind: 'identity', reason: 'old scores are constant' });
    const flatQ = RewardCalibration.fit({ combined: [1, 2, 3, 4] }, { combined: [2, 2, 2, 2] }, { method: 'quantile' });
    expect(flatQ.toJSON().dimensions.combined?.kind).toBe('identity');
  });

  it('masks: NaN pairs are left out of the fit, NaN scores pass through, unfitted dimensions are the identity', () => {
    const cal = RewardCalibration.fit({ overall: [NaN, 0, 1, 2, 3, 9] }, { overall: [0, 0, 1, 2, 3, NaN] }, { method: 'affine' });
    expect(cal.toJSON().dimensions.overall?.n).toBe(4);
    expect(cal.map('overall', 1.5)).toBeCloseTo(1.5, 12);
    expect(cal.apply('overall', NaN, 0)).toBeNaN();
    expect(cal.map('TA', 0.7)).toBe(0.7);
    const oneSided = RewardCalibration.fit({ overall: [0, 1, 2, 3], TA: [0, 1, 2, 3] }, { overall: [0, 1, 2, 3] });
    expect(oneSided.toJSON().dimensions.TA).toMatchObject({ kind: 'identity', reason: 'scores missing on the new side' });
  });

  it('rejects mismatched lengths, too few finite pairs and bad options with INVALID_ARGUMENT', () => {
    expectInvalid(() => RewardCalibration.fit({ overall: [1, 2, 3, 4] }, { overall: [1, 2, 3] }), /same videos/);
    expectInvalid(() => RewardCalibration.fit({ overall: [1, 2, 3, NaN] }, { overall: [1, 2, 3, 4] }), /3 finite .* fewer than 4/);
    expectInvalid(() => RewardCalibration.fit({ overall: [NaN, NaN, NaN, NaN] }, { overall: [NaN, NaN, NaN, NaN] }), /0 finite/);
    expectInvalid(() => RewardCalibration.fit({ overall: [1, 2, 3, 4] }, { overall: [1, 2, 3, 4] }, { decayJudgments: 0 }), /decayJudgments/);
    expectInvalid(() => RewardCalibration.fit({ overall: [1, 2, 3, 4] }, { overall: [1, 2, 3, 4] }, { minPoints: 1 }), /minPoints/);
    const lenient = RewardCalibration.fit(
      { overall: [1, 2, 3, 4], TA: [NaN, NaN, NaN, NaN] },
      { overall: [1, 2, 3, 4], TA: [1, NaN, NaN, NaN] },
      { insufficient: 'identity' },
    );
    expect(lenient.toJSON().dimensions.TA).toMatchObject({ kind: 'identity', n: 0 });
    expectInvalid(() => lenient.apply('overall', 1, -1), /judgedSinceSwap/);
  });
});

describe('reward calibration: decay and state', () => {
  const cal = RewardCalibration.fit({ overall: [0, 1, 2, 3] }, { overall: [0, 0.5, 1, 1.5] }, { method: 'affine', decayJudgments: 100 });

  it('decays linearly from the map to the identity', () => {
    expect(cal.apply('overall', 1, 0)).toBeCloseTo(2, 12);
    expect(cal.apply('overall', 1, 50)).toBeCloseTo(1.5, 12);
    expect(cal.apply('overall', 1, 100)).toBe(1);
    expect(cal.apply('overall', 1, 1e6)).toBe(1);
    expect(cal.weight(25)).toBeCloseTo(0.75, 12);
    expect(cal.applyAll('overall', [0.5, NaN], 0)).toEqual([expect.closeTo(1, 12), NaN]);
  });

  it('round-trips its state through JSON and reports a summary', () => {
    const q = RewardCalibration.fit({ overall: [0, 1, 2, 3, 4], TA: [1, 2, 3, 4, 5] }, { overall: [0, 0.1, 0.4, 0.9, 1.6], TA: [1, 1, 1, 2, 3] });
    const back = RewardCalibration.fromJSON(JSON.parse(JSON.stringify(q.toJSON())));
    expect(back.toJSON()).toEqual(q.toJSON());
    for (const x of [-1, 0, 0.05, 0.3, 1.2, 2]) expect(back.apply('overall', x, 10)).toBe(q.apply('overall', x, 10));
    expect(q.summary()).toMatchObject({
      method: 'quantile',
      decayJudgments: 2048,
      dimensions: { overall: { kind: 'quantile', n: 5, detail: 5 }, TA: { detail: 3 } },
    });
    expect(RewardCalibration.fromJSON(cal.toJSON()).summary().dimensions.overall?.detail).toEqual([expect.closeTo(2, 12), expect.closeTo(0, 12)]);
  });

  it('rejects a malformed state, naming the field', () => {
    const good = cal.toJSON();
    expectInvalid(() => RewardCalibration.fromJSON({ ...good, version: 2 }), /version/);
    expectInvalid(
      () => RewardCalibration.fromJSON({ ...good, dimensions: { overall: { kind: 'affine', n: 4, residual: 0, a: -1, b: 0, via: 'least-squares' } } }),
      /dimensions\.overall\.a/,
    );
    expectInvalid(
      () =>
        RewardCalibration.fromJSON({
          ...good,
          dimensions: {
            TA: {
              kind: 'quantile',
              n: 2,
              residual: 0,
              knots: [
                [1, 0],
                [0, 1],
              ],
              slope: 1,
              lo: 0,
              hi: 1,
            },
          },
        }),
      /knots/,
    );
    expectInvalid(() => RewardCalibration.fromJSON({ ...good, dimensions: { XX: { kind: 'identity', n: 0, residual: 0, reason: '' } } }), /dimensions/);
    expectInvalid(() => RewardCalibration.fromJSON(null), /calibration state/);
  });
});

describe('reward calibration: a judge swap seen by the per-prompt statistics', () => {
  /**
   * As the coordinator does with a per-prompt tracker: normalise each group against its prompt's history, then centre
   * within the group (std 'none'). Returns the mean |advantage| of the step.
   */
  function step(tracker: PerPromptStatTracker, prompts: readonly string[], rewards: readonly (readonly number[])[]): number {
    const normalised = rewards.map((g, i) => {
      const { mean: m, std: s } = tracker.update(prompts[i] ?? '', g);
      return g.map((r) => (r - m) / (s + 1e-4));
    });
    const adv = groupAdvantages(normalised, { std: 'none', clip: 5, epsilon: 1e-4 })
      .advantages.flat()
      .filter((a): a is number => a !== null);
    return adv.reduce((s, a) => s + Math.abs(a), 0) / adv.length;
  }

  it.each<CalibrationMethod>(['quantile', 'affine'])('%s: mean |advantage| jumps > 10 %% without calibration, ≤ 10 %% with it', (method) => {
    const rng = Rng.fromSeed(2026);
    const prompts = range(8, (i) => `prompt ${i}`);
    const level = prompts.map(() => rng.uniform(0.3, 0.7));
    // Latent quality of a video; the old judge reports it with little noise, the new one on a compressed, shifted
    // and curved scale (new = 0.2 + 0.35·old^1.3).
    const quality = (p: number): number => Math.min(1, Math.max(0, (level[p] ?? 0.5) + 0.12 * rng.normal()));
    const oldJudge = (q: number): number => q + 0.01 * rng.normal();
    const newJudge = (q: number): number => 0.2 + 0.35 * Math.max(0, q) ** 1.3 + 0.004 * rng.normal();
    const G = 8;
    const groupsOf = (judge: (q: number) => number): number[][] => prompts.map((_, p) => range(G, () => judge(quality(p))));
    const tracker = new PerPromptStatTracker(32, 16);
    const before: number[] = [];
    for (let s = 0; s < 12; s++) before.push(step(tracker, prompts, groupsOf(oldJudge)));
    const reference = before.slice(-6).reduce((a, b) => a + b, 0) / 6;
    // The anchors: 32 fixed videos judged by both judges around the swap.
    const anchors = range(32, (i) => 0.15 + (0.7 * i) / 31);
    const cal = RewardCalibration.fit({ combined: anchors.map(oldJudge) }, { combined: anchors.map(newJudge) }, { method, decayJudgments: 4096 });
    const saved = tracker.state();
    // The first steps after the swap, raw and calibrated, from the same tracker state and the same videos.
    const after = range(3, () => groupsOf(newJudge));
    const raw = new PerPromptStatTracker(32, 16, saved);
    const calibrated = new PerPromptStatTracker(32, 16, saved);
    let judged = 0;
    for (const groups of after) {
      const rawJump = Math.abs(step(raw, prompts, groups) / reference - 1);
      const calGroups = groups.map((g) => cal.applyAll('combined', g, judged));
      judged += groups.flat().length;
      const calJump = Math.abs(step(calibrated, prompts, calGroups) / reference - 1);
      expect(rawJump).toBeGreaterThan(0.1);
      expect(calJump).toBeLessThanOrEqual(0.1);
    }
  });
});
