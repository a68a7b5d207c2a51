/**
 * A generator worker's own policy state, kept on disk so a killed worker restarts where it was: after every policy
 * update the adapters, the optimizer state and the number of updates applied are written atomically to
 * `<stateDir>/policy` (a policy checkpoint referring to the base); a worker started on the same folder restores them.
 * The update count is what the worker reports (`status.policyUpdates`) and what a reconnecting coordinator checks
 * before it redoes a step on the restarted worker (src/generator/remote/reconnecting-generator.ts).
 * A state is saved only when every number in it is finite, and checked again when read: an unreadable, inconsistent or
 * non-finite state is refused with GENERATOR_STATE_CORRUPT instead of being served.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { isVrGrpoError, VrGrpoError } from '../errors/index.js';
import { readAdapterState, type AdapterState } from './checkpoint.js';
import type { EmbeddedGenerator } from './embedded-generator.js';
import type { FlowPolicy } from './flow-policy.js';
import type { UpdateStats } from './flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, ReplayedRollout, RolloutAdvantages, SavedGeneratorState, TrainableGenerator } from './generator.js';
import type { RawVideo } from '../media/index.js';

/** What a worker restores from its state folder: its adapter state and the policy updates applied since the base. */
export interface WorkerPolicyState extends AdapterState {
  readonly updates: number;
}

const policyDir = (stateDir: string): string => join(stateDir, 'policy');
/** Where `save` puts named states: `<stateDir>/saved/<tag>`. */
const savedDir = (stateDir: string): string => join(stateDir, 'saved');

/**
 * The saved-state folder `ref` names, after realpath: CHECKPOINT_NOT_FOUND when there is none, FORBIDDEN_PATH when it
 * lies outside `<stateDir>/saved` (a reference is the worker's own, but it arrives over the wire).
 */
function savedStateFolder(stateDir: string, ref: string): string {
  let real: string;
  let root: string;
  try {
    root = realpathSync(savedDir(stateDir));
    real = realpathSync(ref);
  } catch {
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no saved generator state at ${JSON.stringify(ref)}`, { details: { ref } });
  }
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
    throw new VrGrpoError('FORBIDDEN_PATH', `${JSON.stringify(ref)} is not a state this worker saved`, { details: { ref } });
  }
  if (!existsSync(join(real, 'manifest.json')))
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no saved generator state at ${JSON.stringify(ref)}`, { details: { ref } });
  return real;
}

