/** videoSignals on rendered videos with known latents: velocity from sparse frames, defect severities ranked, edge cases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { Perception, videoSignals, type FramePerception } from '../../src/judge/backends/embedded/perception/index.js';
import { DEFECTS, DEFECT_OFFSET, decodeLatent, idealLatent, parsePrompt, renderScene } from '../../src/world/index.js';
import { RM_V2, frameOf } from './helpers.js';

let perception: Perception;
beforeAll(async () => {
  perception = await Perception.create(RM_V2);
});
afterAll(async () => {
  await perception.close();
});

/** Perceives `indices` of a 24-frame render of `latent`. */
async function perceiveVideo(latent: Float32Array, indices: readonly number[], patternSeed = 3): Promise<FramePerception[]> {
  const video = renderScene(decodeLatent(latent), { frames: 24, fps: 8, patternSeed });
  return perception.perceive(
    indices.map((f) => ({ index: f, rgb: frameOf(video.data, f) })),
    64,
    64,
  );
}

/** 8 distinct sorted frame indices of 24, drawn with a seeded RNG. */
function sparse(rng: Rng): number[] {
  return rng
    .shuffle(Array.from({ length: 24 }, (_, i) => i))
    .slice(0, 8)
    .sort((a, b) => a - b);
}

const UNIFORM_8 = [0, 3, 7, 10, 13, 16, 20, 23];

describe('videoSignals', () => {
  it('recovers the velocity direction of clean moving objects from 8 sparse frames', async () => {
    const rng = Rng.fromSeed(5);
    const cases = [
      ['a red circle moving left fast on a gray background', -1, 0],
      ['a blue square moving right slowly on a beige background', 1, 0],
      ['a green triangle moving up fast on a black background', 0, -1],
      ['a white cross moving down slowly on a maroon background', 0, 1],
      ['a yellow diamond staying still on a navy background', 0, 0],
    ] as const;
    for (const [text, dx, dy] of cases) {
      const latent = idealLatent(parsePrompt(text), rng);
      const s = videoSignals(await perceiveVideo(latent, sparse(rng)), 64, 64);
      const v = s.velocity[0];
      if (v === undefined) throw new Error(`no track for ${text}`);
      expect(v.samples, text).toBe(8);
      expect(v.fitResidualPx, text).toBeLessThan(0.3);
      if (dx === 0 && dy === 0) expect(Math.hypot(v.vx, v.vy), text).toBeLessThan(0.15);
      else {
        expect(v.vx * dx + v.vy * dy, text).toBeGreaterThan(0.4);
        expect(Math.abs(dx !== 0 ? v.vy : v.vx), text).toBeLessThan(0.15);
      }
    }
  });

  it('tracks two objects separately', async () => {
    const latent = idealLatent(parsePrompt('a red circle moving right fast and a cyan square moving down slowly on a navy background'), Rng.fromSeed(8));
    const s = videoSignals(await perceiveVideo(latent, UNIFORM_8), 64, 64);
    expect(s.velocity).toHaveLength(2);
    const right = s.velocity.find((v) => v.vx > 0.8);
    const down = s.velocity.find((v) => v.vy > 0.4 && Math.abs(v.vx) < 0.15);
    expect(right?.samples).toBeGreaterThanOrEqual(7);
    expect(down?.samples).toBeGreaterThanOrEqual(7);
  });

  it('ranks defect severities: each defective video scores higher on its defect than the clean one', async () => {
    const base = idealLatent(parsePrompt('a yellow square moving right slowly on a navy background'), Rng.fromSeed(12));
    const clean = videoSignals(await perceiveVideo(base, UNIFORM_8), 64, 64);
    for (const d of DEFECTS) expect(clean[d], `clean ${d}`).toBeLessThan(0.25);
    expect(clean.confidence).toBeGreaterThan(0.6);
    for (const [i, d] of DEFECTS.entries()) {
      const estimates: number[] = [];
      for (const severity of [0.5, 1, 1.5]) {
        const latent = Float32Array.from(base);
        latent[DEFECT_OFFSET + i] = severity;
        const s = videoSignals(await perceiveVideo(latent, UNIFORM_8), 64, 64);
        estimates.push(s[d]);
        for (const other of DEFECTS) if (other !== d) expect(s[other], `${other} when only ${d} = ${severity}`).toBeLessThan(0.4);
      }
      const [lo, mid, hi] = estimates as [number, number, number];
      expect(lo, d).toBeGreaterThan(clean[d]);
      expect(mid, d).toBeGreaterThan(lo);
      expect(hi, d).toBeGreaterThan(mid);
      expect(Math.abs(mid - 1), `${d} at severity 1`).toBeLessThan(0.45);
    }
  });

  it('handles empty and unsorted input', async () => {
    const empty = videoSignals([], 64, 64);
    expect(empty).toMatchObject({ velocity: [], jitter: 0, flicker: 0, blur: 0, noise: 0, confidence: 0 });
    const latent = idealLatent(parsePrompt('a pink circle moving left slowly on a forest background'), Rng.fromSeed(3));
    const frames = await perceiveVideo(latent, UNIFORM_8);
    const sorted = videoSignals(frames, 64, 64);
    const shuffled = videoSignals(Rng.fromSeed(1).shuffle([...frames]), 64, 64);
    expect(shuffled).toEqual(sorted);
    const few = videoSignals(frames.slice(0, 2), 64, 64);
    expect(few.confidence).toBeLessThan(sorted.confidence);
  });
});
