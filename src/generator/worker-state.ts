/**
 * A generator worker's own policy state, kept on disk so a killed worker restarts where it was: after every policy
 * update the adapters, the optimizer state and the number of updates applied are written atomically to
 * `<stateDir>/policy` (a policy checkpoint referring to the base); a worker started on the same folder restores them.
 * The update count is what the worker reports (`status.policyUpdates`) and what a reconnecting coordinator checks
 * before it redoes a step on the restarted worker (src/generator/remote/reconnecting-generator.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VrGrpoError } from '../errors/index.js';
import { readAdapterState, type AdapterState } from './checkpoint.js';
import type { EmbeddedGenerator } from './embedded-generator.js';
import type { UpdateStats } from './flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, RolloutAdvantages, TrainableGenerator } from './generator.js';

/** What a worker restores from its state folder: its adapter state and the policy updates applied since the base. */
export interface WorkerPolicyState extends AdapterState {
  readonly updates: number;
}

const policyDir = (stateDir: string): string => join(stateDir, 'policy');

/** The state saved in `stateDir`, or null when the folder holds none yet (CHECKPOINT_INVALID when it is unreadable). */
export function readWorkerState(stateDir: string): WorkerPolicyState | null {
  const dir = policyDir(stateDir);
  if (!existsSync(join(dir, 'manifest.json'))) return null;
  const state = readAdapterState(dir);
  const updates = state.metadata.updates;
  if (typeof updates !== 'number' || !Number.isInteger(updates) || updates < 0) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `worker state ${dir}: metadata.updates must be a non-negative integer`, { details: { dir } });
  }
  return { ...state, updates };
}

/**
 * An embedded generator whose every successful update is followed by a save of its state (before the update's answer
 * goes back, so a worker that answered has persisted). Rollouts are not persisted: a restarted worker has none.
 */
export class PersistentGenerator implements TrainableGenerator {
  readonly name: string;
  #updates: number;

  constructor(
    private readonly inner: EmbeddedGenerator,
    private readonly stateDir: string,
    restoredUpdates: number,
  ) {
    this.name = inner.name;
    this.#updates = restoredUpdates;
  }

  policyUpdates(): number {
    return this.#updates;
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.inner.generate(request);
  }

  async update(rollouts: readonly RolloutAdvantages[]): Promise<UpdateStats> {
    const stats = await this.inner.update(rollouts);
    this.#updates += 1;
    this.inner.saveAdapters(policyDir(this.stateDir), { updates: this.#updates });
    return stats;
  }

  discard(rolloutIds: readonly string[]): Promise<void> {
    return this.inner.discard(rolloutIds);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
