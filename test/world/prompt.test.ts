import { describe, expect, it } from 'vitest';
import {
  BACKGROUND_COLOUR_NAMES,
  MOTIONS,
  OBJECT_COLOUR_NAMES,
  PromptGenerator,
  SHAPES,
  comboKey,
  heldOutCombos,
  parsePrompt,
  promptText,
  tryParsePrompt,
} from '../../src/world/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';

const options = { splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.4 };

describe('prompt grammar', () => {
  it('has at least 8 colours, 4 shapes, 6 backgrounds and the five motions', () => {
    expect(OBJECT_COLOUR_NAMES.length).toBeGreaterThanOrEqual(8);
    expect(SHAPES.length).toBeGreaterThanOrEqual(4);
    expect(BACKGROUND_COLOUR_NAMES.length).toBeGreaterThanOrEqual(6);
    expect([...MOTIONS].sort()).toEqual(['down', 'left', 'right', 'still', 'up']);
  });

  it('round-trips every generated prompt through text', () => {
    const gen = new PromptGenerator({ seed: 3, split: 'train', ...options });
    for (const spec of gen.take(300)) expect(parsePrompt(promptText(spec))).toEqual(spec);
  });

  it('parses hand-written variants and rejects text outside the grammar', () => {
    expect(tryParsePrompt('A red circle moving left on a navy background.')).toEqual({
      objects: [{ colour: 'red', shape: 'circle', motion: 'left', speed: 'slow' }],
      background: 'navy',
    });
    expect(tryParsePrompt('a red circle moving left fast and a blue square staying still on a gray background')?.objects).toHaveLength(2);
    expect(tryParsePrompt('a dog running on the beach')).toBeNull();
    let caught: unknown;
    try {
      parsePrompt('a magenta blob');
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('splits', () => {
  it('holds out (colour, shape) pairs never drawn in the train split, keeping every colour and shape in train', () => {
    const held = heldOutCombos(7, 0.2);
    expect(held.size).toBe(Math.round(0.2 * OBJECT_COLOUR_NAMES.length * SHAPES.length));
    const train = new PromptGenerator({ seed: 1, split: 'train', ...options }).take(3000);
    const trainCombos = new Set(train.flatMap((s) => s.objects.map((o) => comboKey(o.colour, o.shape))));
    for (const k of held) expect(trainCombos.has(k)).toBe(false);
    const coloursInTrain = new Set(train.flatMap((s) => s.objects.map((o) => o.colour)));
    const shapesInTrain = new Set(train.flatMap((s) => s.objects.map((o) => o.shape)));
    expect(coloursInTrain.size).toBe(OBJECT_COLOUR_NAMES.length);
    expect(shapesInTrain.size).toBe(SHAPES.length);
    const heldOut = new PromptGenerator({ seed: 1, split: 'heldout', ...options }).take(200);
    for (const s of heldOut) expect(held.has(comboKey(s.objects[0].colour, s.objects[0].shape))).toBe(true);
  });

  it('is reproducible from its seed and resumable from its state', () => {
    const a = new PromptGenerator({ seed: 9, split: 'train', ...options });
    const b = new PromptGenerator({ seed: 9, split: 'train', ...options });
    expect(a.take(50)).toEqual(b.take(50));
    const state = a.state();
    const next = a.take(10);
    expect(new PromptGenerator({ seed: 0, split: 'train', ...options }, state).take(10)).toEqual(next);
    expect(new PromptGenerator({ seed: 10, split: 'train', ...options }).take(20)).not.toEqual(b.take(20));
  });
});
