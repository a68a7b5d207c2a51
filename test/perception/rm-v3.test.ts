/**
 * rm-v3, the perception trained for world v2: the shipped folder (version, recipe, measured accuracy beside rm-v2), a
 * recolour event classified frame by frame as drawn, world-v2 training frames labelled as drawn, and rm-v1/rm-v2's
 * training data streams unchanged by the world-v2 additions.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, deriveSeed } from '../../src/common/rng.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { Perception, analyseFrame, readPerceptionDir } from '../../src/judge/backends/embedded/perception/index.js';
import { PERCEPTION_PRESETS } from '../../src/judge-training/perception/train.js';
import { DEFAULT_SCENES, FrameSampler, renderClipFrame, sampleRows } from '../../src/judge-training/perception/training-data.js';
import {
  LOCAL_DEFECT_KINDS,
  LOCAL_DEFECT_OFFSET,
  LOCAL_SLOT,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  decodeLatent,
  defectSpanToLatent,
  defectStartToLatent,
  idealLatent,
  latentDimOf,
  nearestColour,
  renderScene,
  sceneObjectsAt,
  type BackgroundColour,
  type ObjectColour,
  type Shape,
} from '../../src/world/index.js';
import { RM_V2, argmax, frameOf } from './helpers.js';

const RM_V3 = join(PROJECT_ROOT, 'models', 'rm-v3');
const FRAMES = 48;

let v3: Perception;
beforeAll(async () => {
  v3 = await Perception.create(RM_V3);
});
afterAll(async () => {
  await v3.close();
});

/** A clean v2 latent: one still object of `from` colour that turns `to` halfway through the clip. */
function recolourLatent(from: ObjectColour, to: ObjectColour, shape: Shape, background: BackgroundColour, seed: number): Float32Array {
  const latent = idealLatent(
    { objects: [{ colour: from, shape, motion: 'still', speed: null, event: { kind: 'recolour', colour: to, when: 'halfway' } }], background },
    Rng.fromSeed(seed),
    2,
  );
  expect(latent).toHaveLength(latentDimOf(2));
  return latent;
}

