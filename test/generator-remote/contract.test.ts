/** The TrainableGenerator contract suite against the in-process embedded generator and a remote one served by a worker. */
import { EmbeddedGenerator } from '../../src/generator/embedded-generator.js';
import { RemoteGenerator } from '../../src/generator/remote/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { describeGeneratorContract } from './contract.js';
import { startWorker, trainerOptions } from './helpers.js';
import { v1Config } from '../world-v1.js';

const config = v1Config();
const size = { width: config.world.width, height: config.world.height, frameCount: config.world.frames, fps: config.world.fps };

describeGeneratorContract('embedded (in-process)', async () => {
  await chooseTensorBackend('auto');
  const generator = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
  return { generator, size, cleanup: () => generator.close() };
});

describeGeneratorContract('remote (worker serving the embedded generator)', async () => {
  await chooseTensorBackend('auto');
  const served = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
  const worker = await startWorker({ generator: served });
  const generator = await RemoteGenerator.connect(worker.url, { timeoutMs: 60_000 });
  return {
    generator,
    size,
    cleanup: async () => {
      await generator.close();
      await worker.close();
      await served.close();
    },
  };
});
