/**
 * The Flow-GRPO SDE step with its Gaussian log-probability (DESIGN.md §3), in tfjs so gradients flow:
 *   μ = x + [v + σ_t²/(2σ)·(x + (1−σ)·v)]·Δt,  x' = μ + σ_t·√(−Δt)·ε,
 *   log p = mean over latent elements of [−(x'−μ)²/(2σ_t²(−Δt)) − log(σ_t√(−Δt)) − ½·log(2π)].
 * σ, Δt and σ_t are per row ([N, 1]) so steps of different σ can be evaluated in one batch.
 */
import { tf, type Tensor1D, type Tensor2D } from '../tensor/index.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Mean of the next latent under the SDE. x, v: [N, L]; sigma, dt, noiseScale: [N, 1]. */
export function sdeMean(x: Tensor2D, v: Tensor2D, sigma: Tensor2D, dt: Tensor2D, noiseScale: Tensor2D): Tensor2D {
  const coef = tf.div(tf.square(noiseScale), tf.mul(sigma, 2));
  const drift = tf.add(v, tf.mul(coef, tf.add(x, tf.mul(tf.sub(1, sigma), v))));
  return tf.add(x, tf.mul(drift, dt));
}

/** Per-row standard deviation of the step: σ_t·√(−Δt). [N, 1]. */
export function sdeStd(dt: Tensor2D, noiseScale: Tensor2D): Tensor2D {
  return tf.mul(noiseScale, tf.sqrt(tf.neg(dt)));
}

/** Gaussian log-density of xNext under N(mean, std²), averaged over latent elements: [N]. */
export function gaussianLogProb(xNext: Tensor2D, mean: Tensor2D, std: Tensor2D): Tensor1D {
  const z = tf.div(tf.sub(xNext, mean), std);
  const perElement = tf.sub(tf.sub(tf.mul(tf.square(z), -0.5), tf.log(std)), HALF_LOG_2PI);
  return tf.mean(perElement, 1);
}

/** Euler ODE step: x + v·Δt. */
export function odeStep(x: Tensor2D, v: Tensor2D, dt: Tensor2D): Tensor2D {
  return tf.add(x, tf.mul(v, dt));
}
