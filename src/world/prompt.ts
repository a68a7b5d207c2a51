/** Structured prompts of the world (`PromptSpec`), their English rendering, and the parser back from text. */
import { VrGrpoError } from '../errors/index.js';
import {
  BACKGROUND_COLOUR_NAMES,
  EVENT_TIME_WORDS,
  MOTIONS,
  OBJECT_COLOUR_NAMES,
  SHAPES,
  type BackgroundColour,
  type EventTime,
  type Motion,
  type ObjectColour,
  type Shape,
  type Speed,
} from './vocabulary.js';

/** Something that happens to an object at a moment of the clip (world v2). */
export type EventSpec =
  /** Turns another colour and stays so. */
  | { readonly kind: 'recolour'; readonly colour: ObjectColour; readonly when: EventTime }
  /** Shows another colour for a moment (FLASH_SPAN of the clip), then its own again. */
  | { readonly kind: 'flash'; readonly colour: ObjectColour; readonly when: EventTime }
  /** Changes direction or speed (motion 'still' = stops). */
  | { readonly kind: 'turn'; readonly motion: Motion; readonly speed: Speed | null; readonly when: EventTime }
  /** Absent before `when` / absent from `when` on. */
  | { readonly kind: 'appear' | 'leave'; readonly when: EventTime };

export interface ObjectSpec {
  readonly colour: ObjectColour;
  readonly shape: Shape;
  /** Motion at the start of the clip (before a 'turn' event). */
  readonly motion: Motion;
  /** null exactly when motion is 'still'. */
  readonly speed: Speed | null;
  /** World v2: at most one event per object; absent in world v1. */
  readonly event?: EventSpec;
}

export interface PromptSpec {
  /** One or two objects; slot order is prompt order. */
  readonly objects: readonly [ObjectSpec] | readonly [ObjectSpec, ObjectSpec];
  readonly background: BackgroundColour;
}

const motionWords = (motion: Motion, speed: Speed | null): string => `moving ${motion} ${speed === 'fast' ? 'fast' : 'slowly'}`;

function eventText(e: EventSpec): string {
  switch (e.kind) {
    case 'recolour':
      return `then turning ${e.colour} ${e.when}`;
    case 'flash':
      return `then flashing ${e.colour} ${e.when}`;
    case 'turn':
      return `then ${e.motion === 'still' ? 'stopping' : motionWords(e.motion, e.speed)} ${e.when}`;
    case 'leave':
      return `then leaving ${e.when}`;
    case 'appear':
      return `appearing ${e.when}`;
  }
}

function objectText(o: ObjectSpec): string {
  const motion = o.motion === 'still' ? 'staying still' : motionWords(o.motion, o.speed);
  return `a ${o.colour} ${o.shape} ${motion}${o.event === undefined ? '' : `, ${eventText(o.event)}`}`;
}

/** English text of a prompt: "a red circle moving left slowly and a blue square staying still on a gray background". */
export function promptText(spec: PromptSpec): string {
  return `${spec.objects.map(objectText).join(' and ')} on a ${spec.background} background`;
}

const alt = (words: readonly string[]): string => words.join('|');
const MOVING = MOTIONS.filter((m) => m !== 'still');
const SPEED_WORD = '(slowly|slow|fast|quickly)';
const OBJECT_RE = new RegExp(
  `^(?:a|an)\\s+(${alt(OBJECT_COLOUR_NAMES)})\\s+(${alt(SHAPES)})\\s+(?:(staying still|still)|moving\\s+(${alt(MOVING)})(?:\\s+${SPEED_WORD})?)` +
    `(?:\\s*,\\s*(.+))?$`,
);
const EVENT_RE = new RegExp(
  `^(?:then\\s+turning\\s+(${alt(OBJECT_COLOUR_NAMES)})|then\\s+flashing\\s+(${alt(OBJECT_COLOUR_NAMES)})|then\\s+(stopping)|` +
    `then\\s+moving\\s+(${alt(MOVING)})(?:\\s+${SPEED_WORD})?|then\\s+(leaving)|(appearing))\\s+(${alt(EVENT_TIME_WORDS)})$`,
);
const speedOf = (word: string | undefined): Speed => (word === 'fast' || word === 'quickly' ? 'fast' : 'slow');

function parseEvent(text: string): EventSpec | null {
  const m = EVENT_RE.exec(text.trim());
  if (m === null) return null;
  const when = m[8] as EventTime;
  if (m[1] !== undefined) return { kind: 'recolour', colour: m[1] as ObjectColour, when };
  if (m[2] !== undefined) return { kind: 'flash', colour: m[2] as ObjectColour, when };
  if (m[3] !== undefined) return { kind: 'turn', motion: 'still', speed: null, when };
  if (m[4] !== undefined) return { kind: 'turn', motion: m[4] as Motion, speed: speedOf(m[5]), when };
  if (m[6] !== undefined) return { kind: 'leave', when };
  return { kind: 'appear', when };
}
const PROMPT_RE = new RegExp(`^(.*?)\\s+on\\s+(?:a|an)\\s+(${alt(BACKGROUND_COLOUR_NAMES)})\\s+background\\.?$`);

function parseObject(text: string): ObjectSpec | null {
  const m = OBJECT_RE.exec(text.trim());
  if (m === null) return null;
  const colour = m[1] as ObjectColour;
  const shape = m[2] as Shape;
  const base: ObjectSpec =
    m[3] !== undefined ? { colour, shape, motion: 'still', speed: null } : { colour, shape, motion: m[4] as Motion, speed: speedOf(m[5]) };
  if (m[6] === undefined) return base;
  const event = parseEvent(m[6]);
  return event === null ? null : { ...base, event };
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
