/** The network's classification heads and their class orders (the world's vocabularies), shared by runtime and training. */
import { BACKGROUND_COLOUR_NAMES, OBJECT_COLOUR_NAMES, SHAPES } from '../../../../world/index.js';

/** Name of the single model input (`[N, FEATURE_SIZE]` float32). */
export const INPUT_NAME = 'crop';

/** Heads in graph order; class order is the world's vocabulary order. */
export const HEADS = [
  { name: 'colour', classes: OBJECT_COLOUR_NAMES as readonly string[] },
  { name: 'shape', classes: SHAPES as readonly string[] },
  { name: 'background', classes: BACKGROUND_COLOUR_NAMES as readonly string[] },
] as const;

export type HeadName = (typeof HEADS)[number]['name'];

/** Output names read at inference: the softmax of every head. */
export const PROB_OUTPUTS: Readonly<Record<HeadName, string>> = { colour: 'colour_probs', shape: 'shape_probs', background: 'background_probs' };
