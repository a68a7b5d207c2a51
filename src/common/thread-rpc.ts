/**
 * Calls into a worker thread, for heavy work that must not hold the event loop (a generator's rollouts and updates):
 * pings, `/healthz` and other connections keep being served while the thread computes.
 *
 * Main side: `ThreadClient.start(entry, data, options)` starts the thread (through bin/thread-bootstrap.js, so
 * a `.ts` entry runs from source), waits for it to be ready, then `call(method, args, transfer)` resolves with the
 * thread's answer. Thread side: the entry calls `serveThread(async (data) => handlers)`. Errors cross as
 * {code, message, details} and come back as a `VrGrpoError` with the same code (codes from the catalogue survive; other
 * errors arrive as the client's `failureCode`). A thread that dies rejects every pending call, and later ones, with
 * `failureCode`. Buffers are moved, not copied, when they are listed in `transfer`.
 */
import { parentPort, Worker, workerData, type Transferable } from 'node:worker_threads';
import { ERROR_CODES, VrGrpoError, type ErrorCode, type ErrorDetails } from '../errors/index.js';

const BOOTSTRAP = new URL('../../bin/thread-bootstrap.js', import.meta.url);
/** Code of a thread error that has none from the catalogue; the caller turns it into its `failureCode`. */
const UNCLASSIFIED = 'UNCLASSIFIED';

interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details: ErrorDetails;
}

type ToThread = { readonly kind: 'call'; readonly id: number; readonly method: string; readonly args: readonly unknown[] };
type FromThread =
  | { readonly kind: 'ready' }
  | { readonly kind: 'start_failed'; readonly error: WireError }
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly error: WireError };

/** What a thread handler answers: the value, and the buffers to move (not copy) to the caller. */
export interface ThreadReply {
  readonly value: unknown;
  readonly transfer?: readonly Transferable[];
}

/** The methods a thread serves; each gets the call's arguments. */
export type ThreadHandlers = Readonly<Record<string, (args: readonly unknown[]) => Promise<ThreadReply>>>;

export interface ThreadClientOptions {
  /** Code of the errors a failed call without a catalogue code, a start failure or a dead thread reject with. */
  readonly failureCode: ErrorCode;
  /** Name of the thread (shown in stack traces and diagnostics). */
  readonly name: string;
  /** How long the thread may take to become ready, in milliseconds (default 120 s). */
  readonly startTimeoutMs?: number;
}

function toWireError(error: unknown, fallback: string): WireError {
  if (error instanceof VrGrpoError) return { code: error.code, message: error.message, details: cloneable(error.details) };
  return { code: fallback, message: error instanceof Error ? error.message : String(error), details: {} };
}

/** Details that survive a structured clone (functions, class instances with hidden state: dropped as a whole). */
function cloneable(details: ErrorDetails): ErrorDetails {
  try {
    return structuredClone(details);
  } catch {
    return {};
  }
}

function fromWireError(error: WireError, failureCode: ErrorCode, thread: string): VrGrpoError {
  const known = Object.hasOwn(ERROR_CODES, error.code);
  const code = known ? (error.code as ErrorCode) : failureCode;
  return new VrGrpoError(code, error.message, { details: known ? error.details : { ...error.details, thread, threadCode: error.code } });
}

