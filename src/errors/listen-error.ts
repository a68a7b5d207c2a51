/** The catalogue error for a server whose listener cannot bind: the one place an errno becomes a listen code. */
import { VrGrpoError } from './vr-grpo-error.js';

/**
 * ADDRESS_IN_USE for a taken host:port (EADDRINUSE), BIND_FAILED for any other listen failure (EACCES,
 * EADDRNOTAVAIL, …). `details` carries `field: 'port'`, `host`, `port` and the errno code as `reason` (for people and
 * logs; callers decide by `code`).
 */
export function listenError(server: string, host: string, port: number, error: unknown): VrGrpoError {
  const errno = error !== null && typeof error === 'object' && 'code' in error ? String(error.code) : 'listen failed';
  const message = error instanceof Error ? error.message : String(error);
  return new VrGrpoError(errno === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'BIND_FAILED', `${server} cannot listen on ${host}:${port}: ${message}`, {
    details: { field: 'port', host, port, reason: errno },
    cause: error,
  });
}
