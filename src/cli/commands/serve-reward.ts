/** `vr-grpo serve-reward`: the VR-Thinker reward server over WebSockets, with the embedded judge or a VLM backend (judge.backend). */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../../config/index.js';
import type { Command } from 'commander';
import { VrGrpoError } from '../../errors/index.js';
import { createVlmJudge, vlmOptionsFromConfig } from '../../judge/backends/vlm/index.js';
import { RewardServerMetrics } from '../../metrics/index.js';
import {
  CheckpointManager,
  EMBEDDED_DECODE_MAX_PIXELS,
  RewardServer,
  embeddedServiceFactory,
  installSignalDrain,
  type CheckpointSource,
  type ServiceFactory,
} from '../../reward-server/index.js';
import type { MediaPort } from '../../media/index.js';
import { UsageError, commandContext, intOption, media, threadedMedia, type CommandContext } from '../context.js';

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  artifactRoot?: string;
  checkpoint?: string;
  watchCheckpoints?: string;
  exitWithParent?: boolean;
  record?: string;
  /** Commander's `--no-planted-hack`: false drops the config's judge.plantedHack (an auditor's server). */
  plantedHack?: boolean;
  /** Commander's `--no-media-thread`: false starts ffprobe/ffmpeg from the main thread. */
  mediaThread?: boolean;
  /** Commander's `--no-analysis-thread`: false runs perception's frame analysis on the main thread. */
  analysisThread?: boolean;
}

/** The configured backend's service factory and the version to start on. */
function backend(ctx: CommandContext, flags: ServeFlags): { factory: ServiceFactory; initial: CheckpointSource } {
  const judge = ctx.config.judge;
  if (judge.backend === 'vlm') {
    const base = vlmOptionsFromConfig(judge.vlm);
    return {
      initial: { kind: 'vlm' },
      factory: async (source) => {
        if (source.kind !== 'vlm')
          throw new VrGrpoError('INVALID_REQUEST', 'this server runs the VLM backend: load_checkpoint needs a model and/or baseUrl, not a checkpoint path');
        // Another model gets its own label (vlm:<model>) unless the request names one.
        const rmVersion = source.rmVersion ?? (source.model === undefined ? base.rmVersion : null);
        return createVlmJudge({
          vlm: { ...base, model: source.model ?? base.model, baseUrl: source.baseUrl ?? base.baseUrl, rmVersion },
          judge,
          ...(flags.record === undefined ? {} : { recordDir: resolve(flags.record) }),
        });
      },
    };
  }
  return {
    initial: { kind: 'path', path: flags.checkpoint === undefined ? judge.checkpoint : resolve(flags.checkpoint) },
    factory: embeddedServiceFactory({
      // An auditor's server (`train` starts one per checkpoint auditor) judges without the testing aid's planted hack.
      judge: flags.plantedHack === false ? { ...judge, plantedHack: null } : judge,
      reasoner: { temporal: ctx.config.world.version === 2 },
      analysisThreads: flags.analysisThread === false ? 0 : 'auto',
      limits: { maxModelBytes: ctx.config.rewardServer.checkpoints.maxModelBytes, readTimeoutMs: ctx.config.rewardServer.checkpoints.modelReadTimeoutMs },
      budget: {
        maxRssGrowthBytes:
          ctx.config.rewardServer.checkpoints.canaryMaxRssGrowthMiB === null ? null : ctx.config.rewardServer.checkpoints.canaryMaxRssGrowthMiB * 1024 * 1024,
        maxRunMs: ctx.config.rewardServer.checkpoints.canaryMaxJudgmentMs,
      },
    }),
  };
}

