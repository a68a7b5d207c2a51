/** SIGTERM/SIGINT → one graceful `close()` of a server (reward server, generator worker); used by the serve commands. */
import type { Logger } from './logger.js';

/** What the drain needs of a server. */
export interface Drainable {
  close(): Promise<void>;
  /** Resolves once the server is closed, whoever closed it. */
  readonly closed: Promise<void>;
}

/** Signals that start a drain by default. */
export const DRAIN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Installs handlers for `signals` (default SIGTERM and SIGINT): the first one calls `server.close()`; repeats while
 * draining are logged and ignored. Resolves once the server is closed — with the signal that closed it, or `null` when
 * something else closed it — and then removes the handlers, so nothing stays installed.
 */
export function installSignalDrain(server: Drainable, log: Logger, signals: readonly NodeJS.Signals[] = DRAIN_SIGNALS): Promise<NodeJS.Signals | null> {
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      log.warn({ signal }, 'already draining; signal ignored');
      return;
    }
    received = signal;
    log.info({ signal }, 'signal received; draining');
    server.close().catch((error: unknown) => {
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'close after a signal failed');
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return server.closed.then(() => {
    for (const signal of signals) process.off(signal, onSignal);
    return received;
  });
}
