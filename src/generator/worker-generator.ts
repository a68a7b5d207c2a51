/**
 * The generator a worker serves (`vr-grpo serve-generator`, in the main thread or in its generator thread): the
 * embedded policy with its trainer and, with a state folder, restored from and saved to it after every update.
 */
import type { Config } from '../config/index.js';
import { EmbeddedGenerator, trainerOptionsFrom } from './embedded-generator.js';
import type { TrainableGenerator } from './generator.js';
import { PersistentGenerator, readWorkerState, restoreWorkerState } from './worker-state.js';

export interface WorkerGeneratorOptions {
  readonly config: Config;
  /** Keep the policy here after every update and restore it on open; null: start from the base checkpoint, keep nothing. */
  readonly stateDir: string | null;
}

/** What {@link openWorkerGenerator} opened, and the updates it restored (0 without a saved state). */
export interface OpenedWorkerGenerator {
  readonly generator: TrainableGenerator;
  readonly restoredUpdates: number;
  /** Whether a saved state was found in the state folder. */
  readonly restored: boolean;
}

/** Opens the worker's generator; GENERATOR_STATE_CORRUPT for a state folder that cannot be served (nothing left open). */
export async function openWorkerGenerator(options: WorkerGeneratorOptions): Promise<OpenedWorkerGenerator> {
  const { config, stateDir } = options;
  const state = stateDir === null ? null : readWorkerState(stateDir);
  const embedded = await EmbeddedGenerator.create({
    config,
    trainer: trainerOptionsFrom(config),
    ...(state?.optimizer == null ? {} : { optimizerState: state.optimizer }),
  });
  if (state !== null && stateDir !== null) {
    try {
      restoreWorkerState(embedded.policy, state, stateDir);
    } catch (error) {
      await embedded.close();
      throw error;
    }
  }
  const restoredUpdates = state?.updates ?? 0;
  const generator = stateDir === null ? embedded : new PersistentGenerator(embedded, stateDir, restoredUpdates);
  return { generator, restoredUpdates, restored: state !== null };
}
