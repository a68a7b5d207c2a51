import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { OveroptimisationCurve, gainAt, klToDistance, type OveroptimisationFit } from '../../src/metrics/audit/index.js';

/**
 * A run's trace: `atReference` steps at KL 0 (the initial policy: the baseline steps), then KL grows to `maxKl`; the
 * auditor's score is baseline + R(d) (+ noise).
 */
function trace(
  steps: number,
  r: (d: number) => number,
  options: { baseline?: number; noise?: number; seed?: number; maxKl?: number; atReference?: number } = {},
): [number, number][] {
  const rng = Rng.fromSeed(options.seed ?? 1);
  const maxKl = options.maxKl ?? 16;
  const flat = options.atReference ?? 3;
  return Array.from({ length: flat + steps }, (_, j) => {
    const i = Math.max(0, j - flat + 1);
    const kl = (maxKl * i * i) / (steps * steps);
    return [kl, (options.baseline ?? 0.4) + r(Math.sqrt(kl)) + (options.noise ?? 0) * rng.normal()];
  });
}

function feed(curve: OveroptimisationCurve, points: readonly (readonly [number, number])[]): OveroptimisationFit | null {
  let fit: OveroptimisationFit | null = null;
  for (const [kl, s] of points) fit = curve.observe(kl, s);
  return fit;
}

