/**
 * Reward-hacking detector for worlds with a gold evaluator: over a sliding window of steps it fits the trend of the
 * proxy reward (what the judge pays) and of a gold score (what is actually true), and trips when the proxy rises and the
 * gold falls, both beyond noise (t-statistics of the slopes) and both by a minimum amount over the window.
 * The value (exported as a gauge) is min(t of the proxy slope, −t of the gold slope): positive only when the two
 * diverge in the suspicious direction. It trips once per episode and re-arms when the value falls below half the
 * threshold. The state is plain data (checkpoints, resume).
 */
import { VrGrpoError } from '../../errors/index.js';
import { linearTrend } from './linear-trend.js';

export interface ProxyGoldDivergenceOptions {
  /** Steps in the sliding window (steps without a gold score are skipped), ≥ 3. */
  readonly window: number;
  /** Both slopes must be this many standard errors from 0 (proxy up, gold down). */
  readonly tThreshold: number;
  /** Minimum rise of the proxy's fitted line over the window (reward units). */
  readonly minProxyRise: number;
  /** Minimum fall of the gold's fitted line over the window (gold units). */
  readonly minGoldDrop: number;
}

export interface ProxyGoldDivergenceState {
  /** [step, proxy, gold] of the window, oldest first. */
  readonly points: readonly (readonly [number, number, number])[];
  readonly armed: boolean;
}

export interface ProxyGoldResult {
  /** min(t_proxy, −t_gold); null until the window is full. */
  readonly value: number | null;
  readonly proxySlope: number;
  readonly goldSlope: number;
  readonly proxyT: number;
  readonly goldT: number;
  /** Rise of the proxy's and fall of the gold's fitted lines over the window. */
  readonly proxyRise: number;
  readonly goldDrop: number;
  readonly tripped: boolean;
}

export class ProxyGoldDivergence {
  private points: [number, number, number][];
  private armed: boolean;

  constructor(
    private readonly options: ProxyGoldDivergenceOptions,
    state?: ProxyGoldDivergenceState,
  ) {
    if (!Number.isInteger(options.window) || options.window < 3)
      throw new VrGrpoError('INVALID_ARGUMENT', `proxy-gold divergence: window must be an integer >= 3, got ${options.window}`);
    for (const k of ['tThreshold', 'minProxyRise', 'minGoldDrop'] as const) {
      const v = options[k];
      if (!(v >= 0) || !Number.isFinite(v)) throw new VrGrpoError('INVALID_ARGUMENT', `proxy-gold divergence: ${k} must be a finite number >= 0, got ${v}`);
    }
    this.points = (state?.points ?? []).map(([s, p, g]) => [s, p, g]);
    this.armed = state?.armed ?? true;
  }

  /** One step's mean proxy reward and gold score; a step with either missing (null/NaN) leaves the window unchanged. */
  observe(step: number, proxy: number | null, gold: number | null): ProxyGoldResult {
    if (proxy !== null && gold !== null && Number.isFinite(proxy) && Number.isFinite(gold)) {
      this.points.push([step, proxy, gold]);
      if (this.points.length > this.options.window) this.points = this.points.slice(this.points.length - this.options.window);
    }
    return this.evaluate();
  }

  private evaluate(): ProxyGoldResult {
    const steps = this.points.map((p) => p[0]);
    const p = linearTrend(
      steps,
      this.points.map((x) => x[1]),
    );
    const g = linearTrend(
      steps,
      this.points.map((x) => x[2]),
    );
    const span = steps.length === 0 ? 0 : (steps[steps.length - 1] ?? 0) - (steps[0] ?? 0);
    const full = this.points.length >= this.options.window;
    const value = full ? Math.min(p.t, -g.t) : null;
    const proxyRise = p.slope * span;
    const goldDrop = -g.slope * span;
    const o = this.options;
    const firing = value !== null && value >= o.tThreshold && proxyRise >= o.minProxyRise && goldDrop >= o.minGoldDrop;
    const tripped = firing && this.armed;
    // Once per episode: disarm on a trip; re-arm only when the value has fallen below half the threshold (hysteresis,
    // so noise around the threshold does not trip again and again).
    if (tripped) this.armed = false;
    else if (value === null || value < o.tThreshold / 2) this.armed = true;
    return { value, proxySlope: p.slope, goldSlope: g.slope, proxyT: p.t, goldT: g.t, proxyRise, goldDrop, tripped };
  }

  state(): ProxyGoldDivergenceState {
    return { points: this.points.map(([s, p, g]) => [s, p, g] as const), armed: this.armed };
  }
}
