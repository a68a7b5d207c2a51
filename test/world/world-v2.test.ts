/**
 * World v2 (issue 16): events at moments of the clip and temporally local defects, through the prompt grammar, the
 * latent, the renderer, the gold evaluator and the pretraining data distribution; and world v1 left as it was.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import {
  BACKGROUND_COLOURS,
  CLEAN_DATA,
  DEFECT_OFFSET,
  EVENT_DIM,
  EVENT_KINDS,
  EVENT_OFFSET,
  EVENT_SLOT,
  EVENT_TIMES,
  EVENT_TIME_TOLERANCE,
  EVENT_TIME_WORDS,
  FLASH_SPAN,
  LATENT_DIM,
  LATENT_DIM_V2,
  LOCAL_DEFECT_DIM,
  LOCAL_DEFECT_KINDS,
  LOCAL_DEFECT_OFFSET,
  LOCAL_DEFECT_WEIGHT,
  LOCAL_SLOT,
  OBJECT_COLOURS,
  PromptGenerator,
  SHAPES,
  TEMPORAL_DATA_DEFAULTS,
  decodeLatent,
  defectSpanToLatent,
  defectStartToLatent,
  evaluateScene,
  eventMatches,
  eventOnTime,
  framesCovered,
  goldScores,
  heldOutEventCombos,
  idealLatent,
  latentDimOf,
  nearestColour,
  objectStateAt,
  parsePrompt,
  promptText,
  renderScene,
  sampleDataLatent,
  sceneObjectsAt,
  tryParsePrompt,
  worldPromptOptions,
  type EventKind,
  type EventSpec,
  type LocalDefect,
  type LocalDefectKind,
  type ObjectColour,
  type ObjectSpec,
  type PromptSpec,
  type Rgb,
  type Scene,
  type SceneEvent,
  type SceneObject,
  type Shape,
} from '../../src/world/index.js';
import type { RawVideo } from '../../src/media/raw-video.js';

const FRAMES = 48;
const V2 = { frames: FRAMES, fps: 16 };
const FRAME_BYTES = 64 * 64 * 3;
/** Clip time of a point half-way between frames f − 1 and f of a 48-frame clip (robust to float32 latents). */
const between = (f: number): number => (f - 0.5) / (FRAMES - 1);
/** A span that covers exactly `n` frames when it starts at `between(f)`. */
const frameSpan = (n: number): number => n / (FRAMES - 1);

const NO_DEFECTS = { blur: 0, noise: 0, jitter: 0, flicker: 0 };
const generatorOptions = { splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.4 };

function frameOf(v: RawVideo, f: number): Uint8Array {
  return v.data.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES);
}
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
function pixel(v: RawVideo, f: number, x: number, y: number): Rgb {
  const p = f * FRAME_BYTES + (Math.floor(y) * 64 + Math.floor(x)) * 3;
  return [(v.data[p] ?? 0) / 255, (v.data[p + 1] ?? 0) / 255, (v.data[p + 2] ?? 0) / 255];
}
/** Named colour of the pixel under object k's centre in frame f, where `sceneObjectsAt` puts it. */
function colourUnderObject(v: RawVideo, scene: Scene, f: number, k = 0): ObjectColour {
  const s = sceneObjectsAt(scene, f, FRAMES)[k];
  if (s === undefined) throw new Error(`no object ${k}`);
  return nearestColour(OBJECT_COLOURS, pixel(v, f, s.x, s.y));
}
/** Coverage-weighted centroid and mass of the red object on a black background (red channel above the background). */
function redMass(v: RawVideo, f: number): { x: number; y: number; mass: number } {
  const frame = frameOf(v, f);
  let sx = 0;
  let sy = 0;
  let mass = 0;
  for (let i = 0; i < 64 * 64; i++) {
    const w = Math.max(0, (frame[3 * i] ?? 0) - 11);
    sx += w * (i % 64);
    sy += w * Math.floor(i / 64);
    mass += w;
  }
  // Pixel i covers [x, x + 1): its centre is x + 0.5.
  return { x: sx / mass + 0.5, y: sy / mass + 0.5, mass };
}

const circle = (over: Partial<SceneObject> = {}): SceneObject => ({
  present: true,
  rgb: OBJECT_COLOURS.red,
  shape: 'circle',
  cx: 32,
  cy: 32,
  vx: 0,
  vy: 0,
  radius: 7,
  ...over,
});
const event = (kind: EventKind, time: number, over: Partial<SceneEvent> = {}): SceneEvent => ({ kind, time, rgb: OBJECT_COLOURS.blue, vx: 0, vy: 0, ...over });
const localDefect = (kind: LocalDefectKind, start: number, span: number, severity = 1): LocalDefect => ({ kind, start, span, severity });

