/** Progress display: a bar on a TTY (cli-progress), plain log lines otherwise. */
import cliProgress from 'cli-progress';
import type { Logger } from '../common/logger.js';

export interface Progress {
  update(value: number, fields: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(total: number, format: string, log: Logger): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer: 20 }, cliProgress.Presets.shades_classic);
    bar.start(total, 0);
    return { update: (value, fields) => bar.update(value, fields), stop: () => bar.stop() };
  }
  return {
    update: (value, fields) => log.info({ ...fields, progress: `${value}/${total}` }, 'progress'),
    stop: () => undefined,
  };
}
