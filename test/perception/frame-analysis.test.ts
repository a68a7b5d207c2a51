/** Classical frame analysis on hand-built scenes: background, blobs, centroids, splitting touching objects, noise robustness. */
import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { analyseFrame } from '../../src/judge/backends/embedded/perception/index.js';
import { renderScene, type Scene, type SceneObject } from '../../src/world/index.js';

const NO_DEFECTS = { blur: 0, noise: 0, jitter: 0, flicker: 0 };

function object(partial: Partial<SceneObject> & Pick<SceneObject, 'cx' | 'cy'>): SceneObject {
  return { present: true, rgb: [0.9, 0.12, 0.1], shape: 'circle', vx: 0, vy: 0, radius: 7, ...partial };
}

function scene(objects: SceneObject[], defects: Partial<Scene['defects']> = {}, background: Scene['background'] = [0.05, 0.08, 0.32]): Scene {
  return { width: 64, height: 64, objects, background, defects: { ...NO_DEFECTS, ...defects }, defectSeverity: { ...NO_DEFECTS } };
}

const render = (s: Scene): Uint8Array => renderScene(s, { frames: 1, fps: 8 }).data;

describe('analyseFrame', () => {
  it('finds one object with its centroid within 1 px and estimates the background', () => {
    const a = analyseFrame(render(scene([object({ cx: 20.3, cy: 41.7 })])), 64, 64);
    expect(a.blobs).toHaveLength(1);
    const [b] = a.blobs;
    expect(Math.abs((b?.x ?? 0) - 20.3)).toBeLessThan(1);
    expect(Math.abs((b?.y ?? 0) - 41.7)).toBeLessThan(1);
    expect(b?.area).toBeGreaterThan(Math.PI * 7 * 7 * 0.9);
    expect(b?.touchesBorder).toBe(false);
    expect(a.background.map((c) => Math.round(c * 100) / 100)).toEqual([0.05, 0.08, 0.32]);
    expect(a.noise).toBeLessThan(0.01);
    expect(a.sharpness).toBeGreaterThan(0.25);
  });

  it('finds two objects, largest first, each centroid within 1 px', () => {
    const big = object({ cx: 44, cy: 20, shape: 'square', radius: 9, rgb: [0.95, 0.9, 0.1] });
    const small = object({ cx: 18.5, cy: 45.5, radius: 5.5 });
    const a = analyseFrame(render(scene([small, big])), 64, 64);
    expect(a.blobs).toHaveLength(2);
    const [first, second] = a.blobs;
    expect(first?.area ?? 0).toBeGreaterThan(second?.area ?? 0);
    expect(Math.hypot((first?.x ?? 0) - 44, (first?.y ?? 0) - 20)).toBeLessThan(1);
    expect(Math.hypot((second?.x ?? 0) - 18.5, (second?.y ?? 0) - 45.5)).toBeLessThan(1);
    const [r, g, b] = first?.rgb ?? [0, 0, 0];
    expect(r).toBeCloseTo(0.95, 2);
    expect(g).toBeCloseTo(0.9, 2);
    expect(b).toBeCloseTo(0.1, 2);
  });

  it('splits two touching objects of different colours', () => {
    const a = analyseFrame(
      render(scene([object({ cx: 25, cy: 32 }), object({ cx: 38, cy: 32, rgb: [0.15, 0.75, 0.2], shape: 'square', radius: 6 })], {}, [0.5, 0.5, 0.5])),
      64,
      64,
    );
    expect(a.blobs).toHaveLength(2);
    const xs = a.blobs.map((b) => b.x).sort((p, q) => p - q);
    expect(Math.abs((xs[0] ?? 0) - 25)).toBeLessThan(1.5);
    expect(Math.abs((xs[1] ?? 0) - 38)).toBeLessThan(1.5);
  });

  it('keeps one object whole under blur and finds no spurious blobs in heavy noise', () => {
    const blurred = analyseFrame(render(scene([object({ cx: 32, cy: 32, rgb: [0.97, 0.97, 0.97] })], { blur: 2.4 }, [0.04, 0.04, 0.04])), 64, 64);
    expect(blurred.blobs).toHaveLength(1);
    expect(blurred.sharpness).toBeLessThan(0.22);
    const noisy = analyseFrame(render(scene([], { noise: 0.2 }, [0.5, 0.5, 0.5])), 64, 64);
    expect(noisy.blobs).toHaveLength(0);
    expect(noisy.noise).toBeGreaterThan(0.17);
    expect(noisy.noise).toBeLessThan(0.23);
  });

  it('marks objects cut by the border and ignores specks smaller than the minimum area', () => {
    const a = analyseFrame(render(scene([object({ cx: 2, cy: 30 }), object({ cx: 50, cy: 50, radius: 0.5 })])), 64, 64);
    expect(a.blobs).toHaveLength(1);
    expect(a.blobs[0]?.touchesBorder).toBe(true);
  });

  it('rejects a buffer of the wrong size', () => {
    let error: unknown;
    try {
      analyseFrame(new Uint8Array(10), 64, 64);
    } catch (e) {
      error = e;
    }
    expect(isVrGrpoError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});