/** A hand-built v2 scene (64×64, black background, no global defects). */
function v2Scene(objects: SceneObject[], events: (SceneEvent | null)[], localDefects: LocalDefect[] = []): Scene {
  return {
    width: 64,
    height: 64,
    objects,
    background: BACKGROUND_COLOURS.black,
    defects: NO_DEFECTS,
    defectSeverity: NO_DEFECTS,
    temporal: { events, localDefects },
  };
}

/** Writes local-defect slot j of a v2 latent (kind null = none). */
function setLocalDefect(latent: Float32Array, j: number, kind: LocalDefectKind | null, start: number, span: number, severity = 1): void {
  const b = LOCAL_DEFECT_OFFSET + j * LOCAL_DEFECT_DIM;
  const index = kind === null ? 0 : LOCAL_DEFECT_KINDS.indexOf(kind) + 1;
  for (let i = 0; i <= LOCAL_DEFECT_KINDS.length; i++) latent[b + LOCAL_SLOT.kind + i] = i === index ? 1 : -1;
  latent[b + LOCAL_SLOT.start] = defectStartToLatent(start);
  latent[b + LOCAL_SLOT.span] = defectSpanToLatent(span);
  latent[b + LOCAL_SLOT.severity] = kind === null ? -1 : severity;
}

// ---------------------------------------------------------------------------------------------------------------------

describe('world v2 prompt grammar', () => {
  const base = { colour: 'red', shape: 'circle', motion: 'left', speed: 'slow' } as const;
  const oneObject = (e: EventSpec): PromptSpec => ({ objects: [{ ...base, event: e }], background: 'black' });
  const allEvents: EventSpec[] = EVENT_TIME_WORDS.flatMap((when): EventSpec[] => [
    { kind: 'recolour', colour: 'blue', when },
    { kind: 'flash', colour: 'white', when },
    { kind: 'turn', motion: 'still', speed: null, when },
    { kind: 'turn', motion: 'up', speed: 'fast', when },
    { kind: 'turn', motion: 'right', speed: 'slow', when },
    { kind: 'appear', when },
    { kind: 'leave', when },
  ]);

  it('round-trips every kind of event at every time word', () => {
    expect(new Set(allEvents.map((e) => e.kind))).toEqual(new Set(EVENT_KINDS));
    for (const e of allEvents) {
      const spec = oneObject(e);
      expect(parsePrompt(promptText(spec))).toEqual(spec);
    }
  });

  it('writes the event words of the grammar', () => {
    expect(promptText(oneObject({ kind: 'turn', motion: 'still', speed: null, when: 'late' }))).toBe(
      'a red circle moving left slowly, then stopping late on a black background',
    );
    expect(promptText(oneObject({ kind: 'appear', when: 'halfway' }))).toBe('a red circle moving left slowly, appearing halfway on a black background');
    expect(promptText(oneObject({ kind: 'recolour', colour: 'blue', when: 'early' }))).toContain(', then turning blue early on');
    expect(promptText(oneObject({ kind: 'flash', colour: 'white', when: 'early' }))).toContain(', then flashing white early on');
    expect(promptText(oneObject({ kind: 'turn', motion: 'up', speed: 'fast', when: 'halfway' }))).toContain(', then moving up fast halfway on');
    expect(promptText(oneObject({ kind: 'leave', when: 'late' }))).toContain(', then leaving late on');
  });

  it('round-trips two objects each with an event', () => {
    const second: ObjectSpec = { colour: 'green', shape: 'square', motion: 'still', speed: null, event: { kind: 'appear', when: 'halfway' } };
    const spec: PromptSpec = {
      objects: [
        { colour: 'red', shape: 'circle', motion: 'left', speed: 'fast', event: { kind: 'turn', motion: 'still', speed: null, when: 'halfway' } },
        second,
      ],
      background: 'navy',
    };
    const text = promptText(spec);
    expect(text).toBe('a red circle moving left fast, then stopping halfway and a green square staying still, appearing halfway on a navy background');
    expect(parsePrompt(text)).toEqual(spec);
    // One object with an event and one without, either way round.
    const mixed: PromptSpec = { objects: [{ colour: 'red', shape: 'circle', motion: 'still', speed: null }, second], background: 'navy' };
    expect(parsePrompt(promptText(mixed))).toEqual(mixed);
  });

  it('reads hand-written variants and rejects events outside the grammar', () => {
    expect(tryParsePrompt('A red circle moving left, then moving up quickly early on a gray background.')?.objects[0].event).toEqual({
      kind: 'turn',
      motion: 'up',
      speed: 'fast',
      when: 'early',
    });
    expect(tryParsePrompt('a red circle moving left, then moving up early on a gray background')?.objects[0].event).toEqual({
      kind: 'turn',
      motion: 'up',
      speed: 'slow',
      when: 'early',
    });
    for (const bad of [
      'a red circle moving left, then exploding halfway on a gray background',
      'a red circle moving left, then turning blue on a gray background',
      'a red circle moving left, then turning magenta halfway on a gray background',
      'a red circle moving left, then turning blue at noon on a gray background',
      'a red circle moving left, then turning blue halfway, then leaving late on a gray background',
    ]) {
      expect(tryParsePrompt(bad)).toBeNull();
    }
  });

  it('round-trips 300 generated prompts with eventProbability 0.6, covering every event kind', () => {
    const gen = new PromptGenerator({ seed: 4, split: 'train', ...generatorOptions, eventProbability: 0.6 });
    const kinds = new Set<EventKind>();
    let withEvent = 0;
    let objects = 0;
    for (const spec of gen.take(300)) {
      expect(parsePrompt(promptText(spec))).toEqual(spec);
      for (const o of spec.objects) {
        objects += 1;
        if (o.event !== undefined) {
          withEvent += 1;
          kinds.add(o.event.kind);
          if (o.event.kind === 'turn') expect(o.event.motion !== o.motion || o.event.speed !== o.speed).toBe(true);
          if (o.event.kind === 'recolour' || o.event.kind === 'flash') expect(o.event.colour).not.toBe(o.colour);
        }
      }
    }
    expect(kinds).toEqual(new Set(EVENT_KINDS));
    expect(withEvent / objects).toBeGreaterThan(0.45);
    expect(withEvent / objects).toBeLessThan(0.75);
  });

  it('draws no events with eventProbability 0, and then the v1 prompt stream is unchanged', () => {
    const v1 = new PromptGenerator({ seed: 5, split: 'train', ...generatorOptions }).take(300);
    const zero = new PromptGenerator({ seed: 5, split: 'train', ...generatorOptions, eventProbability: 0 }).take(300);
    expect(zero).toEqual(v1);
    for (const spec of zero) for (const o of spec.objects) expect('event' in o).toBe(false);
    const world = { version: 1, splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25, eventProbability: 0.6 } as const;
    expect(worldPromptOptions(world, 'train', 1).eventProbability).toBe(0);
    expect(worldPromptOptions({ ...world, version: 2 }, 'train', 1).eventProbability).toBe(0.6);
  });
});

