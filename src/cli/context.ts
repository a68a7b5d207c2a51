/** What every CLI command sets up: the resolved config, a logger, the tensor backend, the media adapter. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLogger, type Logger } from '../common/logger.js';
import { DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../config/index.js';
import { Media, ThreadedMedia, type MediaOptions } from '../media/index.js';
import { chooseTensorBackend, type BackendChoice } from '../tensor/index.js';

export interface CommandContext {
  readonly config: Config;
  readonly log: Logger;
}

/** `--config FILE`, default `configs/default.yaml` in the working directory, else the project's own. */
export function configPathFrom(option: string | undefined): string {
  if (option !== undefined) return resolve(option);
  const local = resolve('configs', 'default.yaml');
  return existsSync(local) ? local : DEFAULT_CONFIG_PATH;
}

export function commandContext(configOption: string | undefined): CommandContext {
  const config = loadConfig(configPathFrom(configOption));
  return { config, log: createLogger() };
}

export async function tensorBackend(ctx: CommandContext): Promise<BackendChoice> {
  return chooseTensorBackend(ctx.config.tensor.backend, { log: (line) => ctx.log.info(line) });
}

function mediaOptions(ctx: CommandContext): MediaOptions {
  const m = ctx.config.media;
  return {
    ...(m.ffmpegPath === null ? {} : { ffmpegPath: m.ffmpegPath }),
    ...(m.ffprobePath === null ? {} : { ffprobePath: m.ffprobePath }),
    timeoutMs: m.timeoutMs,
  };
}

export async function media(ctx: CommandContext): Promise<Media> {
  return Media.create(mediaOptions(ctx));
}

/** The media adapter on its own thread (ffprobe/ffmpeg spawned off the event loop), for servers; close it when done. */
export async function threadedMedia(ctx: CommandContext): Promise<ThreadedMedia> {
  return ThreadedMedia.start(mediaOptions(ctx));
}

/** Parses an integer option; throws a usage error naming the option. */
export function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name}: expected integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** A command-line usage error (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
