/**
 * The TrainableGenerator contract suite against every implementation: the in-process embedded generator, the
 * persistent one (`serve-generator --state-dir`: embedded + policy saved after each update), a remote one served by a
 * worker, the threaded one (the embedded generator in a worker thread, with and without a state folder), and a
 * reconnecting one (what `train --generator ws://…` uses) to a worker serving a persistent generator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedGenerator } from '../../src/generator/embedded-generator.js';
import { ReconnectingGenerator, RemoteGenerator } from '../../src/generator/remote/index.js';
import { ThreadedGenerator } from '../../src/generator/thread/index.js';
import { PersistentGenerator } from '../../src/generator/worker-state.js';
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

describeGeneratorContract('threaded (the embedded generator in a worker thread: serve-generator by default)', async () => {
  const generator = await ThreadedGenerator.start({ config, stateDir: null });
  return { generator, size, cleanup: () => generator.close() };
});

describeGeneratorContract(
  'threaded with a state folder',
  async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'vr-grpo-contract-threaded-'));
    const generator = await ThreadedGenerator.start({ config, stateDir });
    return {
      generator,
      size,
      cleanup: async () => {
        await generator.close();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  },
  { policyUpdates: true },
);

describeGeneratorContract(
  'persistent (embedded + state folder, in-process)',
  async () => {
    await chooseTensorBackend('auto');
    const stateDir = mkdtempSync(join(tmpdir(), 'vr-grpo-contract-persistent-'));
    const embedded = await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) });
    const generator = new PersistentGenerator(embedded, stateDir, 0);
    return {
      generator,
      size,
      cleanup: async () => {
        await generator.close();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  },
  { policyUpdates: true },
);

describeGeneratorContract(
  'reconnecting (worker serving a persistent generator)',
  async () => {
    await chooseTensorBackend('auto');
    const stateDir = mkdtempSync(join(tmpdir(), 'vr-grpo-contract-reconnecting-'));
    const served = new PersistentGenerator(await EmbeddedGenerator.create({ config, trainer: trainerOptions(config) }), stateDir, 0);
    const worker = await startWorker({ generator: served });
    const generator = await ReconnectingGenerator.connect(worker.url, { timeoutMs: 60_000, reconnectTimeoutMs: 5_000 });
    return {
      generator,
      size,
      cleanup: async () => {
        await generator.close();
        await worker.close();
        await served.close();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  },
  { policyUpdates: true, recover: true },
);
