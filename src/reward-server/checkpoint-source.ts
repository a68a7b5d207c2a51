/**
 * What a judge version is loaded from, and the factory that turns such a source into a judge service. The
 * embedded backend loads checkpoint folders (`{ kind: 'path' }`); a VLM backend is re-pointed at another model name
 * and/or endpoint (`{ kind: 'vlm' }`). The checkpoint manager is backend-agnostic: it only calls the factory.
 */
import { VrGrpoError } from '../errors/index.js';
import type { JudgeService } from '../judge/judge-service.js';
import type { LoadCheckpointRequest } from '../protocol/index.js';

export type CheckpointSource =
  /** A checkpoint folder on the server's filesystem (embedded: manifest.json + model.onnx). */
  | { readonly kind: 'path'; readonly path: string }
  /**
   * A VLM: the model name and/or the OpenAI-compatible base URL (what is left out keeps its configured value), and
   * optionally the version label its verdicts carry.
   */
  | { readonly kind: 'vlm'; readonly model?: string; readonly baseUrl?: string; readonly rmVersion?: string };

/** What the factory gets besides the source. */
export interface ServiceFactoryContext {
  /** Aborted when the manager closes while the load runs; a factory may stop early. */
  readonly signal: AbortSignal;
}

/**
 * Loads a judge service from a source. Rejects with a VrGrpoError — CHECKPOINT_NOT_FOUND, CHECKPOINT_INVALID,
 * MODEL_INVALID, BACKEND_* … — and must release whatever it allocated when it rejects. The service it resolves with
 * belongs to the manager (which closes it).
 */
export type ServiceFactory = (source: CheckpointSource, context: ServiceFactoryContext) => Promise<JudgeService>;

/** A short label: the path, or `model@baseUrl`. */
export function describeSource(source: CheckpointSource): string {
  if (source.kind === 'path') return source.path;
  return `${source.model ?? '(current model)'}@${source.baseUrl ?? '(current endpoint)'}`;
}

/** The source a `load_checkpoint` request names (the schema guarantees exactly one kind). */
export function sourceOfRequest(request: Pick<LoadCheckpointRequest, 'checkpoint' | 'model' | 'baseUrl' | 'rmVersion'>): CheckpointSource {
  if (request.checkpoint !== undefined) return { kind: 'path', path: request.checkpoint };
  if (request.model === undefined && request.baseUrl === undefined)
    throw new VrGrpoError('INVALID_REQUEST', 'checkpoint: give a checkpoint path, or a model and/or baseUrl');
  return {
    kind: 'vlm',
    ...(request.model === undefined ? {} : { model: request.model }),
    ...(request.baseUrl === undefined ? {} : { baseUrl: request.baseUrl }),
    ...(request.rmVersion === undefined ? {} : { rmVersion: request.rmVersion }),
  };
}
