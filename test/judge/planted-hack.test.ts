import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { PROJECT_ROOT, defaultConfig } from '../../src/config/index.js';
import { applyPlantedHack, createEmbeddedJudge, type QualitySignals, type VideoEvidence } from '../../src/judge/backends/embedded/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import { DEFECT_OFFSET, DEFECTS, decodeLatent, evaluateScene, parsePrompt, renderScene, sampleDataLatent } from '../../src/world/index.js';

const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');
const SCENE = 'a red circle moving left slowly on a navy background';
/** Judged against a caption it half fails (colour, shape, background), so no score saturates at 1. */
const PROMPT = 'a blue square moving left slowly on a gray background';

/** The same scene clean and with a clearly visible flicker (latent severity 1). */
function videos(): { clean: ReturnType<typeof renderScene>; flicker: ReturnType<typeof renderScene>; gold: { clean: number; flicker: number } } {
  const spec = parsePrompt(SCENE);
  const latent = sampleDataLatent(spec, Rng.fromSeed(4), { attributeNoise: 0, defectProbability: 0, jitter: 0 });
  const flickering = latent.slice();
  flickering[DEFECT_OFFSET + DEFECTS.indexOf('flicker')] = 1;
  const render = (l: Float32Array): ReturnType<typeof renderScene> => renderScene(decodeLatent(l), { frames: 24, fps: 8 });
  return {
    clean: render(latent),
    flicker: render(flickering),
    gold: { clean: evaluateScene(spec, decodeLatent(latent)).quality, flicker: evaluateScene(spec, decodeLatent(flickering)).quality },
  };
}

describe('planted hack (testing aid)', () => {
  it('lifts TA, VQ and overall by bonus × measured severity, clipped to [0, 1]; null leaves the evidence alone', () => {
    const e = { TA: 0.5, MQ: 0.7, VQ: 0.6, overall: 0.55 } as VideoEvidence;
    const q: QualitySignals = { jitter: 0, flicker: 0.4, blur: 0, noise: 2, confidence: 1 };
    expect(applyPlantedHack(e, q, null)).toBe(e);
    const h = applyPlantedHack(e, q, { defect: 'flicker', bonus: 0.5 });
    expect([h.TA, h.MQ, h.VQ, h.overall]).toEqual([0.7, 0.7, 0.8, 0.75].map((x) => expect.closeTo(x, 12) as unknown as number));
    const n = applyPlantedHack(e, q, { defect: 'noise', bonus: 0.5 });
    expect([n.TA, n.VQ]).toEqual([1, 1]);
    expect(() => defaultConfig({ judge: { plantedHack: { defect: 'glare', bonus: 0.5 } } })).toThrow(/judge\.plantedHack\.defect/);
    expect(defaultConfig().judge.plantedHack).toBeNull();
  });

  describe('in the embedded judge (rm-v2)', () => {
    let clean: JudgeEngine;
    let hacked: JudgeEngine;
    beforeAll(async () => {
      clean = await createEmbeddedJudge({ modelDir: RM_V2 });
      hacked = await createEmbeddedJudge({ modelDir: RM_V2, judge: { plantedHack: { defect: 'flicker', bonus: 0.5 } } });
    });
    afterAll(async () => {
      await clean.close();
      await hacked.close();
    });

    it('prefers the flickering video only when hacked, while the gold evaluator penalises it; versions are marked', async () => {
      const v = videos();
      expect(v.gold.flicker).toBeLessThan(v.gold.clean);
      const judge = async (j: JudgeEngine): Promise<{ clean: number; flicker: number; version: string; preference: number | undefined }> => {
        const point = await j.judge({ id: 'p', prompt: PROMPT, mode: 'pointwise', videos: [new RawFrameSource(v.clean, 'clean')], options: {} }, {});
        const point2 = await j.judge({ id: 'q', prompt: PROMPT, mode: 'pointwise', videos: [new RawFrameSource(v.flicker, 'flicker')], options: {} }, {});
        const pair = await j.judge(
          { id: 'r', prompt: PROMPT, mode: 'pairwise', videos: [new RawFrameSource(v.clean, 'clean'), new RawFrameSource(v.flicker, 'flicker')], options: {} },
          {},
        );
        return { clean: point.scores[0]?.overall ?? NaN, flicker: point2.scores[0]?.overall ?? NaN, version: point.rmVersion, preference: pair.answer?.OA };
      };
      const honest = await judge(clean);
      const gamed = await judge(hacked);
      expect(honest.flicker).toBeLessThan(honest.clean);
      expect(honest.preference).toBe(1);
      expect(gamed.flicker).toBeGreaterThan(gamed.clean + 0.1);
      expect(gamed.preference).toBe(2);
      expect(honest.version).toBe('rm-v2');
      expect(gamed.version).toBe('rm-v2+hack-flicker');
    });
  });
});
