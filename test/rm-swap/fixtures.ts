/**
 * Checkpoint fixtures for the swap tests: copies of the shipped rm-v1/rm-v2 folders under a temp root, relabelled or
 * broken on purpose (garbage model bytes, a model whose signature is not the one its manifest declares, a model that
 * loads but whose outputs are not numbers), written the way a trainer writes them (temp folder, then rename) or
 * partially. Models are built with the project's own ONNX exporter.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { FEATURE_SIZE, HEADS, INPUT_NAME } from '../../src/judge/backends/embedded/perception/index.js';
import { exportMlpToOnnx } from '../../src/onnx/index.js';

export const RM_V1 = join(PROJECT_ROOT, 'models', 'rm-v1');
export const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');

type Json = Record<string, unknown>;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export function readManifest(dir: string): Json {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Json;
}

/** A temp root for checkpoint folders; `remove()` deletes it. */
export class CheckpointRoot {
  readonly path: string;

  constructor(prefix = 'vr-grpo-rm-swap-') {
    this.path = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }

  /**
   * Writes a checkpoint folder `name` atomically (a hidden temp folder, then rename): the manifest of `from` with
   * `version`, and `model` bytes (default: `from`'s). `recordModel` false keeps `from`'s recorded size and sha256.
   */
  write(
    name: string,
    options: { from?: string; version: string; model?: Uint8Array; recordModel?: boolean; manifest?: (m: Json) => Json; parent?: string },
  ): string {
    const parent = options.parent ?? this.path;
    const from = options.from ?? RM_V1;
    const model = options.model ?? new Uint8Array(readFileSync(join(from, 'model.onnx')));
    let manifest: Json = { ...readManifest(from), version: options.version };
    if (options.recordModel ?? true) manifest = { ...manifest, model: { ...(manifest.model as Json), bytes: model.length, sha256: sha256(model) } };
    if (options.manifest !== undefined) manifest = options.manifest(manifest);
    const tmp = join(parent, `.${name}.tmp`);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'model.onnx'), model);
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const target = join(parent, name);
    renameSync(tmp, target);
    return target;
  }
}

/** A dense model with the perception's input and heads; `inputSize` other than FEATURE_SIZE gives a wrong signature. */
export function perceptionLikeModel(options: { inputSize?: number; weight?: number } = {}): Uint8Array {
  const inputSize = options.inputSize ?? FEATURE_SIZE;
  const w = options.weight ?? 0.01;
  return exportMlpToOnnx({
    input: { name: INPUT_NAME, size: inputSize },
    trunk: [],
    heads: HEADS.map((h) => ({
      name: h.name,
      inSize: inputSize,
      outSize: h.classes.length,
      weights: new Float32Array(inputSize * h.classes.length).map((_, i) => (i % 2 === 0 ? w : -w)),
      bias: new Float32Array(h.classes.length),
    })),
  });
}
