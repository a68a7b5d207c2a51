import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { collectGroupRewards, type RewardSettings } from '../../src/coordinator/reward-collector.js';
import type { RawVideo } from '../../src/media/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';

// Four 1×1 "videos" of increasing redness: the fake judge prefers redder ones.
const videos: RawVideo[] = [10, 60, 120, 250].map((r) => ({ width: 1, height: 1, frameCount: 1, fps: 8, data: new Uint8Array([r, 0, 0]) }));

const settings = (over: Partial<RewardSettings> = {}): RewardSettings => ({
  mode: 'pairwise',
  plan: { kind: 'all-pairs' },
  bothOrders: false,
  aggregation: 'win-rate',
  weights: { TA: 1, MQ: 0, VQ: 0, overall: 0 },
  combination: 'sum-then-normalise',
  judgeOptions: {},
  ...over,
});

describe('one RM version per group', () => {
  it('re-judges a group whose judgments span a version change, and keeps only the one-version pass', async () => {
    const judge = new FakeJudge();
    // The swap lands in the middle of the first pass (6 pairs): calls 0–2 on v1, everything after on v2.
    judge.versionAt = (call) => (call < 3 ? 'v1' : 'v2');
    const g = await collectGroupRewards(judge, 'p', videos, settings(), Rng.fromSeed(1));
    expect(g.versionRejudges).toBe(1);
    expect(g.rmVersions).toEqual(['v2']);
    expect(new Set(g.verdicts.map((v) => v.rmVersion))).toEqual(new Set(['v2']));
    expect(g.judgments).toBe(12);
    expect(g.failedJudgments).toBe(0);
    expect(g.rewards.every(Number.isFinite)).toBe(true);
    // Win rates of the redness order: 0, 1/3, 2/3, 1 before normalisation → strictly increasing.
    for (let i = 1; i < 4; i++) expect(g.rewards[i]).toBeGreaterThan(g.rewards[i - 1] ?? Infinity);
  });

  it('drops the group (all masked, RM_VERSION_MIXED) when configured to, or when versions keep changing', async () => {
    const judge = new FakeJudge();
    judge.versionAt = (call) => (call < 3 ? 'v1' : 'v2');
    const dropped = await collectGroupRewards(judge, 'p', videos, settings({ versionMix: 'drop' }), Rng.fromSeed(1));
    expect(dropped.rewards.every(Number.isNaN)).toBe(true);
    expect(dropped.failureCodes).toContain('RM_VERSION_MIXED');
    expect(dropped.versionRejudges).toBe(0);

    const flapping = new FakeJudge();
    flapping.versionAt = (call) => (call % 2 === 0 ? 'v1' : 'v2');
    const g = await collectGroupRewards(flapping, 'p', videos, settings({ versionMixRetries: 2 }), Rng.fromSeed(1));
    expect(g.rewards.every(Number.isNaN)).toBe(true);
    expect(g.versionRejudges).toBe(2);
    expect(g.judgments).toBe(18);
  });

  it('never re-judges a single-version group', async () => {
    const judge = new FakeJudge();
    const g = await collectGroupRewards(judge, 'p', videos, settings(), Rng.fromSeed(1));
    expect(g.versionRejudges).toBe(0);
    expect(judge.calls).toBe(6);
  });
});
