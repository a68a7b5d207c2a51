/** Seeded prompt generator with a train split and a held-out split of (colour, shape) combinations never used in pretraining. */
import { Rng, type RngState } from '../common/rng.js';
import { VrGrpoError } from '../errors/index.js';
import type { ObjectSpec, PromptSpec } from './prompt.js';
import {
  BACKGROUND_COLOURS,
  BACKGROUND_COLOUR_NAMES,
  MIN_CONTRAST,
  MOTIONS,
  OBJECT_COLOURS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  SPEEDS,
  rgbDistance,
  type BackgroundColour,
  type ObjectColour,
  type Shape,
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

export interface PromptGeneratorOptions {
  readonly seed: number;
  readonly split: Split;
  /** Seed of the held-out choice; must be the same for every split of one world. */
  readonly splitSeed: number;
  readonly heldOutFraction: number;
  /** Probability that a prompt has a second object. */
  readonly secondObjectProbability: number;
}

export class PromptGenerator {
  private readonly rng: Rng;
  readonly heldOut: ReadonlySet<ComboKey>;
  private readonly trainPairs: readonly (readonly [ObjectColour, Shape])[];
  private readonly heldOutPairs: readonly (readonly [ObjectColour, Shape])[];

  constructor(private readonly options: PromptGeneratorOptions, state?: RngState) {
    this.rng = state === undefined ? Rng.fromSeed(options.seed) : Rng.fromState(state);
    this.heldOut = heldOutCombos(options.splitSeed, options.heldOutFraction);
    const all = OBJECT_COLOUR_NAMES.flatMap((c) => SHAPES.map((s) => [c, s] as const));
    this.trainPairs = all.filter(([c, s]) => !this.heldOut.has(comboKey(c, s)));
    this.heldOutPairs = all.filter(([c, s]) => this.heldOut.has(comboKey(c, s)));
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

  next(): PromptSpec {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const firstPool = this.options.split === 'heldout' ? this.heldOutPairs : this.trainPairs;
      const first = this.object(this.rng.pick(firstPool));
      const background: BackgroundColour = this.rng.pick(BACKGROUND_COLOUR_NAMES);
      const two = this.rng.bool(this.options.secondObjectProbability);
      const second = two ? this.object(this.rng.pick(this.trainPairs)) : null;
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
