/** Noise schedules of the flow sampler: σ from 1 (noise) to 0 (data), with an optional SD3-style shift. */
import { VrGrpoError } from '../errors/index.js';

/** σ_0 = 1 > σ_1 > … > σ_T = 0 (length T + 1); shifted σ' = shift·σ / (1 + (shift − 1)·σ). */
export function sigmaSchedule(steps: number, shift = 1): Float64Array {
  if (!Number.isInteger(steps) || steps < 1) throw new VrGrpoError('INVALID_ARGUMENT', `steps must be an integer >= 1, got ${steps}`);
  if (!(shift > 0)) throw new VrGrpoError('INVALID_ARGUMENT', `shift must be > 0, got ${shift}`);
  const out = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    const s = 1 - i / steps;
    out[i] = (shift * s) / (1 + (shift - 1) * s);
  }
  return out;
}

/**
 * Flow-GRPO's per-step noise scale σ_t = a·√(σ / (1 − σ)). At σ = 1 the denominator would vanish; as in Flow-GRPO the
 * σ in the denominator is replaced by the schedule's second value σ_1 there.
 */
export function sdeNoiseScale(sigma: number, schedule: Float64Array, noiseLevel: number): number {
  const sigmaMax = schedule.length > 1 ? (schedule[1] ?? 0) : 0;
  const denominator = 1 - (sigma >= 1 ? sigmaMax : sigma);
  return noiseLevel * Math.sqrt(sigma / Math.max(denominator, 1e-12));
}
