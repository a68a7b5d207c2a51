/**
 * The shape of a conformance check of a generator worker: an id, a title, and `run(ctx)` resolving to pass, fail (with
 * the reason) or skip (with the reason: the worker does not announce the feature the check needs).
 */
import type { RemoteGenerator } from '../remote/remote-generator.js';
import type { RawWorkerPeer } from './raw-peer.js';

/** What one check found. `note` on a pass says which of several accepted behaviours the worker showed. */
export type CheckOutcome =
  | { readonly status: 'pass'; readonly note?: string }
  | { readonly status: 'fail'; readonly reason: string }
  | { readonly status: 'skip'; readonly reason: string };

export const pass = (note?: string): CheckOutcome => (note === undefined ? { status: 'pass' } : { status: 'pass', note });
export const fail = (reason: string): CheckOutcome => ({ status: 'fail', reason });
export const skip = (reason: string): CheckOutcome => ({ status: 'skip', reason });

/** Thrown inside a check to fail it with `reason` (what `expect` helpers use). */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** What a check runs against: the worker's main connection and ways to open more. */
export interface CheckContext {
  readonly url: string;
  /** The main connection (its `hello` holds the announced features). */
  readonly remote: RemoteGenerator;
  /** Prompts the rollouts use (the first one alone for single-prompt rollouts). */
  readonly prompts: readonly string[];
  /** A second protocol connection, closed by the runner at the end. */
  connect(): Promise<RemoteGenerator>;
  /** A raw connection (any text or binary message), closed by the runner at the end. */
  raw(): Promise<RawWorkerPeer>;
  /** Remembers rollouts a check left on the worker, discarded by the runner at the end. */
  track(rolloutId: string): void;
  /** Time left to the check, in milliseconds (for bounded waits inside it). */
  readonly timeoutMs: number;
}

export interface ConformanceCheck {
  /** Stable id (`shape`, `on-policy-ratio`, …). */
  readonly id: string;
  readonly title: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}
