/** `vr-grpo generate`: sample the embedded policy for a prompt and write MP4s. */
import { dirname, extname, join, basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedGenerator } from '../../generator/index.js';
import { decodeLatent, evaluateScene, tryParsePrompt } from '../../world/index.js';
import { commandContext, intOption, media, tensorBackend } from '../context.js';

interface GenerateFlags {
  config?: string;
  prompt: string;
  out: string;
  seed?: string;
  count?: string;
  checkpoint?: string;
  ode?: boolean;
}

/** Output paths: `out.mp4` for one video; `out-0.mp4 … out-(N-1).mp4` for several. */
export function outputPaths(out: string, count: number): string[] {
  const file = resolve(out);
  if (count === 1) return [file];
  const ext = extname(file) || '.mp4';
  const stem = basename(file, extname(file));
  return Array.from({ length: count }, (_, i) => join(dirname(file), `${stem}-${i}${ext}`));
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate videos for a text prompt with the embedded policy and write MP4s')
    .requiredOption('--prompt <text>', 'the text prompt')
    .option('--out <file>', 'output MP4 (with --count N: <stem>-0.mp4 … <stem>-(N-1).mp4)', 'out.mp4')
    .option('--seed <n>', 'sampling seed (default: the config seed)')
    .option('--count <n>', 'number of videos', '1')
    .option('--checkpoint <dir>', 'policy checkpoint folder (default: generator.checkpoint of the config)')
    .option('--ode', 'deterministic ODE sampling instead of the SDE')
    .option('--config <file>', 'config file', undefined)
    .action(async (flags: GenerateFlags) => {
      const ctx = commandContext(flags.config);
      const count = intOption('--count', flags.count, 1) ?? 1;
      const seed = intOption('--seed', flags.seed, 0) ?? ctx.config.seed;
      const config =
        flags.checkpoint === undefined ? ctx.config : { ...ctx.config, generator: { ...ctx.config.generator, checkpoint: resolve(flags.checkpoint) } };
      await tensorBackend(ctx);
      const m = await media(ctx);
      const generator = await EmbeddedGenerator.create({ config, media: m });
      try {
        const result = await generator.generate({
          prompts: [flags.prompt],
          groupSize: count,
          seed,
          ...(flags.ode === true ? { sampler: { mode: 'ode' as const } } : {}),
        });
        const paths = outputPaths(flags.out, count);
        const spec = tryParsePrompt(flags.prompt);
        for (const [i, v] of result.videos.entries()) {
          const path = paths[i] ?? flags.out;
          await m.encodeMp4(v.video, path);
          const gold = spec !== null && v.latent !== null ? evaluateScene(spec, decodeLatent(v.latent, v.video.width, v.video.height)) : null;
          const line = {
            path,
            frames: v.video.frameCount,
            width: v.video.width,
            height: v.video.height,
            fps: v.video.fps,
            goldAccuracy: gold?.accuracy ?? null,
            goldQuality: gold?.quality ?? null,
          };
          process.stdout.write(`${JSON.stringify(line)}\n`);
        }
        if (spec === null) ctx.log.warn('prompt is outside the world grammar: no gold scores');
        else if (config.world.version === 1 && spec.objects.some((o) => o.event !== undefined)) {
          ctx.log.warn('the prompt asks for an event, which world v1 neither draws nor scores: use a world v2 config (configs/world-v2.yaml)');
        }
      } finally {
        await generator.close();
      }
    });
}
