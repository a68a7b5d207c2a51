/** What crosses between the generator thread and its ThreadedGenerator (structured clones; one process, one build). */
import type { Config } from '../../config/index.js';
import type { RawVideo } from '../../media/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GeneratedVideo, GenerateTiming } from '../generator.js';

/** Start data of the generator thread. */
export interface GeneratorThreadData {
  readonly config: Config;
  readonly stateDir: string | null;
}

export interface ThreadDescription {
  readonly name: string;
  /** Updates since the base checkpoint, or null for a generator that does not count them (no state folder). */
  readonly policyUpdates: number | null;
  readonly restoredUpdates: number;
  readonly restored: boolean;
  /** Which optional members the generator in the thread has. */
  readonly has: { readonly replays: boolean; readonly policyDigest: boolean; readonly state: boolean };
}

export interface ThreadGenerateResult {
  readonly rolloutId: string;
  readonly videos: readonly GeneratedVideo<RawVideo>[];
  readonly timing: GenerateTiming;
}

export interface ThreadUpdateResult {
  readonly stats: UpdateStats;
  readonly policyUpdates: number | null;
}