describe('over-optimisation curve', () => {
  const alpha = 0.3;
  const beta = 0.1; // peak at d* = exp(α/β − 1) = e² ≈ 7.389, gain β·d* ≈ 0.739

  it('recovers α, β and the peak from a noiseless trace', () => {
    const fit = feed(
      new OveroptimisationCurve(),
      trace(40, (d) => gainAt(alpha, beta, d)),
    );
    expect(fit).not.toBeNull();
    expect(fit?.alpha).toBeCloseTo(alpha, 9);
    expect(fit?.beta).toBeCloseTo(beta, 9);
    expect(fit?.peakDistance).toBeCloseTo(Math.exp(2), 6);
    expect(fit?.peakGain).toBeCloseTo(0.1 * Math.exp(2), 6);
    expect(fit?.r2).toBeCloseTo(1, 9);
    expect(fit?.baseline).toBeCloseTo(0.4, 12);
    // The last step is at KL 16 (d = 4): the peak is still ahead.
    expect(fit?.currentDistance).toBe(4);
    expect(fit?.distanceToPeak).toBeCloseTo(Math.exp(2) - 4, 6);
    expect(fit?.currentGain).toBeCloseTo(gainAt(alpha, beta, 4), 9);
    expect(fit?.points).toBe(40); // the 3 baseline steps have KL 0: d = 0 carries no information on α, β
  });

  it('recovers them within tolerance from a noisy trace (fixed seed), and says past the peak when past it', () => {
    const fit = feed(
      new OveroptimisationCurve(),
      trace(200, (d) => gainAt(alpha, beta, d), { noise: 0.02, seed: 42, maxKl: 100 }),
    );
    expect(fit?.alpha).toBeCloseTo(alpha, 1);
    expect(fit?.beta).toBeCloseTo(beta, 1);
    expect(Math.abs((fit?.peakDistance ?? 0) - Math.exp(2))).toBeLessThan(0.5);
    expect(fit?.betaT).toBeGreaterThan(10);
    // d = 10 at the end, beyond d* ≈ 7.4.
    expect(fit?.distanceToPeak).toBeLessThan(0);
  });

  it('is biased when the baseline steps have already moved (documented limit), exact with the baseline given', () => {
    const moved = trace(40, (d) => gainAt(alpha, beta, d), { atReference: 0 });
    const biased = feed(new OveroptimisationCurve(), moved);
    expect(Math.abs((biased?.alpha ?? 0) - alpha)).toBeGreaterThan(0.01);
    const given = feed(new OveroptimisationCurve({ baseline: 0.4 }), moved);
    expect(given?.alpha).toBeCloseTo(alpha, 9);
    expect(given?.beta).toBeCloseTo(beta, 9);
  });

  it('gives no peak for a monotonically improving trace (β ≤ 0)', () => {
    const linear = feed(
      new OveroptimisationCurve(),
      trace(30, (d) => 0.2 * d),
    );
    expect(linear?.alpha).toBeCloseTo(0.2, 9);
    expect(Math.abs(linear?.beta ?? 1)).toBeLessThan(1e-9);
    expect(linear?.peakDistance ?? null).toBeNull();
    const convex = feed(
      new OveroptimisationCurve(),
      trace(30, (d) => 0.05 * d * d),
    );
    expect(convex?.beta).toBeLessThan(0);
    expect(convex?.peakDistance).toBeNull();
    expect(convex?.peakGain).toBeNull();
    expect(convex?.distanceToPeak).toBeNull();
  });

  it('is null until a baseline, minPoints points and enough spread in d', () => {
    const curve = new OveroptimisationCurve({ minPoints: 5, baselineSteps: 3 });
    // Baseline steps at KL 0 add no points.
    for (let i = 0; i < 3; i++) expect(curve.observe(0, 0.5)).toBeNull();
    for (let i = 1; i <= 4; i++) expect(curve.observe(i, 0.5 + gainAt(alpha, beta, Math.sqrt(i)))).toBeNull();
    expect(curve.observe(5, 0.5 + gainAt(alpha, beta, Math.sqrt(5)))).not.toBeNull();
    // Five points all at the same d: no spread, no fit.
    const flat = new OveroptimisationCurve({ baseline: 0 });
    expect(
      feed(
        flat,
        Array.from({ length: 10 }, () => [1, 0.3] as [number, number]),
      ),
    ).toBeNull();
  });

  it('skips non-finite inputs, counts a negative KL as 0, and uses a given baseline', () => {
    const clean = trace(20, (d) => gainAt(alpha, beta, d), { baseline: 1 });
    const dirty: [number, number][] = clean.flatMap((p, i) => (i % 4 === 0 ? [p, [NaN, 3] as [number, number], [2, Infinity] as [number, number]] : [p]));
    const a = feed(new OveroptimisationCurve({ baseline: 1 }), clean);
    const b = feed(new OveroptimisationCurve({ baseline: 1 }), dirty);
    expect(b).toEqual(a);
    expect(a?.baseline).toBe(1);
    expect(klToDistance(-1e-3)).toBe(0);
    expect(klToDistance(4)).toBe(2);
    expect(klToDistance(NaN)).toBeNaN();
  });

  it('round-trips its state: a resumed curve continues identically', () => {
    const points = trace(30, (d) => gainAt(alpha, beta, d), { noise: 0.01, seed: 3 });
    const whole = new OveroptimisationCurve({ halfLifePoints: 10 });
    const first = new OveroptimisationCurve({ halfLifePoints: 10 });
    feed(first, points.slice(0, 12));
    const resumed = new OveroptimisationCurve({ halfLifePoints: 10 }, JSON.parse(JSON.stringify(first.state())) as ReturnType<typeof first.state>);
    const a = feed(whole, points);
    const b = feed(resumed, points.slice(12));
    expect(b).toEqual(a);
    // Mid-baseline state too.
    const early = new OveroptimisationCurve();
    early.observe(0, 0.4);
    expect(early.state().baselineScores).toEqual([0.4]);
  });

  it('recency weighting follows a curve that changed shape more closely than the unweighted fit', () => {
    const before = trace(40, (d) => gainAt(0.5, 0.05, d));
    const after = trace(40, (d) => gainAt(alpha, beta, d), { seed: 9 });
    const weighted = feed(new OveroptimisationCurve({ halfLifePoints: 5 }), [...before, ...after]);
    const plain = feed(new OveroptimisationCurve(), [...before, ...after]);
    expect(Math.abs((weighted?.beta ?? 0) - beta)).toBeLessThan(Math.abs((plain?.beta ?? 0) - beta));
  });

  it('rejects options out of range and a state with non-finite sums', () => {
    for (const o of [{ baselineSteps: 0 }, { minPoints: 2 }, { minRelativeSpread: 1 }, { halfLifePoints: 0 }, { baseline: NaN }]) {
      let caught: unknown = null;
      try {
        new OveroptimisationCurve(o);
      } catch (e) {
        caught = e;
      }
      expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
    const s = new OveroptimisationCurve().state();
    expect(() => new OveroptimisationCurve({}, { ...s, sums: { ...s.sums, x11: NaN } })).toThrow(/sums\.x11/);
  });
});