export function registerServeReward(program: Command): void {
  program
    .command('serve-reward')
    .description('serve the judge (judge.backend: embedded judge or a VLM server) over WebSockets; prints "listening ws://HOST:PORT" when ready')
    .option('--host <host>', 'interface to bind (default: rewardServer.host, 127.0.0.1)')
    .option('--port <n>', 'port, 0 = free port (default: rewardServer.port)')
    .option('--artifact-root <dir>', 'file:// videos must lie under this folder (also VRGRPO_ARTIFACT_ROOT)')
    .option('--checkpoint <dir>', 'embedded judge checkpoint (default: judge.checkpoint; not used with judge.backend vlm)')
    .option('--watch-checkpoints <dir>', 'swap to complete checkpoint folders that appear in this folder (default: rewardServer.checkpoints.watchDir)')
    .option('--record <dir>', 'judge.backend vlm: write every request to the VLM server and its response to this folder (docs/vlm.md)')
    .option('--no-planted-hack', "judge without the config's judge.plantedHack (a testing aid): how `train` starts an auditor's server")
    .option('--exit-with-parent', 'drain and exit when stdin closes (the parent that spawned it with a stdin pipe died): how `train` starts its local servers')
    .option('--no-analysis-thread', "embedded judge: run perception's frame analysis on the main thread instead of analysis threads")
    .option('--no-media-thread', 'start ffprobe/ffmpeg from the main thread instead of a media thread (each spawn then stalls the event loop)')
    .option('--config <file>', 'config file')
    .action(async (flags: ServeFlags) => {
      const ctx = commandContext(flags.config);
      const rs = ctx.config.rewardServer;
      const port = intOption('--port', flags.port, 0) ?? rs.port;
      // Default: the runs/ folder next to the config's folder (configs/../runs).
      const artifactRoot = resolve(
        flags.artifactRoot ?? rs.artifactRoot ?? process.env.VRGRPO_ARTIFACT_ROOT ?? resolve(dirname(ctx.config.source ?? DEFAULT_CONFIG_PATH), '..', 'runs'),
      );
      mkdirSync(artifactRoot, { recursive: true });
      const token = rs.token ?? process.env.VRGRPO_TOKEN ?? null;
      const adminToken = rs.adminToken ?? process.env.VRGRPO_ADMIN_TOKEN ?? null;
      const ck = rs.checkpoints;
      // Relative to the working directory on the command line, to the config file's folder in the config.
      const watchDir =
        flags.watchCheckpoints !== undefined
          ? resolve(flags.watchCheckpoints)
          : ck.watchDir === null
            ? null
            : resolve(dirname(ctx.config.source ?? DEFAULT_CONFIG_PATH), ck.watchDir);
      if (watchDir !== null) mkdirSync(watchDir, { recursive: true });
      if (flags.record !== undefined && ctx.config.judge.backend !== 'vlm')
        throw new UsageError('--record: records the VLM backend; the config says judge.backend: embedded');
      const { factory, initial } = backend(ctx, flags);
      const service = await CheckpointManager.create({
        factory,
        initial,
        log: ctx.log,
        canary: {
          pairs: ck.canaryPairs,
          pointwise: ck.canaryPointwise,
          timeoutMs: ck.canaryTimeoutMs,
          maxRssGrowthBytes: ck.canaryMaxRssGrowthMiB === null ? null : ck.canaryMaxRssGrowthMiB * 1024 * 1024,
          maxJudgmentMs: ck.canaryMaxJudgmentMs,
        },
        agreementFloor: ck.agreementFloor,
        // A VLM endpoint may come up after the server; the embedded judge is checked before it serves.
        validateInitial: ctx.config.judge.backend !== 'vlm',
        watch: watchDir === null ? null : { dir: watchDir, intervalMs: ck.watchIntervalMs },
      });
      // ffprobe/ffmpeg spawn from their own thread unless told otherwise: a fork of this process stalls its loop.
      let decoder: MediaPort & { close?: () => Promise<void> };
      try {
        decoder = flags.mediaThread === false ? await media(ctx) : await threadedMedia(ctx);
      } catch (error) {
        await service.close();
        throw error;
      }
      let server: RewardServer;
      try {
        server = await RewardServer.start({
          service,
          checkpoints: service,
          adminToken: adminToken === '' ? null : adminToken,
          media: decoder,
          log: ctx.log,
          artifactRoot,
          host: flags.host ?? rs.host,
          port,
          token: token === '' ? null : token,
          maxPayloadBytes: rs.maxPayloadBytes,
          maxInFlightPerConnection: rs.maxInFlightPerConnection,
          heartbeatIntervalMs: rs.heartbeatIntervalMs,
          drainTimeoutMs: rs.drainTimeoutMs,
          metricsRequireToken: rs.metricsRequireToken,
          maxConnections: rs.maxConnections,
          maxSendBufferBytes: rs.maxSendBufferBytes,
          allowedHosts: rs.allowedHosts,
          allowedOrigins: rs.allowedOrigins,
          mediaLimits: {
            maxPixelsPerFrame: rs.media.maxPixelsPerFrame,
            maxFrames: rs.media.maxFrames,
            maxDurationSeconds: rs.media.maxDurationSeconds,
            maxDecodedBytes: rs.media.maxDecodedBytes,
          },
          // Decode at the judge's working size (docs/config.md, rewardServer.media.decodeMaxPixels).
          decodeMaxPixels:
            rs.media.decodeMaxPixels ??
            (ctx.config.judge.backend === 'vlm'
              ? Math.max(ctx.config.judge.vlm.initialMaxPixels, ctx.config.judge.vlm.selectedMaxPixels)
              : EMBEDDED_DECODE_MAX_PIXELS),
          maxInlinePixelsPerFrame: rs.media.maxInlinePixelsPerFrame,
          maxFrameMemoryBytes: rs.media.maxFrameMemoryBytes,
          metrics: new RewardServerMetrics({ hallucinationWindow: ctx.config.monitoring.metrics.hallucinationWindow }),
        });
      } catch (error) {
        await Promise.allSettled([service.close(), decoder.close?.()]);
        throw error;
      }
      ctx.log.info(
        {
          backend: service.backendName,
          rmVersion: service.rmVersion(),
          artifactRoot,
          auth: token !== null,
          admin: adminToken !== null && adminToken !== '',
          watchDir,
        },
        'reward server ready',
      );
      process.stdout.write(`listening ${server.url}\n`);
      if (flags.exitWithParent === true) {
        // The parent holds the other end of stdin: when it dies, even by SIGKILL, stdin ends and this server drains.
        const drainOrphan = (): void => {
          ctx.log.warn('parent gone (stdin closed); draining');
          process.kill(process.pid, 'SIGTERM');
        };
        process.stdin.once('end', drainOrphan);
        process.stdin.once('error', drainOrphan);
        process.stdin.resume();
        void server.closed.then(() => {
          process.stdin.off('end', drainOrphan);
          process.stdin.off('error', drainOrphan);
          process.stdin.destroy();
        });
      }
      await installSignalDrain(server, ctx.log);
      const closed = await Promise.allSettled([service.close(), decoder.close?.()]);
      for (const c of closed) if (c.status === 'rejected') throw c.reason;
    });
}
