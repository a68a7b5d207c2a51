import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  DEFECT_OFFSET,
  LATENT_DIM,
  OBJECT_COLOURS,
  SLOT,
  decodeLatent,
  evaluateScene,
  idealLatent,
  objectPosition,
  parsePrompt,
  renderScene,
  type Scene,
  type SceneObject,
} from '../../src/world/index.js';

const hash = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
const opts = { frames: 24, fps: 8 };

function scene(
  objects: SceneObject[],
  background: [number, number, number] = [0.04, 0.04, 0.04],
  defects = { blur: 0, noise: 0, jitter: 0, flicker: 0 },
): Scene {
  return { width: 64, height: 64, objects, background, defects, defectSeverity: { blur: 0, noise: 0, jitter: 0, flicker: 0 } };
}
const redCircle = (vx: number, vy: number): SceneObject => ({ present: true, rgb: OBJECT_COLOURS.red, shape: 'circle', cx: 32, cy: 32, vx, vy, radius: 8 });

/** Centroid of pixels whose red channel is high and blue low (the red object on a dark background). */
function redCentroid(frame: Uint8Array, w: number): [number, number, number] {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < frame.length / 3; i++) {
    if ((frame[3 * i] ?? 0) > 120 && (frame[3 * i + 2] ?? 0) < 80) {
      sx += i % w;
      sy += Math.floor(i / w);
      n += 1;
    }
  }
  return [sx / n, sy / n, n];
}

describe('renderer', () => {
  it('is deterministic: the same latent gives the same bytes, a different latent different bytes', () => {
    const spec = parsePrompt('a red circle moving left fast on a navy background');
    const latent = idealLatent(spec, Rng.fromSeed(1));
    latent[DEFECT_OFFSET + 1] = 1; // noise on, to check the noise pattern is fixed too
    const a = renderScene(decodeLatent(latent), opts);
    const b = renderScene(decodeLatent(Float32Array.from(latent)), opts);
    expect(a.data.length).toBe(24 * 64 * 64 * 3);
    expect(hash(a.data)).toBe(hash(b.data));
    latent[SLOT.velocity] = 0;
    expect(hash(renderScene(decodeLatent(latent), opts).data)).not.toBe(hash(a.data));
  });

  it('moves the object as the latent says, with anti-aliased edges', () => {
    const v = renderScene(scene([redCircle(1, 0)]), opts);
    const size = 64 * 64 * 3;
    const [x0, y0, n0] = redCentroid(v.data.subarray(0, size), 64);
    const [x23, y23] = redCentroid(v.data.subarray(23 * size, 24 * size), 64);
    expect(x23 - x0).toBeCloseTo(23, 0);
    expect(Math.abs(y23 - y0)).toBeLessThan(0.5);
    expect(n0).toBeGreaterThan(150); // π·8² ≈ 201 px
    const frame0 = v.data.subarray(0, size);
    const reds = new Set<number>();
    for (let i = 0; i < size / 3; i++) reds.add(frame0[3 * i] ?? 0);
    expect(reds.size).toBeGreaterThan(5); // partial coverage values at the edge
  });

  it('applies defects: blur lowers sharpness, flicker changes frame brightness, jitter shakes the object', () => {
    const clean = renderScene(scene([redCircle(0, 0)]), opts);
    const blurred = renderScene(scene([redCircle(0, 0)], undefined, { blur: 1.5, noise: 0, jitter: 0, flicker: 0 }), opts);
    const grad = (d: Uint8Array): number => {
      let s = 0;
      for (let y = 0; y < 64; y++) for (let x = 1; x < 64; x++) s += ((d[(y * 64 + x) * 3] ?? 0) - (d[(y * 64 + x - 1) * 3] ?? 0)) ** 2;
      return s;
    };
    expect(grad(blurred.data.subarray(0, 64 * 64 * 3))).toBeLessThan(0.5 * grad(clean.data.subarray(0, 64 * 64 * 3)));
    const flick = renderScene(scene([redCircle(0, 0)], [0.5, 0.5, 0.5], { blur: 0, noise: 0, jitter: 0, flicker: 0.25 }), opts);
    const bright = (f: number): number => flick.data[f * 64 * 64 * 3] ?? 0;
    expect(Math.abs(bright(0) - bright(1))).toBeGreaterThan(20);
    const jit = renderScene(scene([redCircle(0, 0)], undefined, { blur: 0, noise: 0, jitter: 2.5, flicker: 0 }), opts);
    const xs = [0, 1, 2, 3].map((f) => redCentroid(jit.data.subarray(f * 64 * 64 * 3, (f + 1) * 64 * 64 * 3), 64)[0]);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(0.5);
  });

  it('places objects per frame around the mid-video centre', () => {
    expect(objectPosition(redCircle(1, -0.5), 0, 24)).toEqual([32 - 11.5, 32 + 5.75]);
  });
});

