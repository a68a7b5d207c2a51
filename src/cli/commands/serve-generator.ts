/**
 * `vr-grpo serve-generator`: the embedded generator (trainable) as a remote generator worker over WebSockets. Secure by
 * default: beyond loopback it refuses to start without a token (`VRGRPO_GENERATOR_TOKEN`) unless told
 * `--allow-unauthenticated`; advantages are clipped to `training.advantage.clip`; a saved state is checked on restore.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { VrGrpoError } from '../../errors/index.js';
import { openWorkerGenerator, ThreadedGenerator, type OpenedWorkerGenerator } from '../../generator/index.js';
import { installSignalDrain } from '../../common/signal-drain.js';
import { GeneratorWorkerServer, isLoopbackHost, RolloutArtifacts } from '../../generator/remote/index.js';
import { commandContext, intOption, media, tensorBackend } from '../context.js';

interface ServeGeneratorFlags {
  config?: string;
  host?: string;
  port?: string;
  checkpoint?: string;
  stateDir?: string;
  allowUnauthenticated?: boolean;
  thread?: boolean;
  artifactRoot?: string;
}

/**
 * Environment variable holding the worker's bearer token. Unset or empty: no authentication, which only a loopback
 * `--host` allows (or `--allow-unauthenticated`).
 */
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
    .option(
      '--allow-unauthenticated',
      `serve without ${GENERATOR_TOKEN_ENV} on a --host beyond loopback (anyone who can reach the port can update the policy; only for a network of trusted peers)`,
    )
    .option(
      '--artifact-root <dir>',
      'deliver videos by reference when asked: write MP4s under this (shared) folder and send their file: URIs instead of frames',
    )
    .option('--no-thread', 'run rollouts and updates on the main thread (pings and /healthz then wait for them)')
    .option('--config <file>', 'config file')
    .action(async (flags: ServeGeneratorFlags) => {
      const ctx = commandContext(flags.config);
      const port = intOption('--port', flags.port, 0) ?? 0;
      const config =
        flags.checkpoint === undefined ? ctx.config : { ...ctx.config, generator: { ...ctx.config.generator, checkpoint: resolve(flags.checkpoint) } };
      const token = process.env[GENERATOR_TOKEN_ENV] ?? '';
      const host = flags.host ?? '127.0.0.1';
      const allowUnauthenticated = flags.allowUnauthenticated === true;
      // Refused before any work (no model loaded): a worker reachable from the network without a token would let
      // anyone roll out and update the policy.
      if (token === '' && !allowUnauthenticated && !isLoopbackHost(host)) {
        throw new VrGrpoError(
          'INVALID_ARGUMENT',
          `--host ${host} is reachable beyond loopback: set ${GENERATOR_TOKEN_ENV} to a secret token ('vr-grpo train' reads the same variable), or pass --allow-unauthenticated on a network where every peer is trusted`,
          { details: { field: 'token', host } },
        );
      }
      const stateDir = flags.stateDir === undefined ? null : resolve(flags.stateDir);
      // Rollouts and updates run in a thread of their own by default, so pings, status and /healthz are answered at
      // once however large the rollout; --no-thread keeps them on the main thread (one process, one backend).
      let opened: OpenedWorkerGenerator;
      if (flags.thread === false) {
        await tensorBackend(ctx);
        opened = await openWorkerGenerator({ config, stateDir });
      } else {
        const threaded = await ThreadedGenerator.start({ config, stateDir });
        opened = { generator: threaded, restoredUpdates: threaded.restoredUpdates, restored: threaded.restored };
      }
      const { generator } = opened;
      if (stateDir !== null)
        ctx.log.info(
          { stateDir, restoredUpdates: opened.restoredUpdates },
          opened.restored ? 'generator worker state restored' : 'generator worker state: none yet (starting from the base checkpoint)',
        );
      try {
        const artifacts = flags.artifactRoot === undefined ? null : await RolloutArtifacts.open(resolve(flags.artifactRoot), await media(ctx));
        const server = await GeneratorWorkerServer.start({
          artifacts,
          generator,
          log: ctx.log,
          host,
          port,
          token: token === '' ? null : token,
          allowUnauthenticated,
          advantageClip: config.training.advantage.clip,
        });
        ctx.log.info({ checkpoint: config.generator.checkpoint, auth: token !== '' }, 'generator worker ready');
        process.stdout.write(`listening ${server.url}\n`);
        await installSignalDrain(server, ctx.log);
      } finally {
        await generator.close();
      }
    });
}
