/** Shared fixtures of the perception tests: rendering scenes with known truth and matching detections to it. */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import type { FramePerception } from '../../src/judge/backends/embedded/perception/index.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  nearestColour,
  objectPosition,
  type Scene,
} from '../../src/world/index.js';

export const RM_V1 = join(PROJECT_ROOT, 'models', 'rm-v1');
export const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');

export const argmax = (p: Float32Array): number => p.reduce((best, v, i) => (v > (p[best] ?? -Infinity) ? i : best), 0);

/** Frame `f` of a rendered video as a view. */
export function frameOf(data: Uint8Array, f: number, width = 64, height = 64): Uint8Array {
  const size = width * height * 3;
  return data.subarray(f * size, (f + 1) * size);
}

/** Scores one perceived frame against the scene's first object (nearest detection to its true position) and background. */
export function scoreFrame(
  p: FramePerception,
  scene: Scene,
  f: number,
  frames: number,
): { colour: boolean; shape: boolean; background: boolean; found: boolean } {
  const o = scene.objects[0];
  const background = argmax(p.backgroundProbs) === BACKGROUND_COLOUR_NAMES.indexOf(nearestColour(BACKGROUND_COLOURS, scene.background));
  if (o === undefined) return { colour: false, shape: false, background, found: false };
  const [x, y] = objectPosition(o, f, frames);
  const near = [...p.objects].sort((a, b) => Math.hypot(a.x - x, a.y - y) - Math.hypot(b.x - x, b.y - y))[0];
  if (near === undefined || Math.hypot(near.x - x, near.y - y) > o.radius + 3) return { colour: false, shape: false, background, found: false };
  return {
    colour: argmax(near.colourProbs) === OBJECT_COLOUR_NAMES.indexOf(nearestColour(OBJECT_COLOURS, o.rgb)),
    shape: argmax(near.shapeProbs) === SHAPES.indexOf(o.shape),
    background,
    found: true,
  };
}