describe('rm-v3 (world v2 perception)', () => {
  it('ships as version rm-v3 with its recipe, and measures within a point of rm-v2 on world-v1 frames', () => {
    expect(v3.version).toBe('rm-v3');
    const m = v3.manifest;
    expect(m.training.preset).toBe('rm-v3');
    expect(m.training.scenes).toMatchObject({ worldV2: { share: 0.5 } });
    const v2 = readPerceptionDir(RM_V2).manifest;
    expect(m.accuracy.evalSeed).toBe(v2.accuracy.evalSeed);
    for (const k of ['colour', 'shape', 'background', 'detection'] as const) expect(m.accuracy[k]).toBeGreaterThanOrEqual(v2.accuracy[k] - 0.01);
    const worldV2 = m.accuracy.worldV2 as { frames: number; colour: number; shape: number; burst: { frames: number; colour: number } } | undefined;
    expect(worldV2?.frames).toBe(1000);
    expect(worldV2?.burst.frames).toBeGreaterThan(30);
    expect(worldV2?.colour).toBeGreaterThan(0.95);
    expect(worldV2?.burst.colour).toBeGreaterThan(0.85);
  });

  it('classifies a recoloured object with its new colour after the event and its old one before', async () => {
    const cases = [
      { from: 'red', to: 'blue', shape: 'square', background: 'black' },
      { from: 'yellow', to: 'purple', shape: 'circle', background: 'gray' },
      { from: 'green', to: 'pink', shape: 'triangle', background: 'navy' },
      { from: 'white', to: 'orange', shape: 'diamond', background: 'forest' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const scene = decodeLatent(recolourLatent(c.from, c.to, c.shape, c.background, 10 + i));
      const video = renderScene(scene, { frames: FRAMES, fps: 8, patternSeed: 3 });
      const picks = [8, 40];
      // The fixture: the world draws the old colour before the event (τ = 0.5) and the new one after.
      expect(picks.map((f) => nearestColour(OBJECT_COLOURS, sceneObjectsAt(scene, f, FRAMES)[0]?.rgb ?? [0, 0, 0]))).toEqual([c.from, c.to]);
      const seen = await v3.perceive(
        picks.map((f) => ({ index: f, rgb: frameOf(video.data, f) })),
        64,
        64,
      );
      const colours = seen.map((p) => {
        expect(p.objects).toHaveLength(1);
        return OBJECT_COLOUR_NAMES[argmax(p.objects[0]?.colourProbs ?? new Float32Array(9))];
      });
      expect(colours, `${c.from} → ${c.to}`).toEqual([c.from, c.to]);
    }
  });

  it('classifies a flashing object with the flash colour during its 3 frames and its own colour around them', async () => {
    const latent = idealLatent(
      {
        objects: [{ colour: 'blue', shape: 'cross', motion: 'right', speed: 'slow', event: { kind: 'flash', colour: 'yellow', when: 'halfway' } }],
        background: 'beige',
      },
      Rng.fromSeed(21),
      2,
    );
    const scene = decodeLatent(latent);
    const video = renderScene(scene, { frames: FRAMES, fps: 8, patternSeed: 4 });
    const picks = [20, 24, 25, 26, 30];
    const expected = ['blue', 'yellow', 'yellow', 'yellow', 'blue'];
    expect(picks.map((f) => nearestColour(OBJECT_COLOURS, sceneObjectsAt(scene, f, FRAMES)[0]?.rgb ?? [0, 0, 0]))).toEqual(expected);
    const seen = await v3.perceive(
      picks.map((f) => ({ index: f, rgb: frameOf(video.data, f) })),
      64,
      64,
    );
    expect(seen.map((p) => OBJECT_COLOUR_NAMES[argmax(p.objects[0]?.colourProbs ?? new Float32Array(9))])).toEqual(expected);
  });

  it('renders one frame of a v2 clip as the whole clip draws it, and labels world-v2 frames as drawn', () => {
    const latent = recolourLatent('cyan', 'red', 'cross', 'maroon', 4);
    // A dropout over τ ∈ [0.3, 0.345): frames 15 and 16 of 48 (τ = 15/47, 16/47) show no object.
    const b = LOCAL_DEFECT_OFFSET + LOCAL_SLOT.kind;
    for (let i = 0; i <= LOCAL_DEFECT_KINDS.length; i++) latent[b + i] = i === LOCAL_DEFECT_KINDS.indexOf('dropout') + 1 ? 1 : -1;
    latent[LOCAL_DEFECT_OFFSET + LOCAL_SLOT.start] = defectStartToLatent(0.3);
    latent[LOCAL_DEFECT_OFFSET + LOCAL_SLOT.span] = defectSpanToLatent(0.045);
    latent[LOCAL_DEFECT_OFFSET + LOCAL_SLOT.severity] = 1;
    const scene = decodeLatent(latent);
    const video = renderScene(scene, { frames: FRAMES, fps: 8, patternSeed: 5 });
    for (const f of [0, 15, 16, 23, 24, 47]) {
      const one = renderClipFrame(scene, f, FRAMES, 99);
      expect(Buffer.from(one.rgb).equals(Buffer.from(frameOf(video.data, f))), `frame ${f}`).toBe(true);
      expect(one.effects.dropout).toBe(f === 15 || f === 16);
      expect(analyseFrame(one.rgb, 64, 64).blobs.length).toBe(f === 15 || f === 16 ? 0 : 1);
    }
    const sampler = new FrameSampler(11, { ...DEFAULT_SCENES, worldV2: { share: 1, focus: 1, localDefectProbability: 1 } });
    const seen = { recoloured: 0, burst: 0, absent: 0 };
    for (let i = 0; i < 120; i++) {
      const frame = sampler.next();
      const t = frame.temporal;
      expect(t?.frames).toBe(FRAMES);
      if (t === undefined) continue;
      const drawn = sceneObjectsAt(frame.scene, frame.frameIndex, FRAMES).filter((s, k) => s.present && frame.scene.objects[k]?.present === true);
      expect(frame.objects.map((o) => o.colour)).toEqual(drawn.map((s) => OBJECT_COLOUR_NAMES.indexOf(nearestColour(OBJECT_COLOURS, s.rgb))));
      if (t.recoloured) seen.recoloured += 1;
      if (t.burst > 0) seen.burst += 1;
      if (t.absent) seen.absent += 1;
    }
    expect(seen.recoloured).toBeGreaterThan(0);
    expect(seen.burst).toBeGreaterThan(0);
    expect(seen.absent).toBeGreaterThan(0);
  });

  it('leaves the training data of rm-v1 and rm-v2 byte-identical (so both stay reproducible)', () => {
    // sha256 of the first two batches of rows and labels, as drawn before world v2 existed.
    const expected = {
      'rm-v1': 'b1bc82d4f20f350e0b19fd6c1f1cedd91a9a94ca136cf8b148de5906ce794f81',
      'rm-v2': '282956be212cf0c15325760aab9ce7f87f1d6a3647225bf5fa7e8a98c4336fac',
    } as const;
    for (const name of ['rm-v1', 'rm-v2'] as const) {
      const p = PERCEPTION_PRESETS[name];
      const sampler = new FrameSampler(deriveSeed(p.seed, 1), {
        ...DEFAULT_SCENES,
        ...('scenes' in p ? p.scenes : {}),
        defectProbability: p.defectProbability,
      });
      const h = createHash('sha256');
      for (let i = 0; i < 2; i++) {
        const r = sampleRows(sampler, p.batchSize);
        for (const a of [r.rows, r.colour, r.shape, r.background]) h.update(new Uint8Array(a.buffer));
      }
      expect(h.digest('hex'), name).toBe(expected[name]);
    }
  });
});
