/**
 * What crosses between an {@link OnnxModel} and its session thread (src/onnx/session-worker.ts) over the project's
 * thread calls (src/common/thread-rpc.ts): the start data, the method names, and the transfer lists that move float32
 * data and model bytes instead of copying them.
 */
import type { OrtSessionOptions } from './ort-session.js';

/** Start data of a session thread. */
export interface SessionThreadData {
  /** Names the model in the thread's errors. */
  readonly label: string;
  readonly options: OrtSessionOptions;
}

/**
 * The methods a session thread serves: `load` (bytes → signature), `run` (feeds → outputs), `close` (release the
 * session), `untilExit` (never answers: it fails only when the thread dies, which is how the caller learns of a
 * crash) and `crash` (ends the thread with an uncaught error, for tests of the crash path).
 */
export type SessionMethod = 'load' | 'run' | 'close' | 'untilExit' | 'crash';

/**
 * The buffers to transfer for `arrays`: each array's own buffer when `move` and it spans all of it (and is not shared),
 * else a copy of just the view (a view of a larger buffer must not move, nor drag the rest along in a clone). Returns
 * the arrays to send (originals or copies) and the transfer list, without duplicates.
 */
export function transferable<T extends Float32Array | Uint8Array>(
  arrays: readonly T[],
  move: boolean,
): { readonly arrays: T[]; readonly transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const out = arrays.map((a) => {
    const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
    // A copy by construction: `slice()` of a Node Buffer is a view of the same memory.
    const sendable = move && whole ? a : ((a instanceof Float32Array ? new Float32Array(a) : new Uint8Array(a)) as T);
    transfer.add(sendable.buffer as ArrayBuffer);
    return sendable;
  });
  return { arrays: out, transfer: [...transfer] };
}
