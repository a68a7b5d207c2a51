/**
 * A partial answer (the released VR-Thinker's bare `\boxed{n}`: overall only) from a real VLM conversation flows over a
 * real reward server (protocol v2) and the reward pool into the coordinator's group rewards: the verdict carries OA and
 * nothing else, the other dimensions stay "not given" (NaN), and the combined reward renormalises onto overall.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { collectGroupRewards, type RewardSettings } from '../../src/coordinator/reward-collector.js';
import { createVlmJudge } from '../../src/judge/backends/vlm/index.js';
import type { RawVideo } from '../../src/media/index.js';
import { RewardClientPool } from '../../src/reward-client/pool.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import { ArtifactFixture, startServer } from '../reward-server/helpers.js';
import { ScriptedChatServer, decodeImageUrl, sentImages, text, type ChatBody } from '../judge/scripted-chat-server.js';

/** Frames of one flat brightness: the scripted judge prefers the brighter video. */
function video(level: number): RawVideo {
  return { width: 16, height: 16, frameCount: 12, fps: 8, data: new Uint8Array(16 * 16 * 3 * 12).fill(level) };
}

/**
 * Answers like the released model's GRPO ending: reasoning, then a bare `\boxed{n}` (overall only, nothing per
 * dimension), choosing the brighter of the two videos by the red value of the images it was sent.
 */
function boxedScript(body: ChatBody): ReturnType<typeof text> {
  const images = sentImages(body).map((i) => decodeImageUrl(i.url).red);
  const half = Math.floor(images.length / 2);
  const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const first = mean(images.slice(0, half));
  const second = mean(images.slice(half));
  const winner = first > second ? 1 : second > first ? 2 : 0;
  return text(`<synthesis>Compared ${images.length} frames.</synthesis><think>One video is brighter.</think>\n\\boxed{${winner}}`);
}

describe('an overall-only verdict through the reward server and the pool into group rewards', () => {
  let fixture: ArtifactFixture;
  let chat: ScriptedChatServer;
  let server: RewardServer;
  let pool: RewardClientPool;

  beforeAll(async () => {
    fixture = await ArtifactFixture.create();
    chat = await ScriptedChatServer.start(boxedScript);
    const service = await createVlmJudge({
      vlm: { baseUrl: chat.baseUrl, model: 'vr-thinker', imageFormat: 'png', initialMaxPixels: 3136, selectedMaxPixels: 3136 },
      env: {},
    });
    ({ server } = await startServer(fixture, { service }));
    pool = await RewardClientPool.create({ urls: [server.url] });
  });
  afterAll(async () => {
    await pool.close();
    await server.close();
    await chat.close();
    fixture.remove();
  });

  it('keeps only OA in the verdict and rewards videos by overall, without invented dimensions', async () => {
    const videos = [video(40), video(200), video(120)];
    const settings: RewardSettings = {
      mode: 'pairwise',
      plan: { kind: 'all-pairs' },
      bothOrders: false,
      aggregation: 'win-rate',
      // The default weights: overall carries no weight of its own.
      weights: { TA: 1, MQ: 0.25, VQ: 0.25, overall: 0 },
      combination: 'sum-then-normalise',
      judgeOptions: {},
    };
    const g = await collectGroupRewards(pool, 'a bright scene', videos, settings, Rng.fromSeed(3));
    expect(g.failedJudgments).toBe(0);
    expect(g.verdicts).toHaveLength(3);
    for (const v of g.verdicts) {
      // Exactly what the model said: OA, no TA/MQ/VQ/CF.
      expect(Object.keys(v.answer ?? {})).toEqual(['OA']);
      for (const s of v.scores) expect(Object.keys(s).sort()).toEqual(['overall']);
    }
    // Win-rates by overall: the brightest video won both its comparisons, the darkest lost both.
    expect(g.perDimension.overall).toEqual([0, 1, 0.5]);
    for (const d of ['TA', 'MQ', 'VQ'] as const) expect(g.perDimension[d].every(Number.isNaN)).toBe(true);
    // Renormalised onto overall with the full weight total (1.5), so the scale matches a complete answer's.
    expect(g.rewards).toEqual([0, 1.5, 0.75]);
  });
});