describe('world v2 held-out event combos', () => {
  const held = heldOutEventCombos(7);
  const isHeld = (kind: EventKind, shape: Shape): boolean => held.has(`${kind}/${shape}`);

  it('holds out one shape per event kind, spread over the shapes', () => {
    expect(held.size).toBe(EVENT_KINDS.length);
    const kinds = [...held].map((k) => k.split('/')[0]);
    const shapes = [...held].map((k) => k.split('/')[1]);
    expect(new Set(kinds)).toEqual(new Set(EVENT_KINDS));
    expect(new Set(shapes).size).toBe(Math.min(EVENT_KINDS.length, SHAPES.length));
    expect(heldOutEventCombos(7)).toEqual(held);
  });

  it('the train split never puts a held-out (kind, shape) pair on any object; every kind and shape still meet there', () => {
    const gen = new PromptGenerator({ seed: 11, split: 'train', ...generatorOptions, eventProbability: 0.6 });
    expect(gen.heldOutEvents).toEqual(held);
    const seen = new Set<string>();
    for (const spec of gen.take(2000)) {
      for (const o of spec.objects) {
        if (o.event === undefined) continue;
        expect(isHeld(o.event.kind, o.shape)).toBe(false);
        seen.add(`${o.event.kind}/${o.shape}`);
      }
    }
    for (const kind of EVENT_KINDS) expect([...seen].some((k) => k.startsWith(`${kind}/`))).toBe(true);
    for (const shape of SHAPES) expect([...seen].some((k) => k.endsWith(`/${shape}`))).toBe(true);
    // Every pair that is not held out does occur: the split takes away only the held-out pairs.
    expect(seen.size).toBe(EVENT_KINDS.length * SHAPES.length - held.size);
  });

  it('the held-out split uses them (first object only)', () => {
    const gen = new PromptGenerator({ seed: 12, split: 'heldout', ...generatorOptions, eventProbability: 0.6 });
    let heldFirst = 0;
    let firstEvents = 0;
    for (const spec of gen.take(500)) {
      const [first, second] = spec.objects;
      if (first.event !== undefined) {
        firstEvents += 1;
        if (isHeld(first.event.kind, first.shape)) heldFirst += 1;
      }
      if (second?.event !== undefined) expect(isHeld(second.event.kind, second.shape)).toBe(false);
    }
    // Half of the first objects' events take the held-out kind of their shape.
    expect(heldFirst / firstEvents).toBeGreaterThan(0.35);
    expect(heldFirst / firstEvents).toBeLessThan(0.65);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('world v2 latent', () => {
  it('appends 42 numbers to the 35 of v1: two event slots of 12, two local-defect slots of 9', () => {
    expect(LATENT_DIM).toBe(35);
    expect(EVENT_OFFSET).toBe(35);
    expect(LOCAL_DEFECT_OFFSET).toBe(59);
    expect(LATENT_DIM_V2).toBe(77);
    expect(latentDimOf(1)).toBe(35);
    expect(latentDimOf(2)).toBe(77);
  });

  it('decodes the events and local defects a v2 latent writes', () => {
    const spec = parsePrompt('a red circle moving right slowly, then turning blue late and a white square staying still on a black background');
    const latent = idealLatent(spec, Rng.fromSeed(3), 2);
    expect(latent.length).toBe(LATENT_DIM_V2);
    setLocalDefect(latent, 1, 'dropout', between(20), frameSpan(2), 0.8);
    const t = decodeLatent(latent).temporal;
    expect(t).toBeDefined();
    const [e0, e1] = t?.events ?? [];
    expect(e0?.kind).toBe('recolour');
    expect(e0?.time).toBeCloseTo(EVENT_TIMES.late, 5);
    expect(nearestColour(OBJECT_COLOURS, e0?.rgb ?? [0, 0, 0])).toBe('blue');
    expect(e1).toBeNull();
    expect(t?.localDefects).toHaveLength(1);
    expect(t?.localDefects[0]?.kind).toBe('dropout');
    expect(t?.localDefects[0]?.severity).toBeCloseTo(0.8, 5);
    // A local-defect slot with a kind but severity ≤ 0 is no defect.
    setLocalDefect(latent, 1, 'dropout', between(20), frameSpan(2), 0);
    expect(decodeLatent(latent).temporal?.localDefects).toHaveLength(0);
  });
});

describe('world v1 unchanged', () => {
  const spec = parsePrompt('a red circle moving left fast and a blue square staying still on a gray background');

  it('decodes a 35-number latent without `temporal`', () => {
    const latent = idealLatent(spec, Rng.fromSeed(1));
    expect(latent.length).toBe(LATENT_DIM);
    const scene = decodeLatent(latent);
    expect('temporal' in scene).toBe(false);
    // Even a v1 latent padded short of 77 numbers stays v1.
    expect('temporal' in decodeLatent(Float32Array.from([...latent, 0, 0, 0]))).toBe(false);
  });

  it('a v2 latent begins with the v1 latent of the same draw and decodes to the same v1 scene', () => {
    const v1 = idealLatent(spec, Rng.fromSeed(8), 1);
    const v2 = idealLatent(spec, Rng.fromSeed(8), 2);
    expect(Array.from(v2.subarray(0, LATENT_DIM))).toEqual(Array.from(v1));
    const { temporal, ...rest } = decodeLatent(v2);
    expect(temporal?.events).toEqual([null, null]);
    expect(temporal?.localDefects).toEqual([]);
    expect(rest).toEqual(decodeLatent(v1));
  });

  it('a v2 scene with nothing temporal renders at 24 frames as its v1 scene does (velocities per reference frame)', () => {
    const v1 = idealLatent(spec, Rng.fromSeed(9), 1);
    const v2 = idealLatent(spec, Rng.fromSeed(9), 2);
    const a = renderScene(decodeLatent(v1), { frames: 24, fps: 8 }).data;
    const b = renderScene(decodeLatent(v2), { frames: 24, fps: 8 }).data;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    expect(maxDiff).toBeLessThanOrEqual(1); // float rounding of τ·(F − 1) only
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('world v2 renderer', () => {
  it('renders the same v2 latent (events, local defects, noise) to the same bytes twice', () => {
    const spec = parsePrompt(
      'a red circle moving right fast, then flashing white halfway and a cyan diamond moving up slowly, then leaving late on a navy background',
    );
    const latent = idealLatent(spec, Rng.fromSeed(21), 2);
    latent[DEFECT_OFFSET + 1] = 0.8; // global noise
    setLocalDefect(latent, 0, 'burst', between(10), frameSpan(3));
    setLocalDefect(latent, 1, 'freeze', between(30), frameSpan(4));
    const scene = decodeLatent(latent);
    expect(scene.temporal?.localDefects.map((d) => d.kind)).toEqual(['burst', 'freeze']);
    const a = renderScene(scene, V2);
    const b = renderScene(decodeLatent(Float32Array.from(latent)), V2);
    expect(a.data.length).toBe(FRAMES * FRAME_BYTES);
    expect(sameBytes(a.data, b.data)).toBe(true);
    // And the temporal part matters: without the events the bytes differ.
    const noEvents = Float32Array.from(latent);
    for (let k = 0; k < 2; k++) for (let i = 0; i <= EVENT_KINDS.length; i++) noEvents[EVENT_OFFSET + k * EVENT_DIM + EVENT_SLOT.kind + i] = i === 0 ? 1 : -1;
    expect(sameBytes(renderScene(decodeLatent(noEvents), V2).data, a.data)).toBe(false);
  });

  /** A red circle moving right slowly on black, as a v2 latent, with local-defect slot 0 set as given. */
  function movingLatent(kind: LocalDefectKind | null, start: number, span: number): Float32Array {
    const latent = idealLatent(parsePrompt('a red circle moving right slowly on a black background'), Rng.fromSeed(31), 2);
    setLocalDefect(latent, 0, kind, start, span);
    return latent;
  }

  it('a burst changes only the frames in its span', () => {
    const covered = framesCovered(between(20), frameSpan(3), FRAMES);
    expect(covered).toEqual([20, 21, 22]);
    const clean = renderScene(decodeLatent(movingLatent(null, between(20), frameSpan(3))), V2);
    const burst = renderScene(decodeLatent(movingLatent('burst', between(20), frameSpan(3))), V2);
    for (let f = 0; f < FRAMES; f++) expect(sameBytes(frameOf(burst, f), frameOf(clean, f))).toBe(!covered.includes(f));
  });

  it('a dropout of 2 frames removes the object from exactly those frames', () => {
    const clean = renderScene(decodeLatent(movingLatent(null, between(20), frameSpan(2))), V2);
    const scene = decodeLatent(movingLatent('dropout', between(20), frameSpan(2)));
    const drop = renderScene(scene, V2);
    for (let f = 0; f < FRAMES; f++) {
      const gone = f === 20 || f === 21;
      expect(sceneObjectsAt(scene, f, FRAMES)[0]?.present).toBe(!gone);
      expect(redMass(drop, f).mass > 1000).toBe(!gone); // present: ≥ 130 px of red at ~219 above the background
      expect(sameBytes(frameOf(drop, f), frameOf(clean, f))).toBe(!gone);
    }
  });

  it('a recolour at halfway shows the old colour before and the new colour after', () => {
    const scene = v2Scene([circle({ vx: 0.6 })], [event('recolour', EVENT_TIMES.halfway, { rgb: OBJECT_COLOURS.blue })]);
    const v = renderScene(scene, V2);
    // τ = f/47: frame 23 is just before 0.5, frame 24 just after.
    for (const f of [0, 10, 23]) expect(colourUnderObject(v, scene, f)).toBe('red');
    for (const f of [24, 35, 47]) expect(colourUnderObject(v, scene, f)).toBe('blue');
  });

  it('a freeze holds the frame before its span, then the clip runs late by the span', () => {
    const span = framesCovered(between(20), frameSpan(4), FRAMES);
    expect(span).toEqual([20, 21, 22, 23]);
    const clean = renderScene(decodeLatent(movingLatent(null, between(20), frameSpan(4))), V2);
    const frozen = renderScene(decodeLatent(movingLatent('freeze', between(20), frameSpan(4))), V2);
    for (let f = 0; f < 20; f++) expect(sameBytes(frameOf(frozen, f), frameOf(clean, f))).toBe(true);
    for (const f of span) expect(sameBytes(frameOf(frozen, f), frameOf(clean, 19))).toBe(true);
    for (let f = 24; f < FRAMES; f++) expect(sameBytes(frameOf(frozen, f), frameOf(clean, f - 4))).toBe(true);
    expect(sameBytes(frameOf(frozen, 47), frameOf(clean, 47))).toBe(false); // the end is cut
  });

  it('a skip jumps ahead by its span from the span on (the end repeats the last moment)', () => {
    const clean = renderScene(decodeLatent(movingLatent(null, between(20), frameSpan(4))), V2);
    const skip = renderScene(decodeLatent(movingLatent('skip', between(20), frameSpan(4))), V2);
    for (let f = 0; f < 20; f++) expect(sameBytes(frameOf(skip, f), frameOf(clean, f))).toBe(true);
    for (let f = 20; f < FRAMES; f++) expect(sameBytes(frameOf(skip, f), frameOf(clean, Math.min(FRAMES - 1, f + 4)))).toBe(true);
  });

  it('a turn bends the object path at the event time', () => {
    const o = circle({ cx: 24, cy: 20, vx: 1, radius: 6 });
    const turn = event('turn', EVENT_TIMES.halfway, { vx: 0, vy: 1 });
    const v = renderScene(v2Scene([o], [turn]), V2);
    const at = (f: number): { x: number; y: number } => redMass(v, f);
    // Before the turn: rightwards at 1 px per reference frame (23/47 px per frame at 48 frames), no vertical motion.
    const step = 23 / 47;
    expect(at(23).x - at(0).x).toBeCloseTo(23 * step, 0);
    expect(Math.abs(at(23).y - at(0).y)).toBeLessThan(0.2);
    // After it: downwards at the same pace, no horizontal motion.
    expect(at(47).y - at(24).y).toBeCloseTo(23 * step, 0);
    expect(Math.abs(at(47).x - at(24).x)).toBeLessThan(0.2);
    // The path is continuous and the pixels follow objectStateAt frame by frame.
    for (let f = 0; f < FRAMES; f++) {
      const want = objectStateAt(o, turn, f / (FRAMES - 1));
      expect(Math.abs(at(f).x - want.x)).toBeLessThan(0.15);
      expect(Math.abs(at(f).y - want.y)).toBeLessThan(0.15);
    }
    // The bend is at the event: the corner point (24, 20) lies between frames 23 and 24.
    expect(at(23).x).toBeLessThan(24);
    expect(at(24).y).toBeGreaterThan(20);
  });

  it('a flash shows its colour in only ~3 frames at 48 frames, then the object is its own colour again', () => {
    expect(FLASH_SPAN * FRAMES).toBeGreaterThan(2.5);
    expect(FLASH_SPAN * FRAMES).toBeLessThan(3.5);
    for (const when of EVENT_TIME_WORDS) {
      const scene = v2Scene([circle()], [event('flash', EVENT_TIMES[when], { rgb: OBJECT_COLOURS.white })]);
      const v = renderScene(scene, V2);
      const flashed = Array.from({ length: FRAMES }, (_, f) => f).filter((f) => colourUnderObject(v, scene, f) === 'white');
      expect(flashed).toHaveLength(3);
      const first = Math.ceil(EVENT_TIMES[when] * (FRAMES - 1));
      expect(flashed).toEqual([first, first + 1, first + 2]);
      for (let f = 0; f < FRAMES; f++) if (!flashed.includes(f)) expect(colourUnderObject(v, scene, f)).toBe('red');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('world v2 gold evaluator', () => {
  const asked = parsePrompt('a red circle moving right slowly, then turning blue halfway on a black background');
  const plain = parsePrompt('a red circle moving right slowly on a black background');
  const mover = circle({ vx: 0.6 });
  const recolour = (time: number, rgb: Rgb = OBJECT_COLOURS.blue): SceneEvent => event('recolour', time, { rgb });

  it('the right event on time: event and eventTime correct', () => {
    const r = evaluateScene(asked, v2Scene([mover], [recolour(0.5)]));
    expect(r.attributes.event).toEqual({ correct: 1, total: 1 });
    expect(r.attributes.eventTime).toEqual({ correct: 1, total: 1 });
    expect(r.accuracy).toBe(1);
    expect(r.allCorrect).toBe(true);
    // Still on time just inside the tolerance, on either side.
    for (const dt of [-EVENT_TIME_TOLERANCE + 0.01, EVENT_TIME_TOLERANCE - 0.01]) {
      expect(evaluateScene(asked, v2Scene([mover], [recolour(0.5 + dt)])).attributes.eventTime.correct).toBe(1);
    }
  });

  it('the wrong kind or the wrong target: event wrong (and so its time)', () => {
    const flash = evaluateScene(asked, v2Scene([mover], [event('flash', 0.5, { rgb: OBJECT_COLOURS.blue })]));
    expect(flash.attributes.event).toEqual({ correct: 0, total: 1 });
    expect(flash.attributes.eventTime).toEqual({ correct: 0, total: 1 });
    const green = evaluateScene(asked, v2Scene([mover], [recolour(0.5, OBJECT_COLOURS.green)]));
    expect(green.attributes.event.correct).toBe(0);
    const wrongTurn = parsePrompt('a red circle moving right slowly, then moving down fast late on a black background');
    expect(evaluateScene(wrongTurn, v2Scene([mover], [event('turn', 0.75, { vy: 1.3 })])).attributes.event.correct).toBe(1);
    expect(evaluateScene(wrongTurn, v2Scene([mover], [event('turn', 0.75, { vy: 0.6 })])).attributes.event.correct).toBe(0); // slow, not fast
    expect(evaluateScene(wrongTurn, v2Scene([mover], [event('turn', 0.75, { vx: -1.3 })])).attributes.event.correct).toBe(0); // left, not down
  });

  it('a late event (outside EVENT_TIME_TOLERANCE): event right, eventTime wrong', () => {
    for (const dt of [EVENT_TIME_TOLERANCE + 0.02, -EVENT_TIME_TOLERANCE - 0.02, 0.25]) {
      const r = evaluateScene(asked, v2Scene([mover], [recolour(0.5 + dt)]));
      expect(r.attributes.event).toEqual({ correct: 1, total: 1 });
      expect(r.attributes.eventTime).toEqual({ correct: 0, total: 1 });
      expect(r.allCorrect).toBe(false);
    }
  });

  it('a missing event: event and eventTime wrong', () => {
    const r = evaluateScene(asked, v2Scene([mover], [null]));
    expect(r.attributes.event).toEqual({ correct: 0, total: 1 });
    expect(r.attributes.eventTime).toEqual({ correct: 0, total: 1 });
    expect(r.attributes.colour.correct).toBe(1); // the object itself is right
  });

  it('a spurious event when none was asked: the event check fails (no time check)', () => {
    const r = evaluateScene(plain, v2Scene([mover], [recolour(0.5)]));
    expect(r.attributes.event).toEqual({ correct: 0, total: 1 });
    expect(r.attributes.eventTime.total).toBe(0);
    const clean = evaluateScene(plain, v2Scene([mover], [null]));
    expect(clean.attributes.event).toEqual({ correct: 1, total: 1 });
    expect(clean.allCorrect).toBe(true);
  });

  it('checks each object against its own event', () => {
    const two = parsePrompt('a red circle moving right slowly, then leaving early and a blue square staying still, appearing late on a black background');
    const objects = [mover, circle({ rgb: OBJECT_COLOURS.blue, shape: 'square', cx: 10, cy: 10 })];
    const both = evaluateScene(two, v2Scene(objects, [event('leave', 0.25), event('appear', 0.75)]));
    expect(both.attributes.event).toEqual({ correct: 2, total: 2 });
    expect(both.attributes.eventTime).toEqual({ correct: 2, total: 2 });
    const swapped = evaluateScene(two, v2Scene(objects, [event('appear', 0.25), event('leave', 0.75)]));
    expect(swapped.attributes.event).toEqual({ correct: 0, total: 2 });
    const oneLate = evaluateScene(two, v2Scene(objects, [event('leave', 0.25), event('appear', 0.4)]));
    expect(oneLate.attributes.eventTime).toEqual({ correct: 1, total: 2 });
  });

  it('eventMatches / eventOnTime agree with the report', () => {
    const want: EventSpec = { kind: 'turn', motion: 'still', speed: null, when: 'early' };
    expect(eventMatches(want, event('turn', 0.25))).toBe(true);
    expect(eventMatches(want, event('turn', 0.25, { vx: 0.6 }))).toBe(false);
    expect(eventOnTime(want, event('turn', 0.25 + EVENT_TIME_TOLERANCE))).toBe(true);
    expect(eventOnTime(want, event('turn', 0.25 + EVENT_TIME_TOLERANCE + 0.01))).toBe(false);
  });

  it('a dropout lowers MQ, a burst lowers VQ; globalOnly ignores both and the event checks', () => {
    const scene = (defects: LocalDefect[], events: (SceneEvent | null)[] = [null]): Scene => v2Scene([mover], events, defects);
    const base = goldScores(evaluateScene(plain, scene([])));
    expect(base).toMatchObject({ TA: 1, MQ: 1, VQ: 1 });
    const drop = goldScores(evaluateScene(plain, scene([localDefect('dropout', 0.4, 0.04, 0.8)])));
    expect(drop.MQ).toBeCloseTo(1 - LOCAL_DEFECT_WEIGHT * 0.8, 10);
    expect(drop.VQ).toBe(1);
    expect(drop.TA).toBe(1);
    const burst = goldScores(evaluateScene(plain, scene([localDefect('burst', 0.4, 0.06, 1.7)])));
    expect(burst.VQ).toBeCloseTo(1 - LOCAL_DEFECT_WEIGHT, 10); // severity counts up to 1
    expect(burst.MQ).toBe(1);
    expect(burst.overall).toBeLessThan(base.overall);
    // Every MQ kind lowers MQ.
    for (const kind of ['freeze', 'skip', 'flicker'] as const) {
      expect(goldScores(evaluateScene(plain, scene([localDefect(kind, 0.4, 0.1)]))).MQ).toBeCloseTo(1 - LOCAL_DEFECT_WEIGHT, 10);
    }
    // A spurious event, a dropout and a burst at once: all local, so globalOnly sees a perfect video.
    const all = evaluateScene(plain, scene([localDefect('dropout', 0.4, 0.04), localDefect('burst', 0.7, 0.06)], [recolour(0.5)]));
    const full = goldScores(all);
    expect(full.TA).toBeLessThan(1);
    expect(full.MQ).toBeLessThan(1);
    expect(full.VQ).toBeLessThan(1);
    const global = goldScores(all, { globalOnly: true });
    expect(global).toMatchObject({ TA: 1, MQ: 1, VQ: 1 });
    expect(global.overall).toBeCloseTo(1, 10);
  });

  it('a v1 scene has no event checks and the same scores as before world v2', () => {
    const latent = idealLatent(asked, Rng.fromSeed(13)); // v1: the asked event cannot be expressed, and is not checked
    latent[DEFECT_OFFSET + 0] = 1; // blur
    latent[DEFECT_OFFSET + 2] = 0.5; // jitter
    const scene = decodeLatent(latent);
    const r = evaluateScene(asked, scene);
    expect(r.attributes.event).toEqual({ correct: 0, total: 0 });
    expect(r.attributes.eventTime).toEqual({ correct: 0, total: 0 });
    expect(r.localDefects).toEqual([]);
    expect(r.accuracy).toBe(1);
    const s = goldScores(r);
    expect(s.TA).toBe(1);
    expect(s.MQ).toBeCloseTo(1 - 0.5 / 2, 6);
    expect(s.VQ).toBeCloseTo(1 - 1 / 2, 6);
    expect(s.overall).toBeCloseTo(0.6 + 0.2 * 0.75 + 0.2 * 0.5, 6);
    expect(goldScores(r, { globalOnly: true })).toEqual(s);
    // A wrong colour is still one of the six v1 checks.
    const wrong = evaluateScene(plain, { ...scene, objects: [{ ...circle({ vx: 0.6 }), rgb: OBJECT_COLOURS.green }] });
    expect(wrong.accuracy).toBeCloseTo(5 / 6, 10);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('world v2 pretraining data', () => {
  it('clean v2 latents match their event prompts exactly', () => {
    const gen = new PromptGenerator({ seed: 2, split: 'train', ...generatorOptions, eventProbability: 0.6 });
    const rng = Rng.fromSeed(2);
    for (const spec of gen.take(100)) {
      const r = evaluateScene(spec, decodeLatent(sampleDataLatent(spec, rng, CLEAN_DATA, 2)));
      expect(r.allCorrect).toBe(true);
      expect(r.localDefects).toEqual([]);
    }
  });

  it('the imperfect v2 distribution has missing, wrong-kind and off-time events and local defects of every kind', () => {
    const gen = new PromptGenerator({ seed: 3, split: 'train', ...generatorOptions, eventProbability: 0.6 });
    const rng = Rng.fromSeed(3);
    const imperfection = { attributeNoise: 0, defectProbability: 0, jitter: 0.3, ...TEMPORAL_DATA_DEFAULTS };
    const n = { asked: 0, right: 0, missing: 0, wrongKind: 0, offTime: 0, unasked: 0, spurious: 0 };
    const defects = new Map<LocalDefectKind, number>();
    let defectSlots = 0;
    for (const spec of gen.take(300)) {
      const scene = decodeLatent(sampleDataLatent(spec, rng, imperfection, 2));
      const t = scene.temporal;
      if (t === undefined) throw new Error('a v2 latent decodes with temporal');
      spec.objects.forEach((o, k) => {
        const got = t.events[k] ?? null;
        if (o.event === undefined) {
          n.unasked += 1;
          if (got !== null) n.spurious += 1;
          return;
        }
        n.asked += 1;
        if (got === null) n.missing += 1;
        else if (got.kind !== o.event.kind) n.wrongKind += 1;
        else if (eventMatches(o.event, got)) {
          if (eventOnTime(o.event, got)) n.right += 1;
          else n.offTime += 1;
        }
      });
      defectSlots += 2;
      for (const d of t.localDefects) defects.set(d.kind, (defects.get(d.kind) ?? 0) + 1);
    }
    // Expected: ~1 − 0.4 of asked events right; ~0.1 of them each missing / another kind / off time.
    expect(n.asked).toBeGreaterThan(150);
    expect(n.right / n.asked).toBeGreaterThan(0.45);
    expect(n.right / n.asked).toBeLessThan(0.75);
    expect(n.missing).toBeGreaterThanOrEqual(5);
    expect(n.wrongKind).toBeGreaterThanOrEqual(5);
    expect(n.offTime).toBeGreaterThanOrEqual(5);
    expect(n.spurious / n.unasked).toBeGreaterThan(0.05);
    expect(n.spurious / n.unasked).toBeLessThan(0.3);
    for (const kind of LOCAL_DEFECT_KINDS) expect(defects.get(kind) ?? 0).toBeGreaterThanOrEqual(5);
    const total = [...defects.values()].reduce((a, b) => a + b, 0);
    expect(total / defectSlots).toBeGreaterThan(0.2);
    expect(total / defectSlots).toBeLessThan(0.4);
  });
});
