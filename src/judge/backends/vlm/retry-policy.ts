/**
 * When to retry a chat-completions request and how long to wait: connection errors, 408, 429 and 5xx are retried
 * with exponential backoff and jitter, a server's `Retry-After` (seconds or HTTP date) is honoured; other 4xx are not.
 */

/** Statuses worth another attempt: request timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in ms (delta-seconds or an HTTP date relative to `now`); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Backoff before attempt `attempt + 1` (attempt counts from 1): base·2^(attempt−1), capped, with "equal jitter"
 * (half fixed, half random) so replicas that failed together do not retry together.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