/** The caller's end of a worker thread. */
export class ThreadClient {
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  #nextId = 1;
  #dead: VrGrpoError | null = null;
  readonly #exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly options: ThreadClientOptions,
  ) {
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromThread) => this.#onMessage(message));
    worker.on('error', (error) => this.#die(`thread ${options.name} failed: ${error.message}`, error));
    worker.on('exit', (exitCode) => this.#die(`thread ${options.name} exited (code ${exitCode})`));
  }

  /** Starts the thread running `entry` (a module that calls `serveThread`) with `data`, and waits until it is ready. */
  static async start(entry: URL, data: unknown, options: ThreadClientOptions): Promise<ThreadClient> {
    const worker = new Worker(BOOTSTRAP, { workerData: { entry: entry.href, data }, name: options.name });
    const client = new ThreadClient(worker, options);
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const onMessage = (message: FromThread): void => {
          if (message.kind === 'ready') resolve();
          else if (message.kind === 'start_failed') reject(fromWireError(message.error, options.failureCode, options.name));
        };
        worker.on('message', onMessage);
        worker.once('error', reject);
        worker.once('exit', (exitCode) => reject(new VrGrpoError(options.failureCode, `thread ${options.name} exited while starting (code ${exitCode})`)));
        timer = setTimeout(() => reject(new VrGrpoError(options.failureCode, `thread ${options.name} not ready within ${timeoutMs} ms`)), timeoutMs);
      });
    } catch (error) {
      await worker.terminate();
      throw error instanceof VrGrpoError ? error : new VrGrpoError(options.failureCode, `thread ${options.name} failed to start`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Calls `method` in the thread; `transfer` lists buffers of `args` to move instead of copy. */
  call(method: string, args: readonly unknown[] = [], transfer: readonly Transferable[] = []): Promise<unknown> {
    if (this.#dead !== null) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ToThread = { kind: 'call', id, method, args };
      try {
        this.worker.postMessage(message, [...transfer]);
      } catch (error) {
        this.#pending.delete(id);
        reject(new VrGrpoError('INVALID_ARGUMENT', `cannot pass the arguments of ${method} to thread ${this.options.name}`, { cause: error }));
      }
    });
  }

  /** Stops the thread (pending calls reject); idempotent. */
  async terminate(): Promise<void> {
    this.#die(`thread ${this.options.name} was stopped`);
    await this.worker.terminate();
    await this.#exited;
  }

  #onMessage(message: FromThread): void {
    if (message.kind !== 'result' && message.kind !== 'error') return;
    const waiter = this.#pending.get(message.id);
    if (waiter === undefined) return;
    this.#pending.delete(message.id);
    if (message.kind === 'result') waiter.resolve(message.value);
    else waiter.reject(fromWireError(message.error, this.options.failureCode, this.options.name));
  }

  #die(reason: string, cause?: unknown): void {
    if (this.#dead === null) this.#dead = new VrGrpoError(this.options.failureCode, reason, cause === undefined ? {} : { cause });
    for (const waiter of this.#pending.values()) waiter.reject(this.#dead);
    this.#pending.clear();
  }
}

/**
 * The thread's end: builds the handlers from the start data (a failure is reported to `ThreadClient.start`), then
 * answers calls one message at a time, in arrival order per method call (handlers may overlap if they await).
 */
export function serveThread(init: (data: unknown) => Promise<ThreadHandlers>): void {
  const port = parentPort;
  if (port === null) throw new VrGrpoError('INVALID_STATE', 'serveThread must run inside a worker thread');
  const start = async (): Promise<void> => {
    let handlers: ThreadHandlers;
    try {
      handlers = await init((workerData as { data: unknown }).data);
    } catch (error) {
      port.postMessage({ kind: 'start_failed', error: toWireError(error, UNCLASSIFIED) } satisfies FromThread);
      return;
    }
    port.on('message', (message: ToThread) => {
      const handler = Object.hasOwn(handlers, message.method) ? handlers[message.method] : undefined;
      const answer = handler === undefined ? Promise.reject(new VrGrpoError('NOT_SUPPORTED', `thread has no method ${message.method}`)) : handler(message.args);
      answer.then(
        (reply) => port.postMessage({ kind: 'result', id: message.id, value: reply.value } satisfies FromThread, [...(reply.transfer ?? [])]),
        (error: unknown) => port.postMessage({ kind: 'error', id: message.id, error: toWireError(error, UNCLASSIFIED) } satisfies FromThread),
      );
    });
    port.postMessage({ kind: 'ready' } satisfies FromThread);
  };
  void start();
}
