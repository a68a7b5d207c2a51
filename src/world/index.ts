/** The synthetic scene world: prompt grammar, scene latent, renderer and gold evaluator. */
export * from './vocabulary.js';
export * from './prompt.js';
export * from './prompt-generator.js';
export * from './latent.js';
export * from './renderer.js';
export * from './gold.js';
export * from './scene-builder.js';
export * from './temporal.js';
