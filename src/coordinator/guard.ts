/**
 * The guard's decisions (`guard:`; docs/monitoring.md "The guard"): when is an oracle-free hacking signal confirmed, and
 * which checkpoint is the best one to go back to. Fed by the audit monitor once per audited step with the judge-gap
 * detector's state and the auditors' score; remembers a trailing auditor score per step (the score of the policy at
 * that step, smoothed over the last 3 audited steps) so a rollback can pick the checkpoint the auditors liked best.
 * A signal is confirmed when the detector tripped and is still firing `persistence` audited steps in a row (the trip
 * counts). Pure logic; the coordinator acts (src/coordinator/coordinator.ts `actOnGuard`). State in checkpoints.
 */
import { z } from 'zod';

export interface GuardOptions {
  readonly mode: 'off' | 'warn' | 'act';
  readonly persistence: number;
  readonly action: 'lower-lr' | 'raise-beta' | 'stop';
  readonly factor: number;
  readonly maxRollbacks: number;
}

/** What the guard asks the coordinator to do. */
export interface GuardDecision {
  readonly step: number;
  readonly detector: string;
  readonly mode: 'warn' | 'act';
  /** act: what to do after the rollback (`stop` once `maxRollbacks` rollbacks were done). */
  readonly action: GuardOptions['action'];
  readonly factor: number;
  /** The detector's value at confirmation, and the audited steps it fired in a row. */
  readonly value: number;
  readonly firingSteps: number;
  /** Per step, the trailing auditor score (for choosing the rollback target among the run's checkpoints). */
  readonly scores: ReadonlyMap<number, number>;
}

const stateSchema = z.object({
  firing: z.number().int().nonnegative(),
  tripped: z.boolean(),
  rollbacks: z.number().int().nonnegative(),
  recent: z.array(z.number()),
  scores: z.array(z.tuple([z.number().int(), z.number()])),
});
export type GuardState = z.infer<typeof stateSchema>;

/** Steps whose trailing score is remembered (a run this long keeps its latest ones). */
const MAX_SCORES = 100_000;
const TRAILING = 3;

export class Guard {
  readonly #o: GuardOptions;
  #firing = 0;
  #tripped = false;
  #rollbacks = 0;
  #recent: number[] = [];
  readonly #scores = new Map<number, number>();

  constructor(options: GuardOptions, saved?: unknown) {
    this.#o = options;
    if (saved !== undefined && saved !== null) {
      const s = stateSchema.parse(saved);
      this.#firing = s.firing;
      this.#tripped = s.tripped;
      this.#rollbacks = s.rollbacks;
      this.#recent = [...s.recent];
      for (const [step, score] of s.scores) this.#scores.set(step, score);
    }
  }

  /**
   * One audited step: the auditors' score (null: none) and the detector's state (firing: above its thresholds now;
   * tripped: its rising edge this step). Returns a decision when the signal is confirmed (null otherwise, and always
   * with mode `off`).
   */
  observe(
    step: number,
    auditorScore: number | null,
    detector: { readonly name: string; readonly value: number | null; readonly firing: boolean; readonly tripped: boolean },
  ): GuardDecision | null {
    if (auditorScore !== null && Number.isFinite(auditorScore)) {
      this.#recent = [...this.#recent, auditorScore].slice(-TRAILING);
      this.#scores.set(step, this.#recent.reduce((s, x) => s + x, 0) / this.#recent.length);
      if (this.#scores.size > MAX_SCORES) this.#scores.delete(this.#scores.keys().next().value ?? step);
    }
    if (detector.tripped) this.#tripped = true;
    this.#firing = detector.firing && this.#tripped ? this.#firing + 1 : 0;
    if (!detector.firing) this.#tripped = false;
    if (this.#o.mode === 'off' || !this.#tripped || this.#firing < this.#o.persistence) return null;
    // Confirmed: one decision per episode (the detector must clear and trip again for another).
    this.#tripped = false;
    this.#firing = 0;
    const act = this.#o.mode === 'act';
    if (act) this.#rollbacks += 1;
    return {
      step,
      detector: detector.name,
      mode: this.#o.mode,
      action: act && this.#rollbacks > this.#o.maxRollbacks ? 'stop' : this.#o.action,
      factor: this.#o.factor,
      value: detector.value ?? Number.NaN,
      firingSteps: this.#o.persistence,
      scores: new Map(this.#scores),
    };
  }

  /** Rollbacks done so far. */
  get rollbacks(): number {
    return this.#rollbacks;
  }

  state(): GuardState {
    return { firing: this.#firing, tripped: this.#tripped, rollbacks: this.#rollbacks, recent: [...this.#recent], scores: [...this.#scores] };
  }
}

/**
 * The rollback target: among `checkpoints` (steps) before `before`, the one with the best trailing auditor score
 * (a checkpoint between audits takes the latest score at or before it; the earliest of equals wins); null when none
 * has a score.
 */
export function bestCheckpoint(checkpoints: readonly number[], scores: ReadonlyMap<number, number>, before: number): number | null {
  const scored = [...scores].sort((a, b) => a[0] - b[0]);
  const scoreAt = (step: number): number | undefined => {
    let found: number | undefined;
    for (const [s, v] of scored) {
      if (s > step) break;
      found = v;
    }
    return found;
  };
  let best: number | null = null;
  let bestScore = -Infinity;
  for (const step of [...checkpoints].sort((a, b) => a - b)) {
    const score = step < before ? scoreAt(step) : undefined;
    if (score === undefined || !(score > bestScore)) continue;
    best = step;
    bestScore = score;
  }
  return best;
}
