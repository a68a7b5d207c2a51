/**
 * `npm run bench:generator`: videos/s of the embedded generator — SDE sampling + rendering, and MP4 encoding — on
 * this machine. Medians over repeated runs; results to bench/results/generator.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, loadConfig, DEFAULT_CONFIG_PATH } from '../src/config/index.js';
import { EmbeddedGenerator } from '../src/generator/index.js';
import { Media } from '../src/media/index.js';
import { chooseTensorBackend } from '../src/tensor/index.js';
import { PromptGenerator, promptText, worldPromptOptions } from '../src/world/index.js';
import { machineInfo, median } from './machine.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const config = loadConfig(DEFAULT_CONFIG_PATH);
const machine = machineInfo();
const backend = await chooseTensorBackend(config.tensor.backend);
const media = await Media.create();
const generator = await EmbeddedGenerator.create({ config, media });
const prompts = new PromptGenerator(worldPromptOptions(config.world, 'train', 1)).take(4).map(promptText);
const G = config.training.groupSize;
const tmp = mkdtempSync(join(tmpdir(), 'vrgrpo-bench-'));

try {
  await generator.generate({ prompts, groupSize: G, seed: 0 }); // warm-up
  const sample: number[] = [];
  const render: number[] = [];
  const total: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const res = await generator.generate({ prompts, groupSize: G, seed: r + 1 });
    total.push(performance.now() - t0);
    sample.push(res.timing.sampleMs);
    render.push(res.timing.renderMs);
  }
  const videos = prompts.length * G;
  const one = await generator.generate({ prompts: prompts.slice(0, 1), groupSize: 8, seed: 99 });
  const encode: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    for (const [i, v] of one.videos.entries()) await media.encodeMp4(v.video, join(tmp, `${r}-${i}.mp4`));
    encode.push(performance.now() - t0);
  }
  const result = {
    benchmark: 'generator',
    date: new Date().toISOString(),
    machine,
    tensorBackend: backend.name,
    setup: {
      videosPerCall: videos,
      prompts: prompts.length,
      groupSize: G,
      samplerSteps: config.generator.sampler.steps,
      frames: config.world.frames,
      size: `${config.world.width}x${config.world.height}`,
      repeats: REPEATS,
    },
    sampleAndRender: {
      videosPerSecond: videos / (median(total) / 1000),
      medianCallMs: median(total),
      medianSampleMs: median(sample),
      medianRenderMs: median(render),
      renderMsPerVideo: median(render) / videos,
    },
    mp4Encode: {
      videosPerSecond: one.videos.length / (median(encode) / 1000),
      msPerVideo: median(encode) / one.videos.length,
      ffmpeg: media.binaries.source.ffmpeg,
    },
  };
  const outDir = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'generator.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await generator.close();
  rmSync(tmp, { recursive: true, force: true });
}
