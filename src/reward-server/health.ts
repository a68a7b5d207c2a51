/** The reward server's `/healthz` body. */
export interface HealthBody {
  readonly status: 'ok' | 'draining';
  readonly rmVersion: string;
  readonly backend: string;
  readonly inFlight: number;
  readonly connections: number;
}
