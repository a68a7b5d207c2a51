/**
 * The recent groups a calibrated swap shadow-scores (src/coordinator/recent-groups.ts): the newest group per prompt,
 * bounded, frames only; re-judged through a judge client, a group answered by a version outside the swap is skipped.
 */
import { describe, expect, it } from 'vitest';
import { RecentGroups, shadowScore } from '../../src/coordinator/recent-groups.js';
import { rewardSettingsFromConfig, type JudgeClient, type RewardSettings } from '../../src/coordinator/reward-collector.js';
import type { RawVideo, VideoFileRef } from '../../src/media/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../../src/reward-client/pool.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';

const video = (shade: number): RawVideo => ({ width: 2, height: 2, frameCount: 1, fps: 8, data: new Uint8Array(12).fill(shade) });
const group = (step: number, prompt: string, rmVersions = ['rm-v2']) => ({
  step,
  prompt,
  videos: [video(10), video(200)],
  rewards: [0.2, 0.8],
  rmVersions,
});

describe('RecentGroups', () => {
  it('keeps the newest group per prompt, at most `capacity`, oldest out first', () => {
    const r = new RecentGroups(2);
    r.remember(group(1, 'a'));
    r.remember(group(1, 'b'));
    r.remember(group(2, 'a'));
    r.remember(group(2, 'c'));
    expect(r.size).toBe(2);
    expect(r.judgedWithout(['rm-v1']).map((g) => [g.prompt, g.step])).toEqual([
      ['a', 2],
      ['c', 2],
    ]);
  });

  it('skips groups held by reference, with no finite reward, or judged by the new version', () => {
    const r = new RecentGroups(8);
    const ref: VideoFileRef = { uri: 'file:///x.mp4', width: 2, height: 2, frameCount: 1, fps: 8 } as VideoFileRef;
    r.remember({ ...group(1, 'by-ref'), videos: [ref, video(1)] });
    r.remember({ ...group(1, 'masked'), rewards: [Number.NaN, Number.NaN] });
    r.remember(group(1, 'new', ['rm-v1']));
    r.remember(group(1, 'old'));
    expect(r.judgedWithout(['rm-v1']).map((g) => g.prompt)).toEqual(['old']);
    expect(new RecentGroups(0).size).toBe(0);
  });

  it('shadow-scores through the judge client; a group answered by another version, or failing, is left out', async () => {
    // The fake judge scores redness; the requests of prompt "lagging" reach a server still on the old version, and
    // those of prompt "down" fail.
    const judge = new FakeJudge((_call, request) => request.prompt === 'down');
    judge.rmVersion = 'fake-v2';
    const client: JudgeClient = {
      judge: async (request: PoolJudgeRequest): Promise<PooledVerdict> => {
        const r = await judge.judge(request);
        return request.prompt === 'lagging' ? { ...r, verdict: { ...r.verdict, rmVersion: 'fake-v1' } } : r;
      },
    };
    const settings: RewardSettings = { ...rewardSettingsFromConfig(v1Config()), mode: 'pointwise' };
    const red = (v: number): RawVideo => ({ width: 2, height: 2, frameCount: 1, fps: 8, data: new Uint8Array([v, 0, 0, v, 0, 0, v, 0, 0, v, 0, 0]) });
    const r = new RecentGroups(4);
    for (const prompt of ['kept', 'lagging', 'down']) r.remember({ ...group(1, prompt, ['fake-v1']), videos: [red(0), red(255)] });
    const out = await shadowScore(client, r.judgedWithout(['fake-v2']), settings, { seed: 1, step: 3, newVersions: ['fake-v2'] });
    expect(out.skipped).toBe(2);
    expect(out.groups.map((g) => g.prompt)).toEqual(['kept']);
    const kept = out.groups[0];
    expect(kept?.before).toEqual([0.2, 0.8]);
    // The new scores rank the redder video first, as the fake judge does.
    expect((kept?.after[1] ?? NaN) > (kept?.after[0] ?? NaN)).toBe(true);
  });
});
