/** Process loggers (pino), created by entry points and passed down; never a module global. */
import { pino, type Logger } from 'pino';

export type { Logger };

/** A logger writing JSON lines to stderr (or pretty single lines when `plain`). */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? process.env.VRGRPO_LOG_LEVEL ?? 'info', name: options.name ?? 'vr-grpo', base: undefined }, pino.destination(2));
}

/** A logger that drops everything (tests, libraries used without a logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
