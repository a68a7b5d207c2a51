/**
 * Reference and recent windows over a stream of per-step samples (e.g. every video's reward of one step): the recent
 * window is the last `recentSteps` steps; the reference is either the `referenceSteps` steps just before it
 * ('trailing': detects a change against the recent past) or the first `referenceSteps` steps of the run ('initial':
 * detects cumulative drift since the start). The state is plain data (checkpoints, resume).
 */
import { VrGrpoError } from '../../errors/index.js';

export type ReferenceKind = 'trailing' | 'initial';

export interface RewardWindowOptions {
  readonly referenceSteps: number;
  readonly recentSteps: number;
  readonly reference: ReferenceKind;
}

export interface RewardWindowState {
  /** The kept steps, oldest first: at most referenceSteps + recentSteps (trailing) or recentSteps (initial). */
  readonly steps: readonly (readonly number[])[];
  /** 'initial' only: the first referenceSteps steps (complete or still filling). */
  readonly initial: readonly (readonly number[])[];
  /** Steps seen in total. */
  readonly seen: number;
}

export class RewardWindow {
  private steps: number[][];
  private readonly initial: number[][];
  private seen: number;

  constructor(
    private readonly options: RewardWindowOptions,
    state?: RewardWindowState,
  ) {
    for (const k of ['referenceSteps', 'recentSteps'] as const) {
      const v = options[k];
      if (!Number.isInteger(v) || v < 1) throw new VrGrpoError('INVALID_ARGUMENT', `reward window: ${k} must be an integer >= 1, got ${v}`);
    }
    this.steps = (state?.steps ?? []).map((s) => [...s]);
    this.initial = (state?.initial ?? []).map((s) => [...s]);
    this.seen = state?.seen ?? 0;
  }

  /** Adds one step's samples (non-finite values are dropped; an empty step still counts as a step). */
  push(values: readonly number[]): void {
    const kept = values.filter(Number.isFinite);
    const { referenceSteps, recentSteps, reference } = this.options;
    this.seen += 1;
    if (reference === 'initial' && this.initial.length < referenceSteps) {
      this.initial.push(kept);
      return;
    }
    this.steps.push(kept);
    const keep = reference === 'trailing' ? referenceSteps + recentSteps : recentSteps;
    if (this.steps.length > keep) this.steps = this.steps.slice(this.steps.length - keep);
  }

  /** Both windows are full (referenceSteps + recentSteps steps seen). */
  get ready(): boolean {
    return this.seen >= this.options.referenceSteps + this.options.recentSteps;
  }

  /** The reference window's samples (partial until `ready`). */
  reference(): number[] {
    if (this.options.reference === 'initial') return this.initial.flat();
    return this.steps.slice(0, Math.max(0, this.steps.length - this.options.recentSteps)).flat();
  }

  /** The recent window's samples (partial until `ready`). */
  recent(): number[] {
    return this.steps.slice(Math.max(0, this.steps.length - this.options.recentSteps)).flat();
  }

  state(): RewardWindowState {
    return { steps: this.steps.map((s) => [...s]), initial: this.initial.map((s) => [...s]), seen: this.seen };
  }
}
