/** The words of the synthetic world: object colours, shapes, backgrounds, motions and speeds, with their physical meaning. */

export type Rgb = readonly [number, number, number];

export const OBJECT_COLOURS = {
  red: [0.9, 0.12, 0.1],
  orange: [1.0, 0.55, 0.05],
  yellow: [0.95, 0.9, 0.1],
  green: [0.15, 0.75, 0.2],
  cyan: [0.1, 0.85, 0.9],
  blue: [0.15, 0.3, 0.95],
  purple: [0.6, 0.2, 0.85],
  pink: [1.0, 0.5, 0.75],
  white: [0.97, 0.97, 0.97],
} as const satisfies Record<string, Rgb>;

export const BACKGROUND_COLOURS = {
  black: [0.04, 0.04, 0.04],
  gray: [0.5, 0.5, 0.5],
  navy: [0.05, 0.08, 0.32],
  forest: [0.05, 0.28, 0.1],
  beige: [0.88, 0.82, 0.66],
  maroon: [0.38, 0.05, 0.08],
} as const satisfies Record<string, Rgb>;

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;
export const MOTIONS = ['left', 'right', 'up', 'down', 'still'] as const;
export const SPEEDS = ['slow', 'fast'] as const;

export type ObjectColour = keyof typeof OBJECT_COLOURS;
export type BackgroundColour = keyof typeof BACKGROUND_COLOURS;
export type Shape = (typeof SHAPES)[number];
export type Motion = (typeof MOTIONS)[number];
export type Speed = (typeof SPEEDS)[number];

export const OBJECT_COLOUR_NAMES = Object.keys(OBJECT_COLOURS) as ObjectColour[];
export const BACKGROUND_COLOUR_NAMES = Object.keys(BACKGROUND_COLOURS) as BackgroundColour[];

/** Speed of each word in pixels per frame (at the default 64×64 size). */
export const SPEED_PX_PER_FRAME: Readonly<Record<Speed, number>> = { slow: 0.6, fast: 1.3 };
/** Below this speed (px/frame) an object counts as still. */
export const STILL_BELOW_PX_PER_FRAME = 0.3;
/** At or above this speed (px/frame) a moving object counts as fast. */
export const FAST_FROM_PX_PER_FRAME = 0.95;

/** Unit direction of each motion word in image coordinates (y grows downwards). */
export const MOTION_DIRECTION: Readonly<Record<Motion, readonly [number, number]>> = {
  left: [-1, 0],
  right: [1, 0],
  up: [0, -1],
  down: [0, 1],
  still: [0, 0],
};

export function rgbDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Nearest named colour of a palette. */
export function nearestColour<K extends string>(palette: Readonly<Record<K, Rgb>>, rgb: Rgb): K {
  let best: K | null = null;
  let bestD = Infinity;
  for (const name of Object.keys(palette) as K[]) {
    const d = rgbDistance(palette[name], rgb);
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  if (best === null) throw new RangeError('empty palette');
  return best;
}

/** Minimum RGB distance between an object colour and its background for a prompt to be generated. */
export const MIN_CONTRAST = 0.4;

// ---- World v2: events and temporally local defects (docs/world.md, "World v2") ----

/** What can happen to an object at a moment of the clip (world v2). */
export const EVENT_KINDS = ['recolour', 'turn', 'appear', 'leave', 'flash'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** When an event happens, as words and as a fraction of the clip. */
export const EVENT_TIMES = { early: 0.25, halfway: 0.5, late: 0.75 } as const;
export type EventTime = keyof typeof EVENT_TIMES;
export const EVENT_TIME_WORDS = Object.keys(EVENT_TIMES) as EventTime[];
/** An event counts as on time within this fraction of the clip of its word's time. */
export const EVENT_TIME_TOLERANCE = 0.125;
/** A flash shows its colour for this fraction of the clip (3 frames of 48). */
export const FLASH_SPAN = 0.065;

/** Defects that hold for a few frames only (world v2); each decides motion or visual quality. */
export const LOCAL_DEFECT_KINDS = ['burst', 'dropout', 'freeze', 'skip', 'flicker'] as const;
export type LocalDefectKind = (typeof LOCAL_DEFECT_KINDS)[number];
/** The gold dimension each local defect lowers. */
export const LOCAL_DEFECT_DIMENSION: Readonly<Record<LocalDefectKind, 'MQ' | 'VQ'>> = {
  burst: 'VQ',
  dropout: 'MQ',
  freeze: 'MQ',
  skip: 'MQ',
  flicker: 'MQ',
};

/** The clip is measured in reference frames: velocities are px per 1/24 of the clip, whatever the frame count. */
export const REFERENCE_FRAMES = 24;
