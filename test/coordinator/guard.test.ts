/** The guard's decisions (src/coordinator/guard.ts): when a hacking signal is confirmed, and where to roll back to. */
import { describe, expect, it } from 'vitest';
import { Guard, bestCheckpoint, type GuardOptions } from '../../src/coordinator/guard.js';

const OPTIONS: GuardOptions = { mode: 'act', persistence: 2, action: 'lower-lr', factor: 0.5, maxRollbacks: 1 };
const quiet = { name: 'proxy_auditor_divergence', value: 0.5, firing: false, tripped: false };
const trip = { ...quiet, value: 4, firing: true, tripped: true };
const firing = { ...quiet, value: 5, firing: true };

describe('Guard', () => {
  it('confirms a trip that keeps firing for `persistence` audited steps, once per episode', () => {
    const g = new Guard(OPTIONS);
    expect(g.observe(1, 0.9, quiet)).toBeNull();
    expect(g.observe(2, 0.9, trip)).toBeNull();
    const d = g.observe(3, 0.8, firing);
    expect(d).toMatchObject({ step: 3, detector: 'proxy_auditor_divergence', mode: 'act', action: 'lower-lr', factor: 0.5, value: 5, firingSteps: 2 });
    // Still firing: no second decision until the detector clears and trips again.
    expect(g.observe(4, 0.7, firing)).toBeNull();
    expect(g.observe(5, 0.7, quiet)).toBeNull();
    expect(g.observe(6, 0.7, trip)).toBeNull();
    // The second rollback is past maxRollbacks (1): the guard stops the run instead.
    expect(g.observe(7, 0.7, firing)?.action).toBe('stop');
    expect(g.rollbacks).toBe(2);
  });

  it('does not confirm a trip that clears at once, and never decides with mode off', () => {
    const g = new Guard(OPTIONS);
    expect(g.observe(1, 0.9, trip)).toBeNull();
    expect(g.observe(2, 0.9, quiet)).toBeNull();
    expect(g.observe(3, 0.9, firing)).toBeNull(); // firing again without a new trip: not an episode
    const off = new Guard({ ...OPTIONS, mode: 'off', persistence: 1 });
    expect(off.observe(1, 0.9, trip)).toBeNull();
    const warn = new Guard({ ...OPTIONS, mode: 'warn', persistence: 1 });
    expect(warn.observe(1, 0.9, trip)).toMatchObject({ mode: 'warn' });
    expect(warn.rollbacks).toBe(0);
  });

  it('remembers trailing auditor scores per step for the rollback choice, and continues from its state', () => {
    const g = new Guard({ ...OPTIONS, persistence: 1 });
    const scores = [0.8, 0.9, 1.0, 0.7, 0.4, 0.3];
    scores.forEach((s, i) => g.observe(i + 1, s, quiet));
    const restored = new Guard({ ...OPTIONS, persistence: 1 }, JSON.parse(JSON.stringify(g.state())) as unknown);
    const d = restored.observe(7, 0.3, trip);
    expect(d).not.toBeNull();
    // Trailing means over 3 audited steps: step 3 = (0.8 + 0.9 + 1.0) / 3 = 0.9, step 4 = 0.8667, step 2 = 0.85.
    expect(d?.scores.get(3)).toBeCloseTo(0.9, 12);
    expect(bestCheckpoint([2, 4, 6], d?.scores ?? new Map(), 7)).toBe(4);
    expect(bestCheckpoint([2, 3, 4, 6], d?.scores ?? new Map(), 7)).toBe(3);
    expect(() => new Guard(OPTIONS, { firing: -1 })).toThrow();
  });
});

describe('bestCheckpoint', () => {
  const scores = new Map([
    [2, 0.5],
    [4, 0.9],
    [8, 0.95],
  ]);
  it('takes the best score before the signal, a checkpoint between audits the latest score at or before it', () => {
    expect(bestCheckpoint([5, 10], scores, 12)).toBe(10); // 10 → 0.95 (step 8), 5 → 0.9 (step 4)
    expect(bestCheckpoint([5, 10], scores, 10)).toBe(5); // 10 is not before the signal
    expect(bestCheckpoint([1], scores, 10)).toBeNull(); // nothing scored at or before step 1
    expect(bestCheckpoint([], scores, 10)).toBeNull();
  });
});
