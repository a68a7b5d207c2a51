/**
 * Per-prompt reward statistics (Flow-GRPO's stat tracker): each prompt keeps a bounded history of its rewards, and
 * advantages are computed against that history once it holds `minCount` values (before that, against the current
 * group). Its state is plain data, saved in checkpoints so a resumed run continues identically.
 */
import { groupAdvantages, mean, std, type AdvantageOptions, type GroupAdvantages } from './advantages.js';

export interface StatTrackerState {
  readonly buffers: Readonly<Record<string, readonly number[]>>;
}

export class PerPromptStatTracker {
  private readonly buffers = new Map<string, number[]>();

  constructor(
    /** Rewards kept per prompt. */
    private readonly bufferSize = 32,
    /** History needed before it replaces the group statistics. */
    private readonly minCount = 16,
    state?: StatTrackerState,
  ) {
    if (state !== undefined) for (const [k, v] of Object.entries(state.buffers)) this.buffers.set(k, [...v]);
  }

  /** Adds a group's valid rewards and returns their (mean, std) to normalise with. */
  update(prompt: string, rewards: readonly number[]): { mean: number; std: number } {
    const buffer = this.buffers.get(prompt) ?? [];
    buffer.push(...rewards.filter(Number.isFinite));
    if (buffer.length > this.bufferSize) buffer.splice(0, buffer.length - this.bufferSize);
    this.buffers.set(prompt, buffer);
    const basis = buffer.length >= this.minCount ? buffer : rewards.filter(Number.isFinite);
    return { mean: mean(basis), std: std(basis) };
  }

  state(): StatTrackerState {
    return { buffers: Object.fromEntries([...this.buffers].map(([k, v]) => [k, [...v]])) };
  }

  clear(): void {
    this.buffers.clear();
  }

  /** Back to a saved state (a retried step must not count its first attempt's rewards). */
  restore(state: StatTrackerState): void {
    this.buffers.clear();
    for (const [k, v] of Object.entries(state.buffers)) this.buffers.set(k, [...v]);
  }
}

/**
 * Advantages against each prompt's history: every group's rewards go into `tracker` under its prompt, are scaled by that
 * prompt's (mean, std + ε), then centred per group and clipped as `groupAdvantages` does with `std: 'none'`.
 */
export function trackedAdvantages(
  tracker: PerPromptStatTracker,
  prompts: readonly string[],
  rewards: readonly (readonly number[])[],
  options: Pick<AdvantageOptions, 'epsilon' | 'clip'>,
): GroupAdvantages {
  const normalised = rewards.map((r, i) => {
    const { mean: m, std: s } = tracker.update(prompts[i] ?? '', r);
    return r.map((x) => (Number.isFinite(x) ? (x - m) / (s + options.epsilon) : NaN));
  });
  return groupAdvantages(normalised, { std: 'none', clip: options.clip, epsilon: options.epsilon });
}
