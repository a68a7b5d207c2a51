/**
 * Entry of the generator thread (see ./threaded-generator.ts): opens the worker's generator on its own tensor backend
 * and serves its calls. Videos and latents come back as moved buffers; trajectories stay here, under the rollout id.
 */
import type { Transferable } from 'node:worker_threads';
import { serveThread, type ThreadReply } from '../../common/thread-rpc.js';
import { chooseTensorBackend } from '../../tensor/index.js';
import { VrGrpoError } from '../../errors/index.js';
import { framesOf, type RawVideo } from '../../media/index.js';
import type { GenerateRequest, GenerateResult, ReplayedRollout, RolloutAdvantages, TrainableGenerator } from '../generator.js';
import { openWorkerGenerator } from '../worker-generator.js';
import type { GeneratorThreadData, ThreadDescription, ThreadGenerateResult, ThreadUpdateResult } from './messages.js';

function movedBuffers(result: GenerateResult<RawVideo>): Transferable[] {
  const buffers = new Set<ArrayBufferLike>();
  for (const v of result.videos) {
    buffers.add(v.video.data.buffer);
    if (v.latent !== null) buffers.add(v.latent.buffer);
  }
  // Only whole ArrayBuffers can be moved; a SharedArrayBuffer is shared anyway.
  return [...buffers].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

function required<F>(method: F | undefined, name: string): F {
  if (method === undefined) throw new VrGrpoError('NOT_SUPPORTED', `the generator has no ${name}`);
  return method;
}

function counted(generator: TrainableGenerator): number | null {
  return generator.policyUpdates === undefined ? null : generator.policyUpdates();
}

serveThread(async (raw) => {
  const data = raw as GeneratorThreadData;
  await chooseTensorBackend(data.config.tensor.backend, { log: () => undefined });
  const { generator, restoredUpdates, restored } = await openWorkerGenerator({ config: data.config, stateDir: data.stateDir });
  return {
    describe: (): Promise<ThreadReply> => {
      const has = {
        replays: generator.replays === true,
        policyDigest: generator.policyDigest !== undefined,
        state: generator.saveState !== undefined && generator.restoreState !== undefined,
      };
      const value: ThreadDescription = { name: generator.name, policyUpdates: counted(generator), restoredUpdates, restored, has };
      return Promise.resolve({ value });
    },
    generate: async ([request]): Promise<ThreadReply> => {
      const result = await generator.generate(request as GenerateRequest);
      const videos = result.videos.map((v) => ({ ...v, video: framesOf(v.video, 'the generator thread') }));
      const value: ThreadGenerateResult = { rolloutId: result.rolloutId, videos, timing: result.timing };
      return { value, transfer: movedBuffers({ ...result, videos }) };
    },
    update: async ([rollouts, replays]): Promise<ThreadReply> => {
      const stats = await generator.update(rollouts as readonly RolloutAdvantages[], replays as readonly ReplayedRollout[]);
      const value: ThreadUpdateResult = { stats, policyUpdates: counted(generator) };
      return { value };
    },
    policyDigest: async (): Promise<ThreadReply> => ({ value: await required(generator.policyDigest?.bind(generator), 'policyDigest')() }),
    saveState: async ([tag]): Promise<ThreadReply> => ({ value: await required(generator.saveState?.bind(generator), 'saveState')(tag as string) }),
    restoreState: async ([ref]): Promise<ThreadReply> => ({ value: await required(generator.restoreState?.bind(generator), 'restoreState')(ref as string) }),
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
