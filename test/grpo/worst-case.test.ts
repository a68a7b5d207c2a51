import { describe, expect, it } from 'vitest';
import { mean, std, worstCaseRewards } from '../../src/grpo/index.js';

describe('worstCaseRewards', () => {
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
