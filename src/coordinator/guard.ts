/**
 * The guard's decisions (`guard:`; docs/monitoring.md "The guard"): when is an oracle-free hacking signal confirmed, and
 * which checkpoint is the best one to go back to. Fed by the audit monitor once per audited step with the judge-gap
 * detector's state and the auditors' score; remembers the auditors' score of every audited step so a rollback can pick
 * the checkpoint whose policy the auditors liked best (`bestCheckpoint`).
 * A signal is confirmed when the detector tripped and is still firing `persistence` audited steps in a row (the trip
 * counts). Pure logic; the coordinator acts (src/coordinator/coordinator.ts `actOnGuard`). State in checkpoints.
 */
import { z } from 'zod';

export interface GuardOptions {
  readonly mode: 'off' | 'warn' | 'act';
  readonly persistence: number;
  readonly action: 'lower-lr' | 'raise-beta' | 'conservative' | 'switch-to-auditors' | 'stop';
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
  /** Per audited step, the auditors' score of its videos (for choosing the rollback target among the run's checkpoints). */
  readonly scores: ReadonlyMap<number, number>;
}

const stateSchema = z.object({
  firing: z.number().int().nonnegative(),
  tripped: z.boolean(),
  rollbacks: z.number().int().nonnegative(),
  /** Written by older versions (a trailing mean the scores no longer use); ignored. */
  recent: z.array(z.number()).optional(),
  scores: z.array(z.tuple([z.number().int(), z.number()])),
});
export type GuardState = z.infer<typeof stateSchema>;

/** Audited steps whose score is remembered (a run this long keeps its latest ones). */
const MAX_SCORES = 100_000;

export class Guard {
  readonly #o: GuardOptions;
  #firing = 0;
  #tripped = false;
  #rollbacks = 0;
  readonly #scores = new Map<number, number>();

  constructor(options: GuardOptions, saved?: unknown) {
    this.#o = options;
    if (saved !== undefined && saved !== null) {
      const s = stateSchema.parse(saved);
      this.#firing = s.firing;
      this.#tripped = s.tripped;
      this.#rollbacks = s.rollbacks;
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
      this.#scores.set(step, auditorScore);
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
    return { firing: this.#firing, tripped: this.#tripped, rollbacks: this.#rollbacks, scores: [...this.#scores] };
  }
}

/** Audited steps after a checkpoint that score it: the videos its own policy made and the next two policies'. */
export const CHECKPOINT_SCORE_STEPS = 3;

/**
 * The rollback target: among `checkpoints` (steps) before `before`, the one the auditors liked best, or null when none
 * can be scored. A checkpoint saved after the update of step c holds the policy that makes step c+1's videos (and,
 * pipelined, c+2's), so its score is the mean auditor score of the audited steps c+1 … c+`CHECKPOINT_SCORE_STEPS`
 * (the audit of step c itself measures the policy before c's update). Scoring forward also marks down a checkpoint
 * from which the run was already heading into the exploit. With no audited step in that range (audits
 * sparser than checkpoints), the latest audited step at or before c stands in. The earliest of equals wins.
 */
export function bestCheckpoint(checkpoints: readonly number[], scores: ReadonlyMap<number, number>, before: number): number | null {
  const scored = [...scores].sort((a, b) => a[0] - b[0]);
  const scoreOf = (c: number): number | undefined => {
    const ahead = scored.filter(([s]) => s > c && s <= c + CHECKPOINT_SCORE_STEPS).map(([, v]) => v);
    if (ahead.length > 0) return ahead.reduce((a, x) => a + x, 0) / ahead.length;
    let found: number | undefined;
    for (const [s, v] of scored) {
      if (s > c) break;
      found = v;
    }
    return found;
  };
  let best: number | null = null;
  let bestScore = -Infinity;
  for (const step of [...checkpoints].sort((a, b) => a - b)) {
    const score = step < before ? scoreOf(step) : undefined;
    if (score === undefined || !(score > bestScore)) continue;
    best = step;
    bestScore = score;
  }
  return best;
}
