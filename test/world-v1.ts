/**
 * World v1 settings for tests written against it (24-frame clips without events, the v1 base and rm-v2 perception,
 * pointwise rewards): the shipped default moved to world v2 and pairwise thinking judgments; these tests keep checking
 * what they were built to check, on the world they were built for.
 */
import { join } from 'node:path';
import { PROJECT_ROOT, defaultConfig, type Config } from '../src/config/index.js';

export const WORLD_V1 = Object.freeze({
  world: { version: 1, frames: 24 },
  generator: { checkpoint: join(PROJECT_ROOT, 'models', 'generator-base') },
  pretrain: { out: join(PROJECT_ROOT, 'models', 'generator-base') },
  judge: { checkpoint: join(PROJECT_ROOT, 'models', 'rm-v2') },
  reward: { mode: 'pointwise', plan: 'all-pairs' },
});

const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `b` over `a`, merging nested objects (arrays and scalars replace). */
export function mergeRaw(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? mergeRaw(prev, v) : v;
  }
  return out;
}

/** The default config on world v1, with `overrides` on top (nested objects merge). */
export function v1Config(overrides: Record<string, unknown> = {}): Config {
  return defaultConfig(mergeRaw(WORLD_V1, overrides));
}
