/** SIGTERM/SIGINT → one graceful `close()` of a generator worker; used by `vr-grpo serve-generator`. */
import type { Logger } from '../../common/logger.js';

/** What the drain needs of a server. */
export interface DrainableWorker {
  close(): Promise<void>;
  /** Resolves once the server is closed, whoever closed it. */
  readonly closed: Promise<void>;
}

/** Signals that start a drain by default. */
export const WORKER_DRAIN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Installs handlers for `signals` (default SIGTERM and SIGINT): the first one calls `server.close()`; repeats while
 * draining are logged and ignored. Resolves once the server is closed — with the signal that closed it, or `null` when
 * something else closed it — and then removes the handlers, so nothing stays installed.
 */
export function installWorkerSignalDrain(server: DrainableWorker, log: Logger, signals: readonly NodeJS.Signals[] = WORKER_DRAIN_SIGNALS): Promise<NodeJS.Signals | null> {
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      log.warn({ signal }, 'already draining; signal ignored');
      return;
    }
    received = signal;
    log.info({ signal }, 'signal received; draining the generator worker');
    server.close().catch((error: unknown) => {
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'generator worker close failed');
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return server.closed.then(() => {
    for (const signal of signals) process.off(signal, onSignal);
    return received;
  });
}
