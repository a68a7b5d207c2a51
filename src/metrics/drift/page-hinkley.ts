/**
 * Page-Hinkley change detector on a stream of values, two-sided: it accumulates deviations from the running mean
 * (minus a tolerance δ for an increase, plus δ for a decrease) and trips when the accumulated deviation has risen more
 * than λ above its minimum (increase) or fallen more than λ below its maximum (decrease). After a trip it restarts, so
 * it measures the next change against the new level. The state is plain data (checkpoints, resume).
 *
 * Baseline: 'running' (default) takes deviations from the running mean since the (re)start — the classic test when the
 * in-control level is unknown; 'first' takes them from the first sample since the (re)start — for a stream whose first
 * value *is* the reference (the anchor set's first pass), so a change is not half absorbed into a running mean; after a
 * trip it restarts from the tripping sample, so the new level becomes the reference and a lasting change trips once.
 */
import { VrGrpoError } from '../../errors/index.js';

export interface PageHinkleyOptions {
  /** Tolerated drift per sample (units of the input), ≥ 0. */
  readonly delta: number;
  /** Trip threshold on the statistic (units of the input), > 0. */
  readonly lambda: number;
  /** Samples since the last (re)start before it may trip, ≥ 1. */
  readonly minSamples: number;
  /** What deviations are measured from (see the module header). Default 'running'. */
  readonly baseline?: 'running' | 'first';
}

export interface PageHinkleyState {
  readonly n: number;
  /** The running mean since the (re)start; baseline 'first': the first sample since the (re)start. */
  readonly mean: number;
  /** Cumulative sum for an increase and its minimum. */
  readonly up: number;
  readonly upMin: number;
  /** Cumulative sum for a decrease and its maximum. */
  readonly down: number;
  readonly downMax: number;
}

export type ChangeDirection = 'increase' | 'decrease';

export interface PageHinkleyResult {
  /** max(increase statistic, decrease statistic) after this sample (before a restart on trip). */
  readonly statistic: number;
  readonly increase: number;
  readonly decrease: number;
  /** The change detected by this sample, or null. */
  readonly tripped: ChangeDirection | null;
}

const EMPTY: PageHinkleyState = Object.freeze({ n: 0, mean: 0, up: 0, upMin: 0, down: 0, downMax: 0 });

export class PageHinkley {
  private s: PageHinkleyState;

  constructor(
    private readonly options: PageHinkleyOptions,
    state?: PageHinkleyState,
  ) {
    const { delta, lambda, minSamples } = options;
    if (!(delta >= 0) || !Number.isFinite(delta)) throw new VrGrpoError('INVALID_ARGUMENT', `page-hinkley: delta must be a finite number >= 0, got ${delta}`);
    if (!(lambda > 0) || !Number.isFinite(lambda)) throw new VrGrpoError('INVALID_ARGUMENT', `page-hinkley: lambda must be a finite number > 0, got ${lambda}`);
    if (!Number.isInteger(minSamples) || minSamples < 1)
      throw new VrGrpoError('INVALID_ARGUMENT', `page-hinkley: minSamples must be an integer >= 1, got ${minSamples}`);
    this.s = state === undefined ? EMPTY : { ...state };
  }

  /** Feeds one value (non-finite values are ignored and change nothing). */
  update(x: number): PageHinkleyResult {
    if (!Number.isFinite(x)) return { ...this.statistics(), tripped: null };
    this.accumulate(x);
    const stats = this.statistics();
    let tripped: ChangeDirection | null = null;
    if (this.s.n >= this.options.minSamples) {
      if (stats.increase > this.options.lambda && stats.increase >= stats.decrease) tripped = 'increase';
      else if (stats.decrease > this.options.lambda) tripped = 'decrease';
    }
    if (tripped !== null) {
      this.s = EMPTY;
      if (this.options.baseline === 'first') this.accumulate(x);
    }
    return { ...stats, tripped };
  }

  private accumulate(x: number): void {
    const n = this.s.n + 1;
    const mean = this.options.baseline === 'first' ? (n === 1 ? x : this.s.mean) : this.s.mean + (x - this.s.mean) / n;
    const up = this.s.up + (x - mean - this.options.delta);
    const down = this.s.down + (x - mean + this.options.delta);
    this.s = { n, mean, up, upMin: Math.min(this.s.upMin, up), down, downMax: Math.max(this.s.downMax, down) };
  }

  private statistics(): { statistic: number; increase: number; decrease: number } {
    const increase = this.s.up - this.s.upMin;
    const decrease = this.s.downMax - this.s.down;
    return { statistic: Math.max(increase, decrease), increase, decrease };
  }

  /** The current statistic (0 right after a start or a trip). */
  get statistic(): number {
    return this.statistics().statistic;
  }

  get samples(): number {
    return this.s.n;
  }

  state(): PageHinkleyState {
    return { ...this.s };
  }
}
