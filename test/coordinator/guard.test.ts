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

  it("remembers the auditors' score of every audited step for the rollback choice, and continues from its state", () => {
    const g = new Guard({ ...OPTIONS, persistence: 1 });
    const scores = [0.8, 0.9, 1.0, 0.7, 0.4, 0.3];
    scores.forEach((s, i) => g.observe(i + 1, s, quiet));
    const restored = new Guard({ ...OPTIONS, persistence: 1 }, JSON.parse(JSON.stringify(g.state())) as unknown);
    const d = restored.observe(7, 0.3, trip);
    expect(d).not.toBeNull();
    expect([...(d?.scores ?? [])]).toEqual([...scores, 0.3].map((s, i) => [i + 1, s]));
    // Checkpoint 2 → steps 3–5: (1.0 + 0.7 + 0.4) / 3 = 0.7; 4 → 0.333; 6 → 0.3; checkpoint 1 → steps 2–4: 0.867.
    expect(bestCheckpoint([2, 4, 6], d?.scores ?? new Map(), 7)).toBe(2);
    expect(bestCheckpoint([1, 2, 3, 4, 6], d?.scores ?? new Map(), 7)).toBe(1);
    // A state written by an older version (with its trailing means) still restores.
    expect(new Guard(OPTIONS, { firing: 0, tripped: false, rollbacks: 1, recent: [0.5], scores: [[3, 0.5]] }).rollbacks).toBe(1);
    expect(() => new Guard(OPTIONS, { firing: -1 })).toThrow();
  });
});

describe('bestCheckpoint', () => {
  it('scores a checkpoint by the audits of the videos its policy and the next two made, before the signal', () => {
    // The policy after update 6 made the best videos (steps 7 and 8): checkpoint 6 (steps 7–9: 0.933) beats 4 (5–7:
    // 0.85) and 8 (9–10: 0.75), though the audits *at* step 8 are the best — they measure the policy before update 8.
    const scores = new Map([0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.95, 0.95, 0.9, 0.6].map((s, i) => [i + 1, s] as [number, number]));
    expect(bestCheckpoint([2, 4, 6, 8], scores, 11)).toBe(6);
    expect(bestCheckpoint([2, 4, 8], scores, 11)).toBe(4);
    expect(bestCheckpoint([2, 4, 6, 8], scores, 6)).toBe(4); // 6 is not before the signal
    expect(bestCheckpoint([], scores, 10)).toBeNull();
  });

  it('falls back to the latest audit at or before a checkpoint when none follows it closely', () => {
    const sparse = new Map([
      [5, 0.9],
      [10, 0.5],
    ]);
    expect(bestCheckpoint([6, 9], sparse, 12)).toBe(6); // 6 → step 5's 0.9 (nothing in 7–9); 9 → step 10's 0.5
    expect(bestCheckpoint([1], sparse, 12)).toBeNull(); // nothing in 2–4, nothing at or before 1
  });
});
