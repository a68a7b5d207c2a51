/** Seeded prompt generator with a train split and a held-out split of (colour, shape) combinations never used in pretraining. */
import { Rng, type RngState } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import type { EventSpec, ObjectSpec, PromptSpec } from './prompt.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  EVENT_KINDS,
  EVENT_TIME_WORDS,
  MIN_CONTRAST,
  MOTIONS,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  SPEEDS,
  rgbDistance,
  type BackgroundColour,
  type EventKind,
  type Motion,
  type ObjectColour,
  type Shape,
  type Speed,
} from './vocabulary.js';

export type Split = 'train' | 'heldout';

/** A (colour, shape) pair written `colour/shape`. */
export type ComboKey = `${ObjectColour}/${Shape}`;

export function comboKey(colour: ObjectColour, shape: Shape): ComboKey {
  return `${colour}/${shape}`;
}

/**
 * The held-out (colour, shape) combinations for a split seed: about `fraction` of all pairs, chosen so that every colour
 * and every shape still occurs in the train split (at most one held-out shape per colour).
 */
export function heldOutCombos(splitSeed: number, fraction: number): ReadonlySet<ComboKey> {
  if (!(fraction >= 0 && fraction <= 0.5)) {
    throw new VrGrpoError('INVALID_ARGUMENT', `heldOutFraction must be in [0, 0.5], got ${fraction}`);
  }
  const rng = Rng.fromSeed(splitSeed);
  const target = Math.round(fraction * OBJECT_COLOUR_NAMES.length * SHAPES.length);
  const colours = rng.shuffle([...OBJECT_COLOUR_NAMES]);
  const out = new Set<ComboKey>();
  const shapeCount = new Map<Shape, number>();
  for (const colour of colours) {
    if (out.size >= target) break;
    // Spread held-out pairs over shapes so no shape loses many of its colours.
    const shapes = rng.shuffle([...SHAPES]).sort((a, b) => (shapeCount.get(a) ?? 0) - (shapeCount.get(b) ?? 0));
    const shape = shapes[0];
    if (shape === undefined) break;
    out.add(comboKey(colour, shape));
    shapeCount.set(shape, (shapeCount.get(shape) ?? 0) + 1);
  }
  return out;
}

/** An (event kind, shape) pair written `kind/shape` (world v2). */
export type EventComboKey = `${EventKind}/${Shape}`;

/**
 * World v2's held-out (event kind, shape) pairs: one shape per event kind, spread over the shapes, so every kind and
 * every shape still meet events in the train split.
 */
export function heldOutEventCombos(splitSeed: number): ReadonlySet<EventComboKey> {
  const rng = Rng.fromSeed(splitSeed ^ 0x5e7e);
  const shapes = rng.shuffle([...SHAPES]);
  return new Set(EVENT_KINDS.map((kind, i): EventComboKey => `${kind}/${shapes[i % shapes.length] ?? 'circle'}`));
}

export interface PromptGeneratorOptions {
  readonly seed: number;
  readonly split: Split;
  /** Seed of the held-out choice; must be the same for every split of one world. */
  readonly splitSeed: number;
  readonly heldOutFraction: number;
  /** Probability that a prompt has a second object. */
  readonly secondObjectProbability: number;
  /** World v2: probability that an object has an event; 0 (world v1) draws none and leaves the v1 stream unchanged. */
  readonly eventProbability?: number;
}

export class PromptGenerator {
  private readonly rng: Rng;
  readonly heldOut: ReadonlySet<ComboKey>;
  private readonly trainPairs: readonly (readonly [ObjectColour, Shape])[];
  private readonly heldOutPairs: readonly (readonly [ObjectColour, Shape])[];
  readonly heldOutEvents: ReadonlySet<EventComboKey>;

  constructor(
    private readonly options: PromptGeneratorOptions,
    state?: RngState,
  ) {
    this.rng = state === undefined ? Rng.fromSeed(options.seed) : Rng.fromState(state);
    this.heldOut = heldOutCombos(options.splitSeed, options.heldOutFraction);
    const all = OBJECT_COLOUR_NAMES.flatMap((c) => SHAPES.map((s) => [c, s] as const));
    this.trainPairs = all.filter(([c, s]) => !this.heldOut.has(comboKey(c, s)));
    this.heldOutPairs = all.filter(([c, s]) => this.heldOut.has(comboKey(c, s)));
    this.heldOutEvents = heldOutEventCombos(options.splitSeed);
    if (options.split === 'heldout' && this.heldOutPairs.length === 0) {
      throw new VrGrpoError('INVALID_ARGUMENT', 'the held-out split is empty (heldOutFraction is 0)');
    }
  }

