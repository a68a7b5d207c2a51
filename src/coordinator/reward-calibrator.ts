/**
 * Calibrated reward-model swaps (`reward.onVersionChange.calibrate`). When a step's verdicts come from another RM
 * version, before its rewards reach the advantages the new version scores videos the old one scored: the fixed anchor
 * set (the run monitor re-judges it at once) and the recent groups the coordinator remembered (recent-groups.ts,
 * `shadowGroups`). On these pairs a map is fitted (src/grpo/calibration.ts: quantile matching or an affine fit, of the
 * combined reward) that brings the new model's rewards onto the old scale. With `promptFits`, each recent group's
 * prompt gets a fit of its own instead (that prompt's old level and spread on its videos) — off by default: a spread
 * ratio measured on one group overshoots (docs/perf.md). The map and the fits fade linearly to nothing over
 * `calibrationDecayJudgments` judged videos, as the new version's own statistics accumulate. The state rides in
 * checkpoints.
 */
import { z } from 'zod';
import { RewardCalibration, mean, std, type CalibrationSummary } from '../grpo/index.js';
import type { AnchorPass } from '../metrics/drift/index.js';
import type { ShadowGroup } from './recent-groups.js';

/** The same anchor videos judged by the old and by the new RM version. */
export interface AnchorRejudge {
  readonly before: AnchorPass;
  readonly after: AnchorPass;
}

export interface RewardCalibratorOptions {
  readonly method: 'quantile' | 'affine';
  readonly decayJudgments: number;
  /** Per-prompt fits from the shadow groups (else they only add points to the global map). */
  readonly promptFits: boolean;
}

const stateSchema = z.object({
  calibration: z.unknown(),
  judged: z.number().int().nonnegative(),
  versions: z.array(z.string()).default([]),
  promptFits: z.record(z.string(), z.object({ centre: z.number().finite(), shift: z.number().finite(), scale: z.number().finite().nonnegative() })).default({}),
});
export type RewardCalibratorState = z.infer<typeof stateSchema>;

/** What a fit rested on: anchor videos, recent groups (and their videos), prompts given a fit of their own and its mean shift. */
export interface CalibrationBasis {
  readonly anchors: number;
  readonly shadowGroups: number;
  readonly shadowVideos: number;
  readonly promptFits: number;
  readonly meanAbsShift: number;
}

export type CalibrationOutcome =
  ({ readonly applied: true; readonly summary: CalibrationSummary } & CalibrationBasis) | { readonly applied: false; readonly reason: string };

export class RewardCalibrator {
  readonly #options: RewardCalibratorOptions;
  #calibration: RewardCalibration | null = null;
  #judged = 0;
  /** The RM versions the map is for (a group judged by another one, e.g. the old one mid-swap, is not mapped). */
  #versions: string[] = [];
  /** Per prompt of the shadow-scored groups: its own fit, used instead of the global map for it. */
  #promptFits = new Map<string, PromptFit>();

  constructor(options: RewardCalibratorOptions, saved?: unknown) {
    this.#options = options;
    if (saved !== undefined && saved !== null) this.restore(saved);
  }

