/** Structured prompts of the world (`PromptSpec`), their English rendering, and the parser back from text. */
import { VrGrpoError } from '../errors/index.js';
import {
  BACKGROUND_COLOUR_NAMES,
  MOTIONS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  type BackgroundColour,
  type Motion,
  type ObjectColour,
  type Shape,
  type Speed,
} from './vocabulary.js';

export interface ObjectSpec {
  readonly colour: ObjectColour;
  readonly shape: Shape;
  readonly motion: Motion;
  /** null exactly when motion is 'still'. */
  readonly speed: Speed | null;
}

export interface PromptSpec {
  /** One or two objects; slot order is prompt order. */
  readonly objects: readonly [ObjectSpec] | readonly [ObjectSpec, ObjectSpec];
  readonly background: BackgroundColour;
}

function objectText(o: ObjectSpec): string {
  const motion = o.motion === 'still' ? 'staying still' : `moving ${o.motion} ${o.speed === 'fast' ? 'fast' : 'slowly'}`;
  return `a ${o.colour} ${o.shape} ${motion}`;
}

/** English text of a prompt: "a red circle moving left slowly and a blue square staying still on a gray background". */
export function promptText(spec: PromptSpec): string {
  return `${spec.objects.map(objectText).join(' and ')} on a ${spec.background} background`;
}

const alt = (words: readonly string[]): string => words.join('|');
const OBJECT_RE = new RegExp(
  `^(?:a|an)\\s+(${alt(OBJECT_COLOUR_NAMES)})\\s+(${alt(SHAPES)})\\s+(?:(staying still|still)|moving\\s+(${alt(
    MOTIONS.filter((m) => m !== 'still'),
  )})(?:\\s+(slowly|slow|fast|quickly))?)$`,
);
const PROMPT_RE = new RegExp(`^(.*?)\\s+on\\s+(?:a|an)\\s+(${alt(BACKGROUND_COLOUR_NAMES)})\\s+background\\.?$`);

function parseObject(text: string): ObjectSpec | null {
  const m = OBJECT_RE.exec(text.trim());
  if (m === null) return null;
  const colour = m[1] as ObjectColour;
  const shape = m[2] as Shape;
  if (m[3] !== undefined) return { colour, shape, motion: 'still', speed: null };
  const motion = m[4] as Motion;
  const speedWord = m[5];
  const speed: Speed = speedWord === 'fast' || speedWord === 'quickly' ? 'fast' : 'slow';
  return { colour, shape, motion, speed };
}

/** Parses world prompt text back into a spec; returns null for text outside the grammar. */
export function tryParsePrompt(text: string): PromptSpec | null {
  const m = PROMPT_RE.exec(text.trim().toLowerCase().replace(/\s+/g, ' '));
  if (m === null || m[1] === undefined) return null;
  const parts = m[1].split(/\s+and\s+/);
  if (parts.length < 1 || parts.length > 2) return null;
  const objects = parts.map(parseObject);
  const [a, b] = objects;
  if (a == null || (parts.length === 2 && b == null)) return null;
  const background = m[2] as BackgroundColour;
  return b == null ? { objects: [a], background } : { objects: [a, b], background };
}

/** Like {@link tryParsePrompt} but raises INVALID_ARGUMENT for text outside the grammar. */
export function parsePrompt(text: string): PromptSpec {
  const spec = tryParsePrompt(text);
  if (spec === null) {
    throw new VrGrpoError('INVALID_ARGUMENT', `prompt is outside the world's grammar: ${JSON.stringify(text)}`, {
      details: { prompt: text },
    });
  }
  return spec;
}
