/**
 * Runs the conformance checks against a generator worker URL: one main connection (plus the extra ones a check
 * opens), each check bounded by `checkTimeoutMs`, then cleanup — outstanding rollouts discarded, the worker's state
 * restored to what it was before the run when it announces `features.state`, every connection closed.
 */
import { VrGrpoError } from '../../errors/index.js';
import { RemoteGenerator } from '../remote/remote-generator.js';
import { CheckFailure, type CheckContext, type CheckOutcome, type ConformanceCheck } from './check.js';
import { CONFORMANCE_CHECKS } from './checks.js';
import { RawWorkerPeer } from './raw-peer.js';

/** Default time one check may take, in milliseconds (2 minutes: a check runs up to four rollouts and two updates). */
export const DEFAULT_CHECK_TIMEOUT_MS = 120_000;
/** Prompts of the checks' rollouts (scenes the embedded world renders; any worker takes any text). */
export const DEFAULT_CONFORMANCE_PROMPTS: readonly string[] = Object.freeze([
  'a red circle moving left fast on a navy background',
  'a blue square moving right slowly on a white background',
]);

export interface ConformanceOptions {
  /** Worker URL, `ws://host:port`. */
  readonly url: string;
  /** Bearer token. Default: none. */
  readonly token?: string;
  /** Time one check may take, in milliseconds (also each protocol call's timeout). Default: 120000. */
  readonly checkTimeoutMs?: number;
  /** Prompts of the rollouts (two or more). Default: {@link DEFAULT_CONFORMANCE_PROMPTS}. */
  readonly prompts?: readonly string[];
  /** Checks to run. Default: {@link CONFORMANCE_CHECKS}. */
  readonly checks?: readonly ConformanceCheck[];
  /** Called after each check (progress output). */
  readonly onResult?: (result: CheckResult) => void;
}

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly status: CheckOutcome['status'];
  /** Why it failed or was skipped; on a pass, what the worker showed (may be empty). */
  readonly reason: string;
  readonly ms: number;
}

export interface ConformanceReport {
  readonly url: string;
  /** `generator` and `worker` of the hello; null when the connection failed. */
  readonly generator: string | null;
  readonly worker: string | null;
  readonly results: readonly CheckResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Whether the worker's state was saved before the checks and restored after them (features.state). */
  readonly stateRestored: boolean | null;
  /** Problems of the cleanup (discard, restore), which do not fail a check. */
  readonly cleanupErrors: readonly string[];
}

function describe(error: unknown): string {
  if (error instanceof CheckFailure) return error.message;
  if (error instanceof VrGrpoError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** `run()` bounded by `ms`; a timeout fails the check (its calls are bounded by the same time and settle later). */
async function bounded(run: () => Promise<CheckOutcome>, ms: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', reason: `did not finish within ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([run().catch((error: unknown): CheckOutcome => ({ status: 'fail', reason: describe(error) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(field: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new VrGrpoError('INVALID_ARGUMENT', `${field}: expected a positive integer (got ${value})`, { details: { field } });
  return value;
}

/** Runs the checks in order; never rejects for a worker failure (those are failed checks), only for bad options. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const timeoutMs = positive('checkTimeoutMs', options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
  const prompts = options.prompts ?? DEFAULT_CONFORMANCE_PROMPTS;
  if (prompts.length < 2) throw new VrGrpoError('INVALID_ARGUMENT', 'prompts: the checks need two prompts or more', { details: { field: 'prompts' } });
  const checks = options.checks ?? CONFORMANCE_CHECKS;
  const token = options.token === undefined || options.token === '' ? {} : { token: options.token };
  const results: CheckResult[] = [];
  const record = (result: CheckResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  const cleanupErrors: string[] = [];
  const report = (remote: RemoteGenerator | null, stateRestored: boolean | null): ConformanceReport => ({
    url: options.url,
    generator: remote?.hello.generator ?? null,
    worker: remote?.hello.worker ?? null,
    results,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    stateRestored,
    cleanupErrors,
  });

  const started = performance.now();
  let remote: RemoteGenerator;
  try {
    remote = await RemoteGenerator.connect(options.url, {
      ...token,
      timeoutMs,
      connectTimeoutMs: Math.min(timeoutMs, 30_000),
      clientName: 'vr-grpo-check-generator',
    });
  } catch (error) {
    const [first, ...rest] = checks;
    if (first !== undefined)
      record({ id: first.id, title: first.title, status: 'fail', reason: `cannot connect: ${describe(error)}`, ms: performance.now() - started });
    for (const c of rest) record({ id: c.id, title: c.title, status: 'skip', reason: 'no connection to the worker', ms: 0 });
    return report(null, null);
  }

  const extra: { close(): Promise<void> }[] = [];
  const outstanding = new Set<string>();
  const ctx: CheckContext = {
    url: options.url,
    remote,
    prompts,
    timeoutMs,
    connect: async () => {
      const other = await RemoteGenerator.connect(options.url, { ...token, timeoutMs, clientName: 'vr-grpo-check-generator' });
      extra.push(other);
      return other;
    },
    raw: async () => {
      const peer = await RawWorkerPeer.open(options.url, { ...token, timeoutMs });
      extra.push(peer);
      return peer;
    },
    track: (id) => outstanding.add(id),
  };

  let baseline: string | null = null;
  if (remote.saveState !== undefined) {
    try {
      baseline = (await remote.saveState('vrgrpo-conformance-baseline')).ref;
    } catch (error) {
      cleanupErrors.push(`saving the state before the checks failed: ${describe(error)}`);
    }
  }
  let restored: boolean | null = null;
  try {
    for (const check of checks) {
      const t0 = performance.now();
      const outcome = await bounded(() => check.run(ctx), timeoutMs);
      const reason = outcome.status === 'pass' ? (outcome.note ?? '') : outcome.reason;
      record({ id: check.id, title: check.title, status: outcome.status, reason, ms: Math.round(performance.now() - t0) });
      // Connections a check opened end with it (the worker releases their rollouts).
      await Promise.all(extra.splice(0).map((c) => c.close()));
    }
  } finally {
    await Promise.all(extra.splice(0).map((c) => c.close()));
    if (remote.isOpen && outstanding.size > 0) {
      await remote.discard([...outstanding]).catch((error: unknown) => cleanupErrors.push(`discarding rollouts failed: ${describe(error)}`));
    }
    if (baseline !== null && remote.restoreState !== undefined) {
      restored = await remote.restoreState(baseline).then(
        () => true,
        (error: unknown) => {
          cleanupErrors.push(`restoring the state from before the checks failed: ${describe(error)}`);
          return false;
        },
      );
    }
    await remote.close();
  }
  return report(remote, restored);
}
