import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  PerPromptStatTracker,
  bradleyTerry,
  combineDimensions,
  groupAdvantages,
  planComparisons,
  trackedAdvantages,
  winRates,
  type ComparisonOutcome,
} from '../../src/grpo/index.js';

describe('group advantages', () => {
  it('normalises by the group std (hand-computed)', () => {
    // group [1, 2, 3]: mean 2, population std √(2/3) = 0.816497
    const { advantages, zeroStdGroups } = groupAdvantages([[1, 2, 3]], { epsilon: 0 });
    const s = Math.sqrt(2 / 3);
    expect(advantages[0]?.map((a) => a ?? NaN)).toEqual([-1 / s, 0, 1 / s].map((x) => expect.closeTo(x, 10) as unknown as number));
    expect(zeroStdGroups).toBe(0);
  });

  it('uses the batch std, or none (Dr. GRPO), and clips', () => {
    // batch values [0, 2, 10, 10]: std = √(((−5.5)² + (−3.5)² + 4.5² + 4.5²)/4) = √(18.25+…)…
    const groups = [
      [0, 2],
      [10, 10],
    ];
    const all = [0, 2, 10, 10];
    const m = all.reduce((a, b) => a + b) / 4;
    const bs = Math.sqrt(all.reduce((s, x) => s + (x - m) ** 2, 0) / 4);
    const batch = groupAdvantages(groups, { std: 'batch', epsilon: 0 });
    expect(batch.advantages[0]?.[0]).toBeCloseTo(-1 / bs, 10);
    expect(batch.advantages[1]).toEqual([0, 0]);
    expect(batch.zeroStdGroups).toBe(1);
    const none = groupAdvantages([[0, 4]], { std: 'none' });
    expect(none.advantages[0]).toEqual([-2, 2]);
    const clipped = groupAdvantages([[0, 100]], { std: 'none', clip: 5 });
    expect(clipped.advantages[0]).toEqual([-5, 5]);
  });

  it('masks failed videos (NaN) and drops groups with fewer than 2 valid rewards', () => {
    const r = groupAdvantages(
      [
        [1, NaN, 3],
        [5, NaN, NaN],
      ],
      { epsilon: 0 },
    );
    expect(r.advantages[0]).toEqual([-1, null, 1]);
    expect(r.advantages[1]).toEqual([null, null, null]);
    expect(r.droppedGroups).toEqual([1]);
    expect(r.maskedVideos).toBe(3);
  });
});

describe('per-prompt stat tracker', () => {
  it('uses the group until the history is long enough, then the history; state round-trips', () => {
    const t = new PerPromptStatTracker(4, 3);
    expect(t.update('p', [1, 3])).toEqual({ mean: 2, std: 1 });
    expect(t.update('p', [5])).toEqual({ mean: 3, std: Math.sqrt(8 / 3) });
    t.update('p', [7, 9]); // buffer keeps the last 4: [3, 5, 7, 9]
    const copy = new PerPromptStatTracker(4, 3, t.state());
    expect(copy.update('p', [11])).toEqual(t.update('p', [11]));
    expect(t.state().buffers.p).toEqual([5, 7, 9, 11]);
  });

  it('scales each group by its prompt history, centres it on the group, clips and masks (hand-computed)', () => {
    const t = new PerPromptStatTracker(4, 3);
    t.update('p', [0, 4]); // history [0, 4]
    // p: history [0, 4, 2, 4] → mean 2.5, std √((6.25 + 2.25 + 0.25 + 2.25)/4) = √2.75; the group [2, 4] is centred on
    // its own mean 3 (not the history's 2.5: only the history's spread counts).
    // q: first group, too short a history → its own std 1 (group [5, NaN, 7]); the NaN stays masked.
    const r = trackedAdvantages(
      t,
      ['p', 'q'],
      [
        [2, 4],
        [5, NaN, 7],
      ],
      { epsilon: 0, clip: 5 },
    );
    const s = Math.sqrt(2.75);
    expect(r.advantages[0]).toEqual([expect.closeTo(-1 / s, 10), expect.closeTo(1 / s, 10)]);
    expect(r.advantages[1]).toEqual([-1, null, 1]);
    expect(r.maskedVideos).toBe(1);
    expect(t.state().buffers).toEqual({ p: [0, 4, 2, 4], q: [5, 7] });
    // A near-flat history (63 ones and one 1.001: std ≈ 1.2e-4) turns a 0.001 spread into ±4, clipped at ±2.
    const flat = new PerPromptStatTracker(64, 1);
    flat.update('f', new Array<number>(62).fill(1));
    expect(trackedAdvantages(flat, ['f'], [[1, 1.001]], { epsilon: 0, clip: 2 }).advantages[0]).toEqual([-2, 2]);
  });
});

