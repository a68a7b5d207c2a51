/** `vr-grpo serve-reward`: the VR-Thinker reward server over WebSockets, with the embedded judge or a VLM backend (judge.backend). */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../../config/index.js';
import type { Command } from 'commander';
import { createEmbeddedJudge } from '../../judge/backends/embedded/index.js';
import { createVlmJudge, vlmOptionsFromConfig } from '../../judge/backends/vlm/index.js';
import { RewardServer, installSignalDrain } from '../../reward-server/index.js';
import { commandContext, intOption, media } from '../context.js';

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  artifactRoot?: string;
  checkpoint?: string;
}

export function registerServeReward(program: Command): void {
  program
    .command('serve-reward')
    .description('serve the reward model (judge.backend: embedded judge or a VLM server) over WebSockets; prints "listening ws://HOST:PORT" when ready')
    .option('--host <host>', 'interface to bind (default: rewardServer.host, 127.0.0.1)')
    .option('--port <n>', 'port, 0 = free port (default: rewardServer.port)')
    .option('--artifact-root <dir>', 'file:// videos must lie under this folder (also VRGRPO_ARTIFACT_ROOT)')
    .option('--checkpoint <dir>', 'embedded reward-model checkpoint (default: judge.checkpoint; not used with judge.backend vlm)')
    .option('--config <file>', 'config file')
    .action(async (flags: ServeFlags) => {
      const ctx = commandContext(flags.config);
      const rs = ctx.config.rewardServer;
      const port = intOption('--port', flags.port, 0) ?? rs.port;
      // Default: the runs/ folder next to the config's folder (configs/../runs).
      const artifactRoot = resolve(flags.artifactRoot ?? rs.artifactRoot ?? process.env.VRGRPO_ARTIFACT_ROOT ?? resolve(dirname(ctx.config.source ?? DEFAULT_CONFIG_PATH), '..', 'runs'));
      mkdirSync(artifactRoot, { recursive: true });
      const token = rs.token ?? process.env.VRGRPO_TOKEN ?? null;
      const judge = ctx.config.judge;
      const service =
        judge.backend === 'vlm'
          ? await createVlmJudge({ vlm: vlmOptionsFromConfig(judge.vlm), judge })
          : await createEmbeddedJudge({ modelDir: flags.checkpoint === undefined ? judge.checkpoint : resolve(flags.checkpoint), judge });
      const server = await RewardServer.start({
        service,
        media: await media(ctx),
        log: ctx.log,
        artifactRoot,
        host: flags.host ?? rs.host,
        port,
        token: token === '' ? null : token,
        maxPayloadBytes: rs.maxPayloadBytes,
        maxInFlightPerConnection: rs.maxInFlightPerConnection,
        heartbeatIntervalMs: rs.heartbeatIntervalMs,
        drainTimeoutMs: rs.drainTimeoutMs,
      });
      ctx.log.info({ rmVersion: service.rmVersion(), artifactRoot, auth: token !== null }, 'reward server ready');
      process.stdout.write(`listening ${server.url}\n`);
      await installSignalDrain(server, ctx.log);
      await service.close();
    });
}
