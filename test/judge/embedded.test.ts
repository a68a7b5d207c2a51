import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, deriveSeed } from '../../src/common/rng.js';
import { silentLogger } from '../../src/common/logger.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { createEmbeddedJudge } from '../../src/judge/backends/embedded/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import { RewardServerClient } from '../../src/reward-client/index.js';
import { RewardServer } from '../../src/reward-server/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, goldScores, promptText, renderScene, sampleDataLatent } from '../../src/world/index.js';
import { runJudgeServiceContract } from './contract.js';

const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');

runJudgeServiceContract('embedded (rm-v2)', () => createEmbeddedJudge({ modelDir: RM_V2 }));

interface Pair {
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  readonly better: 1 | 2;
}

/** Held-out pairs from the imperfect data distribution whose gold overall scores differ clearly. */
function clearPairs(n: number, seed: number): Pair[] {
  const specs = new PromptGenerator({ seed, split: 'heldout', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  const rng = Rng.fromSeed(deriveSeed(seed, 1));
  const out: Pair[] = [];
  for (let tries = 0; out.length < n && tries < 20 * n; tries++) {
    const spec = specs.next();
    const la = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    const lb = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    const ga = goldScores(evaluateScene(spec, decodeLatent(la))).overall;
    const gb = goldScores(evaluateScene(spec, decodeLatent(lb))).overall;
    if (Math.abs(ga - gb) < 0.15) continue;
    const render = (l: Float32Array): RawVideo => renderScene(decodeLatent(l), { frames: 24, fps: 8 });
    out.push({ prompt: promptText(spec), a: render(la), b: render(lb), better: ga > gb ? 1 : 2 });
  }
  return out;
}

describe('embedded judge (rm-v2) on held-out gold pairs', () => {
  let judge: JudgeEngine;
  beforeAll(async () => {
    judge = await createEmbeddedJudge({ modelDir: RM_V2 });
  });
  afterAll(async () => {
    await judge.close();
  });

  it('prefers the gold-better video on clear pairs, viewing few frames and citing only frames it saw', async () => {
    const pairs = clearPairs(40, 5);
    let correct = 0;
    let frames = 0;
    let unseen = 0;
    for (const [i, p] of pairs.entries()) {
      const v = await judge.judge({
        id: `e${i}`,
        prompt: p.prompt,
        mode: 'pairwise',
        videos: [new RawFrameSource(p.a, 'a'), new RawFrameSource(p.b, 'b')],
        options: {},
      });
      if (v.answer?.OA === p.better) correct += 1;
      frames += v.framesViewed.reduce((s, f) => s + f.length, 0);
      unseen += v.hallucinations.filter((h) => h.kind === 'unseen_frame_reference').length;
    }
    expect(correct / pairs.length).toBeGreaterThanOrEqual(0.8);
    expect(frames / pairs.length).toBeLessThanOrEqual(16);
    expect(unseen).toBe(0);
  });
});

describe('reward server with the embedded judge (real loopback)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vrgrpo-e2e-'));
  let server: RewardServer;
  let media: Media;
  let service: JudgeEngine;
  beforeAll(async () => {
    media = await Media.create();
    service = await createEmbeddedJudge({ modelDir: RM_V2 });
    server = await RewardServer.start({ service, media, log: silentLogger(), artifactRoot: root, token: 'secret' });
  });
  afterAll(async () => {
    await server.close();
    await service.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('judges an inline video against an MP4 under the artifact root, streaming turns', async () => {
    const [p] = clearPairs(1, 9);
    if (p === undefined) throw new Error('no pair');
    const file = join(root, 'b.mp4');
    await media.encodeMp4(p.b, file);
    const client = await RewardServerClient.connect(server.url, { token: 'secret' });
    try {
      expect(client.hello.rmVersion).toBe('rm-v2');
      await client.sendInlineVideo('a', p.a);
      const turns: number[] = [];
      const v = await client.judge(
        { id: 'x1', prompt: p.prompt, mode: 'pairwise', videos: [{ inline: 'a' }, { uri: pathToFileURL(file).href }], options: { stream: true, trace: true } },
        { onTurn: (t) => turns.push(t.index) },
      );
      expect(v.answer?.OA).toBe(p.better);
      expect(turns.length).toBeGreaterThan(0);
      expect(turns).toEqual((v.turns ?? []).map((t) => t.index));
      expect(v.rmVersion).toBe('rm-v2');
    } finally {
      await client.close();
    }
  });
});
