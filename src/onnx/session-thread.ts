/**
 * The caller's end of an ONNX session thread: one worker thread per model running src/onnx/session-worker.ts, started
 * and called through the project's thread calls (src/common/thread-rpc.ts). Errors cross with their catalogue code
 * (MODEL_INVALID for refused bytes, INFERENCE_FAILED for a failed run); a thread that dies fails every pending and later
 * call with INFERENCE_FAILED and is reported through `onCrash`. The thread is never terminated inside a native call
 * (that aborts the process, see src/onnx/probe.ts): only after it has answered a close or a failed load.
 */
import type { Transferable } from 'node:worker_threads';
import { ThreadClient } from '../common/thread-rpc.js';
import { VrGrpoError } from '../errors/index.js';
import type { OrtSessionOptions, RawFeed, RawOutput } from './ort-session.js';
import { transferable, type SessionMethod, type SessionThreadData } from './session-messages.js';
import type { ModelSignature, TensorSignature } from './types.js';

const ENTRY = new URL('./session-worker.ts', import.meta.url);

/** Lifecycle of a session thread once its model is loaded. */
export type SessionThreadState = 'OPEN' | 'CLOSING' | 'CLOSED' | 'CRASHED';

export class SessionThread {
  #state: SessionThreadState = 'OPEN';
  #closing: Promise<void> | null = null;
  /** Set once this side stops the thread, so the end of `untilExit` is not taken for a crash. */
  #stopping = false;

  private constructor(
    private readonly client: ThreadClient,
    readonly label: string,
    readonly inputs: readonly TensorSignature[],
    readonly outputs: readonly TensorSignature[],
    onCrash: () => void,
  ) {
    // Pending for the thread's whole life: it fails when the thread dies, which is the crash notice.
    this.#call('untilExit').catch(() => {
      if (this.#stopping) return;
      this.#state = 'CRASHED';
      onCrash();
    });
  }

  /**
   * Starts a thread and loads `bytes` there (their buffer moves to the thread when `move` and it spans the whole
   * buffer; otherwise a copy goes). MODEL_INVALID when the runtime refuses the bytes; INFERENCE_FAILED when the thread
   * fails to start or dies while loading.
   */
  static async start(bytes: Uint8Array, move: boolean, options: OrtSessionOptions, label: string, onCrash: () => void): Promise<SessionThread> {
    const data: SessionThreadData = { label, options };
    const client = await ThreadClient.start(ENTRY, data, { failureCode: 'INFERENCE_FAILED', name: `vr-grpo-onnx ${label}` });
    const sent = transferable([bytes], move);
    let signature: ModelSignature;
    try {
      signature = (await client.call('load' satisfies SessionMethod, sent.arrays, sent.transfer)) as ModelSignature;
    } catch (e) {
      // A refused model leaves the thread idle (no native call running), a dead one is gone: stopping it is safe.
      await client.terminate();
      throw e;
    }
    return new SessionThread(client, label, signature.inputs, signature.outputs, onCrash);
  }

  get state(): SessionThreadState {
    return this.#state;
  }

  #call(method: SessionMethod, args: readonly unknown[] = [], transfer: readonly Transferable[] = []): Promise<unknown> {
    return this.client.call(method, args, transfer);
  }

  /**
   * Runs `feeds` on the thread. With `move`, a feed whose array spans its whole buffer moves there (detached here);
   * other feeds are copied. INFERENCE_FAILED when the run fails or the thread is not open.
   */
  async run(feeds: readonly RawFeed[], move: boolean): Promise<RawOutput[]> {
    if (this.#state !== 'OPEN') {
      throw new VrGrpoError('INFERENCE_FAILED', `${this.label}: the ONNX session thread is ${this.#state.toLowerCase()}`, { details: { model: this.label } });
    }
    const sent = transferable(
      feeds.map((f) => f.data),
      move,
    );
    const args = feeds.map((f, i) => ({ name: f.name, dims: [...f.dims], data: sent.arrays[i] ?? f.data }));
    return (await this.#call('run', [args], sent.transfer)) as RawOutput[];
  }

  /** Has the thread release its session (after the runs queued before), then stops it. Idempotent; a crashed thread is already gone. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'CRASHED') return;
    this.#state = 'CLOSING';
    try {
      await this.#call('close');
    } catch (e) {
      // A thread that died meanwhile has nothing left to release.
      if (!this.#crashed()) throw e;
    } finally {
      // The session is released (or the thread is gone): no native call is running, so stopping it is safe.
      this.#stopping = true;
      await this.client.terminate();
      if (!this.#crashed()) this.#state = 'CLOSED';
    }
  }

  /** A method, not a field read, so that the compiler does not narrow the state across the awaits above. */
  #crashed(): boolean {
    return this.#state === 'CRASHED';
  }

  /** Ends the thread with an uncaught error, as a crash would. For tests of the crash path only. */
  simulateCrash(): void {
    this.#call('crash').catch(() => undefined);
  }
}
