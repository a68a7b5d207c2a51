/**
 * `GET /metrics` for any HTTP server of the project (reward server, coordinator): the Prometheus text exposition of a
 * `MetricsSource`, optionally behind the server's bearer check. Servers route a request here when `isMetricsRequest`
 * says so and answer everything else themselves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

export interface MetricsExposition {
  readonly contentType: string;
  readonly body: string;
}

/** Anything that can render its metrics (CoordinatorMetrics, RewardServerMetrics). */
export interface MetricsSource {
  exposition(): Promise<MetricsExposition>;
}

export interface ServeMetricsOptions {
  /** When given and it returns false, the scrape is refused with 401. Default: every request passes. */
  readonly authorized?: (request: IncomingMessage) => boolean;
  /** Told when collecting the metrics failed (the client gets a 500). */
  readonly onError?: (error: unknown) => void;
}

/** Whether `req` targets `/metrics` (any method; `serveMetrics` answers 405 for the wrong ones). */
export function isMetricsRequest(req: IncomingMessage): boolean {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname === METRICS_PATH;
  } catch {
    return false;
  }
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Answers `GET|HEAD /metrics`: 200 with the exposition, 401 when not authorised, 405 for other methods, 500 when collection fails. Never rejects. */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, source: MetricsSource, options: ServeMetricsOptions = {}): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    if (options.authorized !== undefined && !options.authorized(req)) {
      sendText(res, 401, 'missing or wrong bearer token\n', { 'www-authenticate': 'Bearer realm="vr-grpo"' });
      return;
    }
    const { contentType, body } = await source.exposition();
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    options.onError?.(error);
    if (!res.headersSent) sendText(res, 500, 'metrics collection failed\n');
    else res.destroy();
  }
}
