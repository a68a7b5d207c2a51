/**
 * Helpers of the swap tests: bounded waits (those of test/transport/helpers.ts, with a longer default), a deferred,
 * frame sources and judge-service wrappers that let a test hold a judgment (on a real ONNX-backed judge) or watch
 * what the manager does with the services it loads.
 */
import { silentLogger } from '../../src/common/logger.js';
import { isVrGrpoError, type ErrorCode } from '../../src/errors/index.js';
import type { FrameSource } from '../../src/judge/frame-source.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import {
  CheckpointManager,
  buildCanarySet,
  embeddedServiceFactory,
  type CheckpointEvent,
  type CheckpointManagerOptions,
  type ServiceFactory,
} from '../../src/reward-server/index.js';
import { rejectionOf, within as transportWithin } from '../transport/helpers.js';
import { RM_V1 } from './fixtures.js';

/** Default bound of the swap tests' waits (they load real ONNX checkpoints), in milliseconds. */
export const WAIT_MS = 20_000;

/** Rejects when `promise` takes longer than `ms`: the shared helper with this folder's longer default. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return transportWithin(promise, what, ms);
}

/** The VrGrpoError code `promise` rejects with (fails the test if it resolves or rejects with something else). */
export async function rejectionCode(promise: Promise<unknown>, what = 'a rejection'): Promise<{ code: ErrorCode; message: string }> {
  const outcome = await rejectionOf(promise, what, WAIT_MS);
  if (!isVrGrpoError(outcome)) throw new Error(`${what}: expected a VrGrpoError, got ${String(outcome)}`);
  return { code: outcome.code, message: outcome.message };
}

export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

export function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A pair of world videos and their prompt (the first canary pair of a seed). */
export function worldPair(seed = 5): { prompt: string; videos: readonly RawVideo[] } {
  const item = buildCanarySet({ pairs: 1, pointwise: 0, seed })[0];
  if (item === undefined) throw new Error('no canary item');
  return { prompt: item.prompt, videos: item.videos };
}

/** A frame source whose frames are held back until `gate` resolves (the judgment is "running" meanwhile). */
export class GatedFrameSource implements FrameSource {
  readonly started = deferred();
  readonly #inner: RawFrameSource;

  constructor(
    video: RawVideo,
    private readonly gate: Promise<void>,
    readonly label: string,
  ) {
    this.#inner = new RawFrameSource(video, label);
  }

  frameCount(): Promise<number> {
    return this.#inner.frameCount();
  }

  size(): Promise<{ readonly width: number; readonly height: number }> {
    return this.#inner.size();
  }

  async frames(indices: readonly number[]): Promise<Uint8Array[]> {
    this.started.resolve();
    await this.gate;
    return this.#inner.frames(indices);
  }
}

/** Records every service a factory hands out, and whether and when each was closed. */
export class ServiceLog {
  readonly services: { readonly version: string; closed: boolean }[] = [];

  /** Wraps `factory`: each loaded service is recorded and its close() noted. */
  wrap(factory: ServiceFactory, decorate: (service: JudgeService) => JudgeService = (s) => s): ServiceFactory {
    return async (source, context) => {
      const inner = decorate(await factory(source, context));
      const entry = { version: inner.rmVersion(), closed: false };
      this.services.push(entry);
      return {
        get backendName() {
          return inner.backendName;
        },
        rmVersion: () => inner.rmVersion(),
        judge: (request, hooks) => inner.judge(request, hooks),
        close: async () => {
          entry.closed = true;
          await inner.close();
        },
      };
    };
  }

  closed(version: string): boolean[] {
    return this.services.filter((s) => s.version === version).map((s) => s.closed);
  }
}

/** Holds judgments whose id is in `held` until `release(id)`; everything else goes straight to the real service. */
export class Holder {
  readonly #gates = new Map<string, Deferred>();
  readonly #started = new Map<string, Deferred>();

  hold(id: string): void {
    this.#gates.set(id, deferred());
    this.#started.set(id, deferred());
  }

  whenStarted(id: string): Promise<void> {
    return this.#started.get(id)?.promise ?? Promise.reject(new Error(`${id} is not held`));
  }

  release(id: string): void {
    this.#gates.get(id)?.resolve();
  }

  decorate(service: JudgeService): JudgeService {
    return {
      get backendName() {
        return service.backendName;
      },
      rmVersion: () => service.rmVersion(),
      judge: async (request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> => {
        const gate = this.#gates.get(request.id);
        if (gate !== undefined) {
          this.#started.get(request.id)?.resolve();
          await gate.promise;
        }
        return service.judge(request, hooks);
      },
      close: () => service.close(),
    };
  }
}

/** A manager over the real embedded factory starting on rm-v1 with a small canary; events are collected. */
export async function embeddedManager(overrides: Partial<CheckpointManagerOptions> = {}): Promise<{ manager: CheckpointManager; events: CheckpointEvent[] }> {
  const events: CheckpointEvent[] = [];
  const manager = await CheckpointManager.create({
    factory: embeddedServiceFactory(),
    initial: { kind: 'path', path: RM_V1 },
    log: silentLogger(),
    canary: { pairs: 3, pointwise: 1 },
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { manager, events };
}

/** Judges the world pair on `service` and returns the verdict's version. */
export async function judgeVersion(service: JudgeService, id = 'probe'): Promise<string> {
  const { prompt, videos } = worldPair();
  const judgment = await service.judge({ id, prompt, mode: 'pairwise', videos: videos.map((v, i) => new RawFrameSource(v, `${id}-${i}`)), options: {} }, {});
  return judgment.rmVersion;
}
