/**
 * Entry of the generator thread (see ./threaded-generator.ts): opens the worker's generator on its own tensor backend
 * and serves its calls. Videos and latents come back as moved buffers; trajectories stay here, under the rollout id.
 */
import type { Transferable } from 'node:worker_threads';
import { serveThread, type ThreadReply } from '../../common/thread-rpc.js';
import { chooseTensorBackend } from '../../tensor/index.js';
import type { GenerateRequest, GenerateResult, RolloutAdvantages, TrainableGenerator } from '../generator.js';
import { openWorkerGenerator } from '../worker-generator.js';
import type { GeneratorThreadData, ThreadGenerateResult, ThreadUpdateResult } from './messages.js';

function movedBuffers(result: GenerateResult): Transferable[] {
  const buffers = new Set<ArrayBufferLike>();
  for (const v of result.videos) {
    buffers.add(v.video.data.buffer);
    if (v.latent !== null) buffers.add(v.latent.buffer);
  }
  // Only whole ArrayBuffers can be moved; a SharedArrayBuffer is shared anyway.
  return [...buffers].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

function counted(generator: TrainableGenerator): number | null {
  return generator.policyUpdates === undefined ? null : generator.policyUpdates();
}

serveThread(async (raw) => {
  const data = raw as GeneratorThreadData;
  await chooseTensorBackend(data.config.tensor.backend, { log: () => undefined });
  const { generator, restoredUpdates, restored } = await openWorkerGenerator({ config: data.config, stateDir: data.stateDir });
  return {
    describe: (): Promise<ThreadReply> => Promise.resolve({ value: { name: generator.name, policyUpdates: counted(generator), restoredUpdates, restored } }),
    generate: async ([request]): Promise<ThreadReply> => {
      const result = await generator.generate(request as GenerateRequest);
      const value: ThreadGenerateResult = { rolloutId: result.rolloutId, videos: result.videos, timing: result.timing };
      return { value, transfer: movedBuffers(result) };
    },
    update: async ([rollouts]): Promise<ThreadReply> => {
      const stats = await generator.update(rollouts as readonly RolloutAdvantages[]);
      const value: ThreadUpdateResult = { stats, policyUpdates: counted(generator) };
      return { value };
    },
    discard: async ([rolloutIds]): Promise<ThreadReply> => {
      await generator.discard(rolloutIds as readonly string[]);
      return { value: null };
    },
    close: async (): Promise<ThreadReply> => {
      await generator.close();
      return { value: null };
    },
  };
});