  /** The generator's RNG state, for checkpoints. */
  state(): RngState {
    return this.rng.state();
  }

  private object(pair: readonly [ObjectColour, Shape]): ObjectSpec {
    const motion = this.rng.pick(MOTIONS);
    return { colour: pair[0], shape: pair[1], motion, speed: motion === 'still' ? null : this.rng.pick(SPEEDS) };
  }

  /**
   * An event for an object (world v2): never a held-out (kind, shape) pair in the train split; in the held-out split
   * the first object takes its shape's held-out kind half of the time.
   */
  private event(o: ObjectSpec, background: BackgroundColour, first: boolean): EventSpec {
    const held = EVENT_KINDS.filter((k) => this.heldOutEvents.has(`${k}/${o.shape}`));
    const allowed = EVENT_KINDS.filter((k) => !held.includes(k));
    const useHeld = this.options.split === 'heldout' && first && held.length > 0 && this.rng.bool(0.5);
    const kind = this.rng.pick(useHeld ? held : allowed);
    const when = this.rng.pick(EVENT_TIME_WORDS);
    switch (kind) {
      case 'recolour':
      case 'flash': {
        const colours = OBJECT_COLOUR_NAMES.filter((c) => c !== o.colour && rgbDistance(OBJECT_COLOURS[c], BACKGROUND_COLOURS[background]) >= MIN_CONTRAST);
        return { kind, colour: this.rng.pick(colours), when };
      }
      case 'turn': {
        const options = MOTIONS.flatMap((m): { motion: Motion; speed: Speed | null }[] =>
          m === 'still' ? [{ motion: m, speed: null }] : SPEEDS.map((s) => ({ motion: m, speed: s })),
        );
        const { motion, speed } = this.rng.pick(options.filter((x) => x.motion !== o.motion || x.speed !== o.speed));
        return { kind, motion, speed, when };
      }
      case 'appear':
      case 'leave':
        return { kind, when };
    }
  }

  private withEvent(o: ObjectSpec, background: BackgroundColour, first: boolean): ObjectSpec {
    const p = this.options.eventProbability ?? 0;
    return p > 0 && this.rng.bool(p) ? { ...o, event: this.event(o, background, first) } : o;
  }

  next(): PromptSpec {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const firstPool = this.options.split === 'heldout' ? this.heldOutPairs : this.trainPairs;
      const firstObject = this.object(this.rng.pick(firstPool));
      const background: BackgroundColour = this.rng.pick(BACKGROUND_COLOUR_NAMES);
      const first = this.withEvent(firstObject, background, true);
      const two = this.rng.bool(this.options.secondObjectProbability);
      const second = two ? this.withEvent(this.object(this.rng.pick(this.trainPairs)), background, false) : null;
      const objects = second === null ? [first] : [first, second];
      if (!objects.every((o) => rgbDistance(OBJECT_COLOURS[o.colour], BACKGROUND_COLOURS[background]) >= MIN_CONTRAST)) continue;
      if (second !== null && second.colour === first.colour && second.shape === first.shape) continue;
      return second === null ? { objects: [first], background } : { objects: [first, second], background };
    }
    throw new VrGrpoError('INVALID_ARGUMENT', 'could not draw a prompt with enough contrast');
  }

  take(n: number): PromptSpec[] {
    return Array.from({ length: n }, () => this.next());
  }
}

/** The world settings a prompt generator needs (the config's `world` section). */
export interface WorldPromptSettings {
  readonly version: 1 | 2;
  readonly splitSeed: number;
  readonly heldOutFraction: number;
  readonly secondObjectProbability: number;
  readonly eventProbability: number;
}

/** Prompt generator options for a world: events only in world v2 (v1 draws exactly as before events existed). */
export function worldPromptOptions(world: WorldPromptSettings, split: Split, seed: number): PromptGeneratorOptions {
  return {
    seed,
    split,
    splitSeed: world.splitSeed,
    heldOutFraction: world.heldOutFraction,
    secondObjectProbability: world.secondObjectProbability,
    eventProbability: world.version === 2 ? world.eventProbability : 0,
  };
}