function corrupt(dir: string, reason: string, cause?: unknown): VrGrpoError {
  return new VrGrpoError(
    'GENERATOR_STATE_CORRUPT',
    `generator worker state ${dir}: ${reason}; refusing to serve it (move the folder away to start from the base checkpoint, or put a good copy back)`,
    { details: { dir, reason }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Why the adapter state cannot be a policy's (its first non-finite number, or an optimizer moment that does not match
 * its adapter), or null when it is sound.
 */
export function adapterStateProblem(state: Pick<AdapterState, 'lora' | 'optimizer'>): string | null {
  const nonFinite = (values: Float32Array): boolean => !values.every(Number.isFinite);
  for (const [name, values] of state.lora) if (nonFinite(values)) return `adapter ${name} holds a non-finite number`;
  const optimizer = state.optimizer;
  if (optimizer === null) return null;
  if (!Number.isInteger(optimizer.step) || optimizer.step < 0) return `optimizer step ${optimizer.step} is not a non-negative integer`;
  for (const [group, moments] of [
    ['m', optimizer.m],
    ['v', optimizer.v],
  ] as const) {
    for (const [name, values] of Object.entries(moments)) {
      const adapter = state.lora.get(name);
      if (adapter === undefined) return `optimizer moment ${group} of ${name} has no adapter`;
      if (values.length !== adapter.length) return `optimizer moment ${group} of ${name} has ${values.length} values, the adapter ${adapter.length}`;
      if (nonFinite(values)) return `optimizer moment ${group} of ${name} holds a non-finite number`;
    }
  }
  return null;
}

/**
 * The state saved in `stateDir`, or null when the folder holds none yet. GENERATOR_STATE_CORRUPT when it is
 * unreadable (a damaged manifest or weights file), its update count is not a non-negative integer, or a number in it
 * is not finite.
 */
export function readWorkerState(stateDir: string): WorkerPolicyState | null {
  const dir = policyDir(stateDir);
  if (!existsSync(join(dir, 'manifest.json'))) return null;
  return readPolicyState(dir);
}

/** A policy state folder (the live one or a saved one); GENERATOR_STATE_CORRUPT as for {@link readWorkerState}. */
function readPolicyState(dir: string): WorkerPolicyState {
  let state: AdapterState;
  try {
    state = readAdapterState(dir);
  } catch (error) {
    throw corrupt(dir, isVrGrpoError(error) ? error.message : 'unreadable', error);
  }
  const updates = state.metadata.updates;
  if (typeof updates !== 'number' || !Number.isInteger(updates) || updates < 0) throw corrupt(dir, 'metadata.updates must be a non-negative integer');
  const problem = adapterStateProblem(state);
  if (problem !== null) throw corrupt(dir, problem);
  return { ...state, updates };
}

/**
 * Puts a restored state's adapters into `policy`; GENERATOR_STATE_CORRUPT when they do not fit it (unknown names,
 * wrong sizes: a state of another architecture).
 */
export function restoreWorkerState(policy: FlowPolicy, state: WorkerPolicyState, stateDir: string): void {
  try {
    policy.setParameters(state.lora);
  } catch (error) {
    throw corrupt(policyDir(stateDir), isVrGrpoError(error) ? error.message : 'does not fit the policy', error);
  }
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

  readonly replays = true;

  policyDigest(): Promise<string> {
    return this.inner.policyDigest();
  }

  /** Writes the state (adapters, optimizer, update count) to `<stateDir>/saved/<tag>` (atomically; a tag is overwritten). */
  async saveState(tag: string): Promise<SavedGeneratorState> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(tag))
      throw new VrGrpoError('INVALID_ARGUMENT', `bad state tag ${JSON.stringify(tag)}`, { details: { tag } });
    const dir = join(savedDir(this.stateDir), tag);
    this.inner.saveAdapters(dir, { updates: this.#updates, tag });
    return { ref: realpathSync(dir), policyUpdates: this.#updates, policyDigest: await this.policyDigest() };
  }

  /**
   * Restores a state `saveState` wrote (also before a restart) and makes it the live one: CHECKPOINT_NOT_FOUND,
   * FORBIDDEN_PATH, or GENERATOR_STATE_CORRUPT (unreadable, does not fit, non-finite: the current state is kept).
   * Every outstanding rollout is released.
   */
  async restoreState(ref: string): Promise<SavedGeneratorState> {
    const dir = savedStateFolder(this.stateDir, ref);
    const state = readPolicyState(dir);
    const lora = new Map([...this.inner.policy.parameters('lora')].map(([name, values]) => [name, values.slice()] as const));
    const before = { lora, optimizer: this.inner.optimizerState() };
    try {
      this.inner.loadAdapterState(state.lora, state.optimizer);
    } catch (error) {
      this.inner.loadAdapterState(before.lora, before.optimizer);
      throw corrupt(dir, isVrGrpoError(error) ? error.message : 'does not fit the policy', error);
    }
    this.#updates = state.updates;
    this.inner.saveAdapters(policyDir(this.stateDir), { updates: this.#updates });
    return { ref: dir, policyUpdates: this.#updates, policyDigest: await this.policyDigest() };
  }

  generate(request: GenerateRequest): Promise<GenerateResult<RawVideo>> {
    return this.inner.generate(request);
  }

  async update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    const stats = await this.inner.update(rollouts, replays);
    // The trainer refuses non-finite updates (UPDATE_REJECTED); this is the last line before the disk: a state with a
    // non-finite number is never written over a good one.
    const problem = adapterStateProblem({ lora: this.inner.policy.parameters('lora'), optimizer: this.inner.optimizerState() });
    if (problem !== null) throw new VrGrpoError('GENERATOR_STATE_CORRUPT', `refusing to save the worker state: ${problem}`, { details: { reason: problem } });
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
