/**
 * World v1 settings for tests written against it (24-frame clips without events, the v1 base and rm-v2 perception,
 * pointwise rewards): the shipped default moved to world v2 and pairwise thinking judgments; these tests keep checking
 * what they were built to check, on the world they were built for.
 */
import { join } from 'node:path';
import { PROJECT_ROOT, defaultConfig, mergeRawConfig, type Config } from '../src/config/index.js';

export const WORLD_V1 = Object.freeze({
  world: { version: 1, frames: 24 },
  generator: { checkpoint: join(PROJECT_ROOT, 'models', 'generator-base') },
  pretrain: { out: join(PROJECT_ROOT, 'models', 'generator-base') },
  judge: { checkpoint: join(PROJECT_ROOT, 'models', 'rm-v2') },
  reward: { mode: 'pointwise', plan: 'all-pairs' },
});

/** The default config on world v1, with `overrides` on top (nested objects merge). */
export function v1Config(overrides: Record<string, unknown> = {}): Config {
  return defaultConfig(mergeRawConfig(WORLD_V1, overrides));
}
