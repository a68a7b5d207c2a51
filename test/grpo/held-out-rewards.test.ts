import { describe, expect, it } from 'vitest';
import { heldOutRewards, mean, std, type HeldOutRule } from '../../src/grpo/index.js';

const worstCaseRewards = (own: readonly number[], others: readonly (readonly number[])[]) => heldOutRewards(own, others, 'worst-case');

describe('heldOutRewards: worst-case', () => {
  it('leaves the order alone when the other judge agrees (any scale)', () => {
    const own = [0.2, 0.5, 0.4, 0.9];
    const r = worstCaseRewards(own, [own.map((x) => 10 * x - 3)]);
    r.rewards.forEach((x, i) => expect(x).toBeCloseTo(own[i] ?? NaN, 12));
    expect(r.lowered).toBe(0);
    expect(r.missing).toBe(0);
  });

  it('takes away what only the training judge pays for, keeping its level and spread', () => {
    // Video 0 is the exploit: the training judge pays it most, the auditor least; the others agree.
    const own = [0.9, 0.6, 0.5, 0.4];
    const auditor = [0.1, 0.6, 0.5, 0.4];
    const r = worstCaseRewards(own, [auditor]);
    // By hand: own z = (x − 0.6)/std; the auditor's z of video 0 is far below: video 0 now ranks last.
    const ranked = r.rewards
      .map((x, i) => [x, i] as const)
      .sort((a, b) => b[0] - a[0])
      .map(([, i]) => i);
    expect(ranked).toEqual([1, 2, 3, 0]);
    expect(mean(r.rewards)).toBeCloseTo(mean(own), 12);
    expect(std(r.rewards)).toBeCloseTo(std(own), 12);
    expect(r.lowered).toBeGreaterThanOrEqual(1);
  });

  it('matches a hand computation on three videos', () => {
    // own z: [−1.2247, 0, 1.2247]; auditor [3, 2, 1] z: [1.2247, 0, −1.2247]; minima [−1.2247, 0, −1.2247].
    const r = worstCaseRewards([1, 2, 3], [[3, 2, 1]]);
    // Minima centred: [−0.4082, 0.8165, −0.4082], std 0.5774; rescaled to own's std (0.8165) around own's mean 2.
    expect(r.rewards[0]).toBeCloseTo(2 - 0.4082 * (0.8165 / 0.5774), 3);
    expect(r.rewards[1]).toBeCloseTo(2 + 0.8165 * (0.8165 / 0.5774), 3);
    expect(r.rewards[2]).toBeCloseTo(r.rewards[0] ?? NaN, 12);
    expect(r.lowered).toBe(1);
  });

  it('keeps masked videos masked, leaves a failed judge out for that video, ignores a judge with no spread', () => {
    const r = worstCaseRewards(
      [0.3, Number.NaN, 0.5, 0.7],
      [
        [0.7, 0.1, Number.NaN, 0.3],
        [0.4, 0.4, 0.4, 0.4],
      ],
    );
    expect(Number.isNaN(r.rewards[1])).toBe(true);
    expect(r.missing).toBe(1);
    // The flat judge says nothing; the first auditor ranks video 0 over video 3 (reversed): both drop to their minima.
    expect(r.rewards[2]).toBeGreaterThan(r.rewards[0] ?? NaN);
    expect(r.rewards[2]).toBeGreaterThan(r.rewards[3] ?? NaN);
  });

  it('lets the held-out judges speak as one: their mean, not the lowest of them', () => {
    // Auditor A agrees with the training judge, B reverses it: their consensus is flat (0), so only the video the
    // training judge ranks lowest stays low; the lowest of all three would also have pulled video 2 down.
    const r = worstCaseRewards(
      [1, 2, 3],
      [
        [1, 2, 3],
        [3, 2, 1],
      ],
    );
    // min(own z, 0) = [−1.2247, 0, 0], centred [−0.8165, 0.4082, 0.4082] (std 0.5774), on own's scale (mean 2, std 0.8165).
    expect(r.rewards[0]).toBeCloseTo(2 - 0.8165 * (0.8165 / 0.5774), 3);
    expect(r.rewards[1]).toBeCloseTo(2 + 0.4082 * (0.8165 / 0.5774), 3);
    expect(r.rewards[2]).toBeCloseTo(r.rewards[1] ?? NaN, 12);
    expect(r.lowered).toBe(1);
  });

  it('returns a group without spread in the training judge as it is', () => {
    const r = worstCaseRewards([0.5, 0.5, 0.5], [[0.1, 0.9, 0.5]]);
    expect(r.rewards).toEqual([0.5, 0.5, 0.5]);
    expect(r.lowered).toBe(0);
  });
});

describe('heldOutRewards: held-out', () => {
  it("orders the group by the held-out consensus alone, on the training judge's scale", () => {
    const own = [0.9, 0.6, 0.5, 0.4];
    const auditor = [0.1, 0.6, 0.5, 0.4];
    const r = heldOutRewards(own, [auditor], 'held-out');
    // The auditor's order, its gaps rescaled to the training judge's spread around its mean.
    const z = (xs: readonly number[]) => xs.map((x) => (x - mean(xs)) / std(xs));
    const expected = z(auditor).map((a) => mean(own) + a * std(own));
    r.rewards.forEach((x, i) => expect(x).toBeCloseTo(expected[i] ?? NaN, 12));
    expect(r.lowered).toBe(1);
  });

  it("keeps the training judge's score for a video no held-out judge scored; masked stays masked", () => {
    const r = heldOutRewards([0.2, 0.4, Number.NaN, 0.8], [[0.9, Number.NaN, 0.1, 0.1]], 'held-out');
    expect(Number.isNaN(r.rewards[2])).toBe(true);
    expect(r.missing).toBe(1);
    // Video 1 keeps its own standardised score (0 in the middle of 0.2 … 0.8 is 0.4's −0.27σ); video 0 now ranks first.
    expect(r.rewards[0]).toBeGreaterThan(r.rewards[3] ?? NaN);
  });

  it('differs from the worst case exactly where the training judge ranks lower than the consensus', () => {
    const own = [1, 2, 3, 4];
    const others = [[2, 1, 4, 3]];
    const rules: HeldOutRule[] = ['worst-case', 'held-out'];
    const [worst, held] = rules.map((rule) => heldOutRewards(own, others, rule).rewards);
    expect(worst).not.toEqual(held);
    // Both keep the training judge's group mean.
    for (const xs of [worst, held]) expect(mean(xs ?? [])).toBeCloseTo(2.5, 12);
  });
});
