/**
 * Calibrated reward-model swaps (`reward.onVersionChange.calibrate`). When a step's verdicts come from another RM
 * version, the run monitor re-judges the fixed anchor set with it at once; the old version's last pass and this one
 * are the same videos scored by both models, and the map fitted on them (src/grpo/calibration.ts: quantile matching or
 * an affine fit, of the combined reward) brings the new model's rewards onto the old scale before they reach the
 * advantages. The map fades linearly to the identity over `calibrationDecayJudgments` judged videos, as the new
 * version's own per-prompt statistics accumulate. The state rides in checkpoints.
 */
import { z } from 'zod';
import { RewardCalibration, type CalibrationSummary } from '../grpo/index.js';
import type { AnchorPass } from '../metrics/drift/index.js';

/** The same anchor videos judged by the old and by the new RM version. */
export interface AnchorRejudge {
  readonly before: AnchorPass;
  readonly after: AnchorPass;
}

export interface RewardCalibratorOptions {
  readonly method: 'quantile' | 'affine';
  readonly decayJudgments: number;
}

const stateSchema = z.object({ calibration: z.unknown(), judged: z.number().int().nonnegative(), versions: z.array(z.string()).default([]) });
export type RewardCalibratorState = z.infer<typeof stateSchema>;

export type CalibrationOutcome =
  { readonly applied: true; readonly summary: CalibrationSummary; readonly anchors: number } | { readonly applied: false; readonly reason: string };

export class RewardCalibrator {
  readonly #options: RewardCalibratorOptions;
  #calibration: RewardCalibration | null = null;
  #judged = 0;
  /** The RM versions the map is for (a group judged by another one, e.g. the old one mid-swap, is not mapped). */
  #versions: string[] = [];

  constructor(options: RewardCalibratorOptions, saved?: unknown) {
    this.#options = options;
    if (saved !== undefined && saved !== null) this.restore(saved);
  }

  /**
   * Fits the map for a swap to `versions` from the anchors judged by both versions; without them the previous map is
   * dropped.
   */
  swapped(pair: AnchorRejudge | null, versions: readonly string[] = []): CalibrationOutcome {
    this.#calibration = null;
    this.#judged = 0;
    this.#versions = [...versions];
    if (pair === null) return { applied: false, reason: 'no anchor passes by both versions (monitoring.drift off, or no earlier pass)' };
    try {
      this.#calibration = RewardCalibration.fit(
        { combined: pair.before.scores.combined ?? [] },
        { combined: pair.after.scores.combined ?? [] },
        { method: this.#options.method, decayJudgments: this.#options.decayJudgments },
      );
    } catch (error) {
      return { applied: false, reason: error instanceof Error ? error.message : String(error) };
    }
    return { applied: true, summary: this.#calibration.summary(), anchors: pair.after.videoIds.length };
  }

  /** Whether rewards are being mapped now (a map that has not faded yet). */
  get active(): boolean {
    return this.#calibration !== null && this.#calibration.weight(this.#judged) > 0;
  }

  /** Whether a group judged by `groupVersions` gets the map (any of them is a version the map is for; none given: all). */
  appliesTo(groupVersions: readonly string[]): boolean {
    return this.active && (this.#versions.length === 0 || groupVersions.some((v) => this.#versions.includes(v)));
  }

  /** The rewards on the old scale (NaN stays NaN); counts the finite ones towards the fade. Unchanged without a map. */
  map(rewards: readonly number[]): number[] {
    const c = this.#calibration;
    if (c === null) return [...rewards];
    const out = c.applyAll('combined', rewards, this.#judged);
    this.#judged += rewards.filter(Number.isFinite).length;
    return out;
  }

  state(): RewardCalibratorState | null {
    return this.#calibration === null ? null : { calibration: this.#calibration.toJSON(), judged: this.#judged, versions: [...this.#versions] };
  }

  /** Back to a saved state (a retried step, a resumed run); null: no map. */
  restore(saved: unknown): void {
    if (saved === null) {
      this.#calibration = null;
      this.#judged = 0;
      this.#versions = [];
      return;
    }
    const s = stateSchema.parse(saved);
    this.#calibration = RewardCalibration.fromJSON(s.calibration);
    this.#judged = s.judged;
    this.#versions = [...s.versions];
  }
}
