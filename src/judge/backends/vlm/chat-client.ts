/**
 * HTTP client for `POST {baseUrl}/chat/completions`: per-request timeout, bounded retries (exponential backoff with
 * jitter on connection errors, 408, 429 and 5xx, honouring `Retry-After`; no retry on other 4xx), and a concurrency
 * limit per client. Failures are VrGrpoErrors: BACKEND_UNAVAILABLE, BACKEND_TIMEOUT, BACKEND_REJECTED, or
 * ABORTED when the caller's signal fires, CLOSED when the client is closed.
 */
import { VrGrpoError } from '../../../errors/index.js';
import { Rng } from '../../../common/rng.js';
import { parseChatCompletion, type ChatCompletion, type ChatRequest } from './chat-messages.js';
import { ConcurrencyLimit, type Priority } from './concurrency-limit.js';
import { backoffDelayMs, isRetryableStatus, parseRetryAfter } from './retry-policy.js';

export interface ChatClientOptions {
  /** API root without a trailing slash, e.g. http://gpu-host:8000/v1. */
  readonly baseUrl: string;
  /** Bearer token, or null. */
  readonly apiKey: string | null;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly concurrency: number;
}

/** Injected time and randomness (tests fake the clock where waiting is the subject). */
export interface ChatClientDeps {
  /** Waits `ms` (rejects when `signal` aborts). Default: a real timer. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) for jitter. Default: a seeded RNG (seed = process id, so replicas do not jitter in step). */
  readonly random?: () => number;
}

/** One completed exchange: the parsed completion and the attempts it took. */
export interface ChatResult {
  readonly completion: ChatCompletion;
  readonly attempts: number;
}

type AttemptOutcome =
  | { readonly kind: 'ok'; readonly completion: ChatCompletion }
  | { readonly kind: 'retry'; readonly why: string; readonly retryAfterMs: number | null; readonly cause?: unknown }
  | { readonly kind: 'fail'; readonly error: VrGrpoError };

function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Text of a failed response, shortened for error messages. */
function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/** The root cause's code/message of a fetch failure (undici wraps it in `TypeError: fetch failed`). */
function describeNetworkError(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}

export class ChatCompletionsClient {
  private readonly limit: ConcurrencyLimit;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  /** Aborted by close(): ends in-flight requests and backoff waits. */
  private readonly lifetime = new AbortController();
  private closed = false;

  constructor(
    private readonly options: ChatClientOptions,
    deps: ChatClientDeps = {},
  ) {
    this.limit = new ConcurrencyLimit(options.concurrency);
    this.sleep = deps.sleep ?? realSleep;
    const rng = Rng.fromSeed(process.pid);
    this.random = deps.random ?? (() => rng.next());
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.limit.inUse;
  }

  get url(): string {
    return `${this.options.baseUrl}/chat/completions`;
  }

  /**
   * Sends one chat-completions request, retrying as documented; rejects with a VrGrpoError. `priority` 'continue'
   * (a later turn of a running conversation) is served before waiting first turns.
   */
  async complete(request: ChatRequest, signal?: AbortSignal, priority: Priority = 'new'): Promise<ChatResult> {
    if (this.closed) throw new VrGrpoError('CLOSED', 'the VLM client is closed', { details: { reason: 'closed' } });
    const body = JSON.stringify(request);
    const stop = signal === undefined ? this.lifetime.signal : AbortSignal.any([signal, this.lifetime.signal]);
    let last: Extract<AttemptOutcome, { kind: 'retry' }> | null = null;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      const release = await this.limit.acquire(stop, priority);
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(body, stop);
      } finally {
        release();
      }
      if (outcome.kind === 'ok') return { completion: outcome.completion, attempts: attempt };
      if (outcome.kind === 'fail') throw outcome.error;
      last = outcome;
      if (attempt === this.options.maxAttempts) break;
      let delay = backoffDelayMs(attempt, this.options.retryBaseDelayMs, this.options.retryMaxDelayMs, this.random);
      if (outcome.retryAfterMs !== null) {
        if (outcome.retryAfterMs > this.options.retryMaxDelayMs) {
          throw this.unavailable(
            `${outcome.why}; the server asks to retry after ${outcome.retryAfterMs} ms, longer than retryMaxDelayMs ${this.options.retryMaxDelayMs}`,
            attempt,
            outcome,
          );
        }
        delay = outcome.retryAfterMs;
      }
      try {
        await this.sleep(delay, stop);
      } catch {
        throw this.abortError();
      }
    }
    throw this.unavailable(last?.why ?? 'no attempt made', this.options.maxAttempts, last);
  }

  private async attempt(body: string, stop: AbortSignal): Promise<AttemptOutcome> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = AbortSignal.any([stop, timeout]);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey !== null) headers.authorization = `Bearer ${this.options.apiKey}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body, signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      if (stop.aborted) return { kind: 'fail', error: this.abortError() };
      if (timeout.aborted) {
        return {
          kind: 'fail',
          error: new VrGrpoError('BACKEND_TIMEOUT', `no answer from ${this.url} within ${this.options.timeoutMs} ms`, {
            details: { url: this.url, timeoutMs: this.options.timeoutMs },
            cause: e,
          }),
        };
      }
      return { kind: 'retry', why: `cannot reach ${this.url} (${describeNetworkError(e)})`, retryAfterMs: null, cause: e };
    }
    if (status >= 200 && status < 300) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return {
          kind: 'fail',
          error: new VrGrpoError('BACKEND_UNAVAILABLE', `${this.url} answered ${status} with a body that is not JSON: ${snippet(text)}`, {
            details: { url: this.url, status },
            cause: e,
          }),
        };
      }
      const parsed = parseChatCompletion(json);
      if (!parsed.ok)
        return {
          kind: 'fail',
          error: new VrGrpoError('BACKEND_UNAVAILABLE', `${this.url} answered ${status} with a body that is not a chat completion (${parsed.reason})`, {
            details: { url: this.url, status },
          }),
        };
      return { kind: 'ok', completion: parsed.value };
    }
    if (isRetryableStatus(status)) return { kind: 'retry', why: `${this.url} answered ${status}: ${snippet(text)}`, retryAfterMs: parseRetryAfter(retryAfter) };
    return {
      kind: 'fail',
      error: new VrGrpoError('BACKEND_REJECTED', `${this.url} refused the request with ${status}: ${snippet(text)}`, {
        details: { url: this.url, status, body: snippet(text) },
      }),
    };
  }

  private unavailable(why: string, attempts: number, last: { readonly cause?: unknown } | null): VrGrpoError {
    return new VrGrpoError('BACKEND_UNAVAILABLE', `${why} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`, {
      details: { url: this.url, attempts },
      cause: last?.cause,
    });
  }

  private abortError(): VrGrpoError {
    return this.closed
      ? new VrGrpoError('CLOSED', 'the VLM client was closed during the request', { details: { reason: 'closed' } })
      : new VrGrpoError('ABORTED', 'judgment aborted during a VLM request', { details: { reason: 'aborted' } });
  }

  /** Ends in-flight requests and waiting ones (they reject with CLOSED); idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.lifetime.abort();
    this.limit.rejectWaiting(this.abortError());
    return Promise.resolve();
  }
}
