/**
 * `vr-grpo train-perception` (old spelling: `vr-grpo train-reward-model`): trains, exports and measures the embedded
 * judge's ONNX perception model (rm-v1, rm-v2, rm-v3, …).
 */
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { measureWorlds, type WorldsAccuracy } from '../../judge-training/perception/evaluate.js';
import { Perception, writePerceptionDir } from '../../judge/backends/embedded/perception/index.js';
import { DEFAULT_EVAL_SEED, DEFAULT_EVAL_SEED_V2, PERCEPTION_PRESETS, trainPerception, type PerceptionPreset } from '../../judge-training/perception/train.js';
import type { WorldSplitOptions } from '../../judge-training/perception/training-data.js';
import { UsageError, commandContext, intOption, tensorBackend } from '../context.js';
import { createProgress } from '../progress.js';

interface TrainRewardModelFlags {
  version: string;
  preset?: string;
  out?: string;
  steps?: string;
  seed?: string;
  config?: string;
  compare?: string;
  compareFrames?: string;
}

const PRESET_NAMES = Object.keys(PERCEPTION_PRESETS) as PerceptionPreset[];
const isPreset = (name: string): name is PerceptionPreset => (PRESET_NAMES as string[]).includes(name);

/** Measures the model folder `dir` on the held-out world-v1 and world-v2 evaluation frames. */
async function measureDir(dir: string, frames: number, world: WorldSplitOptions): Promise<{ version: string } & WorldsAccuracy> {
  const perception = await Perception.create(dir);
  try {
    const worlds = await measureWorlds((rows, n) => perception.predictRows(rows, n), {
      v1Seed: DEFAULT_EVAL_SEED,
      v2Seed: DEFAULT_EVAL_SEED_V2,
      frames,
      world,
    });
    return { version: perception.version, ...worlds };
  } finally {
    await perception.close();
  }
}

export function registerTrainRewardModel(program: Command): void {
  program
    .command('train-perception')
    .alias('train-reward-model')
    .description('train the embedded judge perception (ONNX) on rendered world frames, measure it, and save manifest.json + model.onnx')
    .requiredOption('--version <label>', 'version label written into the manifest, e.g. rm-v2')
    .option('--preset <name>', `training recipe: ${PRESET_NAMES.join(' | ')} (default: the version if it names one, else rm-v2)`)
    .option('--out <dir>', 'output folder (default: models/<version>, next to the configured judge.checkpoint)')
    .option('--steps <n>', 'optimiser steps (default: the preset)')
    .option('--seed <n>', 'training seed (default: the preset)')
    .option('--config <file>', 'config file (world split and tensor backend)')
    .option(
      '--compare <dirs>',
      'comma-separated model folders measured beside the new model on the same held-out world-v1 and world-v2 frames (e.g. models/rm-v2)',
    )
    .option('--compare-frames <n>', 'held-out frames per world for --compare (default 1000)')
    .action(async (flags: TrainRewardModelFlags) => {
      const ctx = commandContext(flags.config);
      const presetName = flags.preset ?? (isPreset(flags.version) ? flags.version : 'rm-v2');
      if (!isPreset(presetName)) throw new UsageError(`--preset: expected one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(presetName)}`);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(flags.version))
        throw new UsageError(`--version: letters, digits, '.', '_' and '-' only, got ${JSON.stringify(flags.version)}`);
      const preset = PERCEPTION_PRESETS[presetName];
      const steps = intOption('--steps', flags.steps, 0) ?? preset.steps;
      const seed = intOption('--seed', flags.seed, 0) ?? preset.seed;
      const compareFrames = intOption('--compare-frames', flags.compareFrames, 1) ?? 1000;
      const compareDirs = (flags.compare ?? '')
        .split(',')
        .map((d) => d.trim())
        .filter((d) => d !== '')
        .map((d) => resolve(d));
      const out = flags.out === undefined ? join(dirname(ctx.config.judge.checkpoint), flags.version) : resolve(flags.out);
      const backend = await tensorBackend(ctx);
      const progress = createProgress(steps, 'train-perception [{bar}] {value}/{total} loss {loss} | ETA {eta_formatted}', ctx.log);
      const w = ctx.config.world;
      const world: WorldSplitOptions = { splitSeed: w.splitSeed, heldOutFraction: w.heldOutFraction, secondObjectProbability: w.secondObjectProbability };
      let result;
      try {
        result = await trainPerception({
          ...preset,
          version: flags.version,
          steps,
          seed,
          world,
          tensorBackend: backend.name,
          onProgress: (p) => progress.update(p.step, { loss: p.loss.toFixed(4) }),
        });
      } finally {
        progress.stop();
      }
      const manifest = { ...result.manifest, training: { ...result.manifest.training, preset: presetName } };
      writePerceptionDir(out, manifest, result.bytes);
      const comparison: ({ version: string; dir: string } & WorldsAccuracy)[] = [];
      if (compareDirs.length > 0) for (const dir of [...compareDirs, out]) comparison.push({ ...(await measureDir(dir, compareFrames, world)), dir });
      const summary = {
        version: manifest.version,
        preset: presetName,
        out,
        seconds: { train: Math.round(result.seconds.train), measure: Math.round(result.seconds.measure), total: Math.round(result.seconds.total) },
        tensorBackend: backend.name,
        parameters: manifest.architecture.parameters,
        modelBytes: manifest.model.bytes,
        sha256: manifest.model.sha256,
        finalLoss: manifest.training.finalLoss,
        accuracy: manifest.accuracy,
        signalsCorrelation: manifest.signalsCalibration.correlation,
        ...(comparison.length === 0 ? {} : { comparison }),
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
