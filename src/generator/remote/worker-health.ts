/** The generator worker's `/healthz` body (the HTTP handling itself is shared: src/common/http.ts). */
export interface WorkerHealthBody {
  readonly status: 'ok' | 'draining';
  readonly generator: string;
  readonly trainable: boolean;
  /** Requests waiting for or holding the generator. */
  readonly queued: number;
  readonly connections: number;
}