describe('pairwise → rewards', () => {
  it('plans all pairs or k opponents, both orders on request, deterministically', () => {
    const all = planComparisons(4, { kind: 'all-pairs' }, { bothOrders: false, rng: Rng.fromSeed(1) });
    expect(all).toHaveLength(6);
    expect(new Set(all.map((c) => [c.first, c.second].sort().join()))).toEqual(new Set(['0,1', '0,2', '0,3', '1,2', '1,3', '2,3']));
    const both = planComparisons(4, { kind: 'all-pairs' }, { bothOrders: true, rng: Rng.fromSeed(1) });
    expect(both).toHaveLength(12);
    const k = planComparisons(8, { kind: 'k-opponents', k: 2 }, { bothOrders: false, rng: Rng.fromSeed(2) });
    const degree = new Array<number>(8).fill(0);
    for (const c of k) {
      degree[c.first] = (degree[c.first] ?? 0) + 1;
      degree[c.second] = (degree[c.second] ?? 0) + 1;
    }
    expect(Math.min(...degree)).toBeGreaterThanOrEqual(2);
    expect(planComparisons(8, { kind: 'k-opponents', k: 2 }, { bothOrders: false, rng: Rng.fromSeed(2) })).toEqual(k);
  });

  it('computes win-rates with ties as one half and failures excluded', () => {
    const o: ComparisonOutcome[] = [
      { first: 0, second: 1, winner: 1 },
      { first: 0, second: 2, winner: 0 },
      { first: 1, second: 2, winner: 2 },
      { first: 2, second: 3, winner: null },
    ];
    expect(winRates(4, o)).toEqual([0.75, 0, 0.75, NaN]);
  });

  it('fits Bradley–Terry strengths that order a known transitive graph and match the closed form for two players', () => {
    // Each pair (a < b) played three times: a wins twice, b (shown first) once.
    const o: ComparisonOutcome[] = [];
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++) o.push({ first: a, second: b, winner: 1 }, { first: a, second: b, winner: 1 }, { first: b, second: a, winner: 1 });
    const s = bradleyTerry(4, o);
    expect(s[0]).toBeGreaterThan(s[1] ?? Infinity);
    expect(s[1]).toBeGreaterThan(s[2] ?? Infinity);
    expect(s[2]).toBeGreaterThan(s[3] ?? Infinity);
    // Two players, 3 wins to 1 (plus the half-win priors 0.5 each against a strength-1 virtual player).
    const two = bradleyTerry(2, [
      { first: 0, second: 1, winner: 1 },
      { first: 0, second: 1, winner: 1 },
      { first: 0, second: 1, winner: 1 },
      { first: 0, second: 1, winner: 2 },
    ]);
    expect((two[0] ?? 0) + (two[1] ?? 0)).toBeCloseTo(0, 10);
    expect(two[0]).toBeGreaterThan(0.4);
    expect(two[0]).toBeLessThan(Math.log(3));
  });
});

describe('reward combination', () => {
  it('weights dimensions, before or after per-dimension normalisation', () => {
    const r = { TA: [1, 0], MQ: [0, 1] };
    expect(combineDimensions(r, { TA: 0.75, MQ: 0.25 }, 'sum-then-normalise')).toEqual([0.75, 0.25]);
    expect(combineDimensions(r, { TA: 0.75, MQ: 0.25 }, 'normalise-then-sum')).toEqual([0.5, -0.5]);
    expect(combineDimensions({ TA: [1, NaN] }, { TA: 1 }, 'sum-then-normalise')[1]).toBeNaN();
  });
});
