/**
 * The perception model folder: `manifest.json` (format, version, input layout, class orders, the ONNX signature, how it
 * was trained and how well it measured) next to `model.onnx`. Reading validates the manifest with zod and the model
 * bytes against the recorded size and sha256 (files confined to the folder: src/onnx/model-file.ts); writing is atomic (temporary sibling folder, then rename).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { VrGrpoError } from '../../../../errors/index.js';
import {
  DEFAULT_MANIFEST_MAX_BYTES,
  DEFAULT_MODEL_MAX_BYTES,
  MAX_MODEL_MAX_BYTES,
  readCheckpointFile,
  readCheckpointFileSync,
} from '../../../../onnx/index.js';

export const PERCEPTION_FORMAT = 'vr-grpo/perception';
export const PERCEPTION_FORMAT_VERSION = 1;
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

const tensorSig = z.object({ name: z.string(), dims: z.array(z.number().int()) });
const accuracy = z.object({ frames: z.number().int().nonnegative(), colour: z.number(), shape: z.number(), background: z.number(), detection: z.number() });
const defects = z.object({ blur: z.number(), noise: z.number(), jitter: z.number(), flicker: z.number() });

const manifestSchema = z.object({
  format: z.literal(PERCEPTION_FORMAT),
  formatVersion: z.literal(PERCEPTION_FORMAT_VERSION),
  version: z.string().min(1),
  createdAt: z.string(),
  model: z.object({
    file: z.string(),
    bytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    opset: z.number().int(),
    irVersion: z.number().int(),
  }),
  signature: z.object({ inputs: z.array(tensorSig).min(1), outputs: z.array(tensorSig).min(1) }),
  input: z.object({
    cropSize: z.number().int().positive(),
    planes: z.array(z.string()),
    featureSize: z.number().int().positive(),
    layout: z.string(),
  }),
  classes: z.object({ colour: z.array(z.string()), shape: z.array(z.string()), background: z.array(z.string()) }),
  architecture: z.object({ hidden: z.array(z.number().int().positive()), parameters: z.number().int().nonnegative() }),
  training: z
    .object({
      seed: z.number().int(),
      steps: z.number().int().nonnegative(),
      hidden: z.array(z.number().int().positive()),
      dataSeed: z.number().int(),
      batchSize: z.number().int().positive(),
      learningRate: z.number().positive(),
      scenes: z.record(z.string(), z.unknown()),
      world: z.record(z.string(), z.unknown()),
      seconds: z.number().nonnegative(),
      finalLoss: z.number().nullable(),
      tensorBackend: z.string(),
    })
    .catchall(z.unknown()),
  accuracy: accuracy.extend({ evalSeed: z.number().int(), clean: accuracy, defective: accuracy }).catchall(z.unknown()),
  signalsCalibration: z
    .object({ seed: z.number().int(), videos: z.number().int().nonnegative(), framesPerVideo: z.number().int().positive(), correlation: defects })
    .catchall(z.unknown()),
});

/** The validated content of a perception model's `manifest.json`. */
export type PerceptionManifest = z.infer<typeof manifestSchema>;

export const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Validates a parsed manifest object; MODEL_INVALID naming the first bad field. */
export function parsePerceptionManifest(raw: unknown, where: string): PerceptionManifest {
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new VrGrpoError('MODEL_INVALID', `perception manifest ${where}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`, {
      details: { manifest: where, field: first?.path.join('.') ?? '' },
    });
  }
  return parsed.data;
}

/** The folder itself: CHECKPOINT_NOT_FOUND unless it is a directory (statSync never opens, so never blocks). */
function perceptionRoot(dir: string): string {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no perception model folder at ${root}`, { details: { dir: root } });
  }
  if (!existsSync(join(root, MANIFEST_FILE)))
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no perception model at ${root} (missing ${MANIFEST_FILE})`, { details: { dir: root } });
  return root;
}

function manifestOf(bytes: Uint8Array, root: string): PerceptionManifest {
  const file = join(root, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new VrGrpoError('MODEL_INVALID', `perception manifest ${file} is not valid JSON`, { details: { dir: root }, cause: e });
  }
  return parsePerceptionManifest(raw, file);
}

function checkModelBytes(manifest: PerceptionManifest, bytes: Uint8Array, root: string): void {
  if (bytes.length !== manifest.model.bytes || sha256Hex(bytes) !== manifest.model.sha256) {
    throw new VrGrpoError('MODEL_INVALID', `perception model ${join(root, manifest.model.file)} does not match its manifest (size or sha256)`, {
      details: { dir: root },
    });
  }
}

/** Size limits of a model folder's reads: the model file's (default 1 GiB for the synchronous reader, 256 MiB async). */
export interface PerceptionReadLimits {
  readonly maxModelBytes?: number;
  /** Async reads only: ms one file read may take (default 30000). */
  readonly readTimeoutMs?: number;
}

/**
 * Reads a model folder: CHECKPOINT_NOT_FOUND when the folder or its manifest is missing; MODEL_INVALID when the
 * manifest is malformed or the model file is missing, not a regular file, over the size limit, or does not match the
 * recorded size and sha256; FORBIDDEN_PATH when the manifest or the model file resolves outside the folder (a `..`
 * name, a symlink). Files are read confined (src/onnx/model-file.ts): never blocks on a FIFO.
 */
export function readPerceptionDir(dir: string, limits: PerceptionReadLimits = {}): { manifest: PerceptionManifest; bytes: Uint8Array; dir: string } {
  const root = perceptionRoot(dir);
  const manifest = manifestOf(readCheckpointFileSync(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES }, 'manifest').bytes, root);
  const bytes = readCheckpointFileSync(root, manifest.model.file, { maxBytes: limits.maxModelBytes ?? MAX_MODEL_MAX_BYTES }, 'model file').bytes;
  checkModelBytes(manifest, bytes, root);
  return { manifest, bytes, dir: root };
}

/**
 * {@link readPerceptionDir} with asynchronous reads, each within `readTimeoutMs`; the model file's limit defaults to
 * 256 MiB. What the reward server uses before loading a checkpoint.
 */
export async function readPerceptionDirAsync(
  dir: string,
  limits: PerceptionReadLimits = {},
): Promise<{ manifest: PerceptionManifest; bytes: Uint8Array; dir: string }> {
  const root = perceptionRoot(dir);
  const timeout = limits.readTimeoutMs === undefined ? {} : { timeoutMs: limits.readTimeoutMs };
  const manifest = manifestOf((await readCheckpointFile(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES, ...timeout }, 'manifest')).bytes, root);
  const maxBytes = limits.maxModelBytes ?? DEFAULT_MODEL_MAX_BYTES;
  if (manifest.model.bytes > maxBytes) {
    throw new VrGrpoError(
      'MODEL_INVALID',
      `perception manifest ${join(root, MANIFEST_FILE)} records a ${manifest.model.bytes}-byte model, over the limit of ${maxBytes}`,
      {
        details: { dir: root, reason: 'too large', bytes: manifest.model.bytes, maxBytes },
      },
    );
  }
  const bytes = (await readCheckpointFile(root, manifest.model.file, { maxBytes, ...timeout }, 'model file')).bytes;
  checkModelBytes(manifest, bytes, root);
  return { manifest, bytes, dir: root };
}

/** Writes `manifest.json` and the model file to `dir` atomically, replacing what was there. */
export function writePerceptionDir(dir: string, manifest: PerceptionManifest, bytes: Uint8Array): void {
  const target = resolve(dir);
  parsePerceptionManifest(manifest, `${target} (before writing)`);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, manifest.model.file), bytes);
  writeFileSync(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${tmp}.old`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}
