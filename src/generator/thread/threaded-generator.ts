/**
 * `ThreadedGenerator`: the worker's generator in a worker thread of its own, so rollouts and updates (seconds of
 * tensor work for a large rollout) never hold the event loop that answers pings, `status` and `/healthz` (issue 19:
 * a 1024-video rollout used to delay a ping on another connection by 11 s). A `TrainableGenerator` like the one it
 * wraps: the same contract suite runs on it. Trajectories stay in the thread; videos and latents come back as moved
 * buffers (no copy). A thread that dies fails every call with GENERATOR_FAILED.
 */
import { ThreadClient } from '../../common/thread-rpc.js';
import type { Config } from '../../config/index.js';
import type { RawVideo } from '../../media/index.js';
import { VrGrpoError } from '../../errors/index.js';
import type { UpdateStats } from '../flow-grpo-trainer.js';
import type { GenerateRequest, GenerateResult, ReplayedRollout, RolloutAdvantages, SavedGeneratorState, TrainableGenerator } from '../generator.js';
import type { GeneratorThreadData, ThreadDescription, ThreadGenerateResult, ThreadUpdateResult } from './messages.js';

const ENTRY = new URL('./generator-thread.ts', import.meta.url);

export interface ThreadedGeneratorOptions {
  readonly config: Config;
  /** The worker's state folder (see src/generator/worker-state.ts), or null. */
  readonly stateDir: string | null;
}

export class ThreadedGenerator implements TrainableGenerator {
  readonly name: string;
  /** Present when the generator counts its updates (a state folder), as on the generator in the thread. */
  readonly policyUpdates?: () => number;
  readonly replays: boolean;
  readonly policyDigest?: () => Promise<string>;
  readonly saveState?: (tag: string) => Promise<SavedGeneratorState>;
  readonly restoreState?: (ref: string) => Promise<SavedGeneratorState>;
  /** Updates restored from the state folder when the thread started. */
  readonly restoredUpdates: number;
  /** Whether a saved state was found in the state folder. */
  readonly restored: boolean;
  #policyUpdates: number;
  #closed: Promise<void> | null = null;

  private constructor(
    private readonly thread: ThreadClient,
    description: ThreadDescription,
  ) {
    this.name = description.name;
    this.restoredUpdates = description.restoredUpdates;
    this.restored = description.restored;
    this.#policyUpdates = description.policyUpdates ?? 0;
    if (description.policyUpdates !== null) this.policyUpdates = () => this.#policyUpdates;
    this.replays = description.has.replays;
    if (description.has.policyDigest) this.policyDigest = async () => (await this.#call('policyDigest')) as string;
    if (description.has.state) {
      this.saveState = (tag) => this.#stateCall('saveState', tag);
      this.restoreState = (ref) => this.#stateCall('restoreState', ref);
    }
  }

  async #call(method: string, args: readonly unknown[] = []): Promise<unknown> {
    this.#open();
    return this.thread.call(method, args);
  }

  async #stateCall(method: 'saveState' | 'restoreState', arg: string): Promise<SavedGeneratorState> {
    const state = (await this.#call(method, [arg])) as SavedGeneratorState;
    if (state.policyUpdates !== null) this.#policyUpdates = state.policyUpdates;
    return state;
  }

  /** Starts the thread and opens the generator in it (its checkpoint and state-folder errors reject here). */
  static async start(options: ThreadedGeneratorOptions): Promise<ThreadedGenerator> {
    const data: GeneratorThreadData = { config: options.config, stateDir: options.stateDir };
    const thread = await ThreadClient.start(ENTRY, data, { failureCode: 'GENERATOR_FAILED', name: 'vr-grpo-generator' });
    try {
      return new ThreadedGenerator(thread, (await thread.call('describe')) as ThreadDescription);
    } catch (error) {
      await thread.terminate();
      throw error;
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult<RawVideo>> {
    const result = (await this.#call('generate', [request])) as ThreadGenerateResult;
    return { ...result, trajectory: null };
  }

  async update(rollouts: readonly RolloutAdvantages[], replays: readonly ReplayedRollout[] = []): Promise<UpdateStats> {
    const result = (await this.#call('update', [rollouts, replays])) as ThreadUpdateResult;
    if (result.policyUpdates !== null) this.#policyUpdates = result.policyUpdates;
    return result.stats;
  }

  async discard(rolloutIds: readonly string[]): Promise<void> {
    await this.#call('discard', [rolloutIds]);
  }

  /** Closes the generator in the thread, then stops the thread; idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await this.thread.call('close');
      } finally {
        await this.thread.terminate();
      }
    })();
    return this.#closed;
  }

  #open(): void {
    if (this.#closed !== null) throw new VrGrpoError('CLOSED', 'generator is closed');
  }
}