describe('gold evaluator', () => {
  const spec = parsePrompt('a red circle moving right slowly on a black background');

  it('scores a hand-built matching scene as fully correct and clean', () => {
    const r = evaluateScene(spec, scene([redCircle(0.6, 0)]));
    expect(r.accuracy).toBe(1);
    expect(r.allCorrect).toBe(true);
    expect(r.quality).toBe(1);
    expect(r.attributes.speed).toEqual({ correct: 1, total: 1 });
  });

  it('catches each wrong attribute on hand-built scenes', () => {
    expect(evaluateScene(spec, scene([{ ...redCircle(0.6, 0), rgb: OBJECT_COLOURS.blue }])).attributes.colour.correct).toBe(0);
    expect(evaluateScene(spec, scene([{ ...redCircle(0.6, 0), shape: 'square' }])).attributes.shape.correct).toBe(0);
    expect(evaluateScene(spec, scene([redCircle(-0.6, 0)])).attributes.motion.correct).toBe(0);
    expect(evaluateScene(spec, scene([redCircle(1.3, 0)])).attributes.speed.correct).toBe(0);
    expect(evaluateScene(spec, scene([redCircle(0.6, 0)], [0.5, 0.5, 0.5])).attributes.background.correct).toBe(0);
    const two = evaluateScene(spec, scene([redCircle(0.6, 0), { ...redCircle(0, 0), cx: 10 }]));
    expect(two.attributes.count.correct).toBe(0);
    expect(two.accuracy).toBeCloseTo(5 / 6, 10);
    const none = evaluateScene(spec, scene([{ ...redCircle(0.6, 0), present: false }]));
    expect(none.accuracy).toBeCloseTo(1 / 6, 10); // only the background is right
  });

  it('reports defect severity from the latent and lowers quality', () => {
    const latent = idealLatent(spec, Rng.fromSeed(2));
    const clean = evaluateScene(spec, decodeLatent(latent));
    expect(clean.accuracy).toBe(1);
    latent[DEFECT_OFFSET] = 1; // blur
    latent[DEFECT_OFFSET + 3] = 0.5; // flicker
    const r = evaluateScene(spec, decodeLatent(latent));
    expect(r.defects.blur).toBeCloseTo(1, 6);
    expect(r.defects.flicker).toBeCloseTo(0.5, 6);
    expect(r.quality).toBeCloseTo(1 - 1.5 / 4, 6);
    expect(latent.length).toBe(LATENT_DIM);
  });

  it('ideal latents of generated prompts always score 1', () => {
    const rng = Rng.fromSeed(5);
    for (const text of [
      'a white cross moving up fast and a pink diamond staying still on a maroon background',
      'a green triangle moving down slowly on a beige background',
    ]) {
      const s = parsePrompt(text);
      for (let i = 0; i < 20; i++) expect(evaluateScene(s, decodeLatent(idealLatent(s, rng))).accuracy).toBe(1);
    }
  });
});
