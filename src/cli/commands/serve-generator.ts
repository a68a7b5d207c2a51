/** `vr-grpo serve-generator`: the embedded generator (trainable) as a remote generator worker over WebSockets. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedGenerator, PersistentGenerator, readWorkerState, trainerOptionsFrom, type TrainableGenerator } from '../../generator/index.js';
import { installSignalDrain } from '../../common/signal-drain.js';
import { GeneratorWorkerServer } from '../../generator/remote/index.js';
import { commandContext, intOption, tensorBackend } from '../context.js';

interface ServeGeneratorFlags {
  config?: string;
  host?: string;
  port?: string;
  checkpoint?: string;
  stateDir?: string;
}

/** Environment variable holding the worker's bearer token (unset or empty: no authentication). */
export const GENERATOR_TOKEN_ENV = 'VRGRPO_GENERATOR_TOKEN';

export function registerServeGenerator(program: Command): void {
  program
    .command('serve-generator')
    .description(
      `serve the embedded generator (trainable) as a generator worker over WebSockets; prints "listening ws://HOST:PORT" when ready (token: ${GENERATOR_TOKEN_ENV})`,
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <n>', 'port, 0 = free port', '0')
    .option('--checkpoint <dir>', 'policy checkpoint folder (default: generator.checkpoint of the config)')
    .option(
      '--state-dir <dir>',
      'keep the policy (adapters, optimizer, update count) here after every update and restore it on start, so a restarted worker continues where it was',
    )
    .option('--config <file>', 'config file')
    .action(async (flags: ServeGeneratorFlags) => {
      const ctx = commandContext(flags.config);
      const port = intOption('--port', flags.port, 0) ?? 0;
      const config =
        flags.checkpoint === undefined ? ctx.config : { ...ctx.config, generator: { ...ctx.config.generator, checkpoint: resolve(flags.checkpoint) } };
      const token = process.env[GENERATOR_TOKEN_ENV] ?? '';
      await tensorBackend(ctx);
      const stateDir = flags.stateDir === undefined ? null : resolve(flags.stateDir);
      const state = stateDir === null ? null : readWorkerState(stateDir);
      const embedded = await EmbeddedGenerator.create({
        config,
        trainer: trainerOptionsFrom(config),
        ...(state?.optimizer == null ? {} : { optimizerState: state.optimizer }),
      });
      if (state !== null) embedded.policy.setParameters(state.lora);
      const generator: TrainableGenerator = stateDir === null ? embedded : new PersistentGenerator(embedded, stateDir, state?.updates ?? 0);
      if (stateDir !== null)
        ctx.log.info(
          { stateDir, restoredUpdates: state?.updates ?? 0 },
          state === null ? 'generator worker state: none yet (starting from the base checkpoint)' : 'generator worker state restored',
        );
      try {
        const server = await GeneratorWorkerServer.start({
          generator,
          log: ctx.log,
          host: flags.host ?? '127.0.0.1',
          port,
          token: token === '' ? null : token,
        });
        ctx.log.info({ checkpoint: config.generator.checkpoint, auth: token !== '' }, 'generator worker ready');
        process.stdout.write(`listening ${server.url}\n`);
        await installSignalDrain(server, ctx.log);
      } finally {
        await generator.close();
      }
    });
}
