/** `scoped(fn)`: like tf.tidy, but for functions returning plain values (every tensor made inside is disposed). */
import * as tf from '@tensorflow/tfjs';

export function scoped<T>(fn: () => T): T {
  const engine = tf.engine();
  engine.startScope();
  try {
    return fn();
  } finally {
    engine.endScope();
  }
}
