/** `vr-grpo pretrain-generator`: flow-matching pretraining of the base policy; writes a checkpoint with its measurements. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { pretrainGenerator, saveCheckpoint } from '../../generator/index.js';
import { commandContext, intOption, tensorBackend } from '../context.js';
import { createProgress } from '../progress.js';

interface PretrainFlags {
  config?: string;
  steps?: string;
  out?: string;
}

export function registerPretrainGenerator(program: Command): void {
  program
    .command('pretrain-generator')
    .description('pretrain the base flow-matching policy on the imperfect world data and save it')
    .option('--steps <n>', 'training steps (default: pretrain.steps)')
    .option('--out <dir>', 'checkpoint folder (default: pretrain.out)')
    .option('--config <file>', 'config file')
    .action(async (flags: PretrainFlags) => {
      const ctx = commandContext(flags.config);
      const steps = intOption('--steps', flags.steps, 1);
      const config = steps === undefined ? ctx.config : { ...ctx.config, pretrain: { ...ctx.config.pretrain, steps } };
      const out = flags.out === undefined ? config.pretrain.out : resolve(flags.out);
      const backend = await tensorBackend(ctx);
      const progress = createProgress(config.pretrain.steps, 'pretrain [{bar}] {value}/{total} loss {loss} | ETA {eta_formatted}', ctx.log);
      const result = await pretrainGenerator(config, { onProgress: (p) => progress.update(p.step, { loss: p.loss.toFixed(4) }) });
      progress.stop();
      try {
        const manifest = saveCheckpoint(out, {
          policy: result.policy,
          base: true,
          lora: false,
          metadata: {
            kind: 'generator-base',
            pretrain: config.pretrain,
            world: config.world,
            sampler: config.generator.sampler,
            tensorBackend: backend.name,
            seconds: Math.round(result.seconds * 10) / 10,
            lossCurve: result.lossCurve,
            heldOut: result.heldOut,
            train: result.train,
          },
        });
        const summary = {
          out,
          seconds: Math.round(result.seconds),
          finalLoss: result.lossCurve.at(-1)?.loss ?? null,
          worldVersion: config.world.version,
          heldOutAccuracy: result.heldOut.accuracy,
          trainAccuracy: result.train.accuracy,
          heldOutAllCorrect: result.heldOut.allCorrect,
          trainAllCorrect: result.train.allCorrect,
          heldOutPerAttribute: result.heldOut.perAttribute,
          trainPerAttribute: result.train.perAttribute,
          heldOutQuality: result.heldOut.quality,
          weightsSha256: manifest.weights.sha256,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      } finally {
        result.policy.dispose();
      }
    });
}
