/**
 * `vr-grpo start` (what `npm start` runs): the main job on the embedded default. Until the GRPO coordinator lands it
 * samples groups of G videos for held-out prompts with the embedded policy, writes them as MP4s into a run folder and
 * scores them with the gold evaluator, printing a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { deriveSeed } from '../../common/rng.js';
import { EmbeddedGenerator } from '../../generator/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, promptText } from '../../world/index.js';
import { commandContext, intOption, media, tensorBackend } from '../context.js';

interface StartFlags {
  config?: string;
  prompts?: string;
  runDir?: string;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the main job on the embedded default (now: sample held-out prompts, write MP4s, gold-score them)')
    .option('--prompts <n>', 'held-out prompts to sample', '4')
    .option('--run-dir <dir>', 'output folder (default runs/<timestamp>)')
    .option('--config <file>', 'config file')
    .action(async (flags: StartFlags) => {
      const ctx = commandContext(flags.config);
      const { config } = ctx;
      const count = intOption('--prompts', flags.prompts, 1) ?? 4;
      const runDir = resolve(flags.runDir ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-')));
      await tensorBackend(ctx);
      const m = await media(ctx);
      const generator = await EmbeddedGenerator.create({ config, media: m });
      try {
        const specs = new PromptGenerator({
          seed: deriveSeed(config.seed, 11),
          split: 'heldout',
          splitSeed: config.world.splitSeed,
          heldOutFraction: config.world.heldOutFraction,
          secondObjectProbability: config.world.secondObjectProbability,
        }).take(count);
        const prompts = specs.map(promptText);
        const G = config.training.groupSize;
        mkdirSync(runDir, { recursive: true });
        const result = await generator.generate({ prompts, groupSize: G, seed: config.seed, mp4Dir: join(runDir, 'videos') });
        const rows = specs.map((spec, p) => {
          const group = result.videos.filter((v) => v.promptIndex === p);
          const reports = group.map((v) => evaluateScene(spec, decodeLatent(v.latent ?? new Float32Array(0), v.video.width, v.video.height)));
          const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
          return {
            prompt: prompts[p] ?? '',
            goldAccuracy: mean(reports.map((r) => r.accuracy)),
            best: Math.max(...reports.map((r) => r.accuracy)),
            quality: mean(reports.map((r) => r.quality)),
            videos: group.map((v) => v.mp4Path),
          };
        });
        writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ config: config.source, groupSize: G, timing: result.timing, rows }, null, 2)}\n`);
        process.stdout.write(`\nheld-out prompts, ${G} videos each (gold attribute accuracy, mean / best; quality 1 = no defects)\n`);
        for (const r of rows) {
          process.stdout.write(`  ${r.goldAccuracy.toFixed(2)} / ${r.best.toFixed(2)}  q ${r.quality.toFixed(2)}  ${r.prompt}\n`);
        }
        process.stdout.write(`\nvideos and summary.json in ${runDir}\n`);
      } finally {
        await generator.close();
      }
    });
}