  /**
   * Fits the map for a swap to `versions` from the videos both versions judged: the anchors (`pair`) and the recent
   * groups' shadow scores (`shadow`); with neither, the previous map is dropped and nothing is mapped.
   */
  swapped(pair: AnchorRejudge | null, versions: readonly string[] = [], shadow: readonly ShadowGroup[] = []): CalibrationOutcome {
    this.#calibration = null;
    this.#judged = 0;
    this.#versions = [...versions];
    this.#promptFits = new Map();
    const before = [...(pair?.before.scores.combined ?? []), ...shadow.flatMap((g) => g.before)];
    const after = [...(pair?.after.scores.combined ?? []), ...shadow.flatMap((g) => g.after)];
    if (before.length === 0) return { applied: false, reason: 'no videos judged by both versions (no anchor passes and no recent groups)' };
    let calibration: RewardCalibration;
    try {
      calibration = RewardCalibration.fit(
        { combined: before },
        { combined: after },
        { method: this.#options.method, decayJudgments: this.#options.decayJudgments },
      );
    } catch (error) {
      return { applied: false, reason: error instanceof Error ? error.message : String(error) };
    }
    this.#calibration = calibration;
    for (const g of this.#options.promptFits ? shadow : []) {
      const fit = promptFit(g);
      if (fit !== null) this.#promptFits.set(g.prompt, fit);
    }
    const shifts = [...this.#promptFits.values()].map((f) => f.shift);
    return {
      applied: true,
      summary: calibration.summary(),
      anchors: pair?.after.videoIds.length ?? 0,
      shadowGroups: shadow.length,
      shadowVideos: shadow.reduce((s, g) => s + g.after.length, 0),
      promptFits: shifts.length,
      meanAbsShift: shifts.length === 0 ? 0 : shifts.reduce((s, x) => s + Math.abs(x), 0) / shifts.length,
    };
  }

  /** Whether rewards are being mapped now (a map that has not faded yet). */
  get active(): boolean {
    return this.#calibration !== null && this.#calibration.weight(this.#judged) > 0;
  }

  /** Whether a group judged by `groupVersions` gets the map (any of them is a version the map is for; none given: all). */
  appliesTo(groupVersions: readonly string[]): boolean {
    return this.active && (this.#versions.length === 0 || groupVersions.some((v) => this.#versions.includes(v)));
  }

  /**
   * A group's rewards on the old scale (NaN stays NaN), by `prompt`'s own fit when its recent group was shadow-scored,
   * else by the global map; counts the finite ones towards the fade. Unchanged without a map.
   */
  map(rewards: readonly number[], prompt?: string): number[] {
    const c = this.#calibration;
    if (c === null) return [...rewards];
    const w = c.weight(this.#judged);
    const fit = prompt === undefined ? undefined : this.#promptFits.get(prompt);
    const out = rewards.map((x) => {
      if (!Number.isFinite(x)) return NaN;
      const full = fit === undefined ? c.map('combined', x) : fit.centre + fit.shift + (x - fit.centre) * fit.scale;
      return w * full + (1 - w) * x;
    });
    this.#judged += rewards.filter(Number.isFinite).length;
    return out;
  }

  state(): RewardCalibratorState | null {
    if (this.#calibration === null) return null;
    return { calibration: this.#calibration.toJSON(), judged: this.#judged, versions: [...this.#versions], promptFits: Object.fromEntries(this.#promptFits) };
  }

  /** Back to a saved state (a retried step, a resumed run); null: no map. */
  restore(saved: unknown): void {
    if (saved === null) {
      this.#calibration = null;
      this.#judged = 0;
      this.#versions = [];
      this.#promptFits = new Map();
      return;
    }
    const s = stateSchema.parse(saved);
    this.#calibration = RewardCalibration.fromJSON(s.calibration);
    this.#judged = s.judged;
    this.#versions = [...s.versions];
    this.#promptFits = new Map(Object.entries(s.promptFits));
  }
}

/**
 * A prompt's own fit, on its recent group's videos: around the new scores' mean (`centre`), the shift to the old mean
 * and the ratio of the old spread to the new (clamped to [0, 4]: 0 where the old scores are flat, 1 where the new are). It replaces the
 * global map for that prompt: the global map is fitted across prompts, and its bends fall where prompts meet.
 */
export interface PromptFit {
  readonly centre: number;
  readonly shift: number;
  readonly scale: number;
}

const MAX_PROMPT_SCALE = 4;

function promptFit(g: ShadowGroup): PromptFit | null {
  const b: number[] = [];
  const a: number[] = [];
  g.before.forEach((x, i) => {
    const y = g.after[i] ?? NaN;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      b.push(x);
      a.push(y);
    }
  });
  if (b.length < 2) return null;
  const sb = std(b);
  const sa = std(a);
  const scale = sa > 1e-6 ? Math.min(MAX_PROMPT_SCALE, Math.max(0, sb / sa)) : 1;
  return { centre: mean(a), shift: mean(b) - mean(a), scale };
}
