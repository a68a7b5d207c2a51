/**
 * Policy checkpoints: a folder with `manifest.json` (format version, architecture, tensor table, metadata) and
 * `weights.bin` (little-endian float32, tensors back to back). Holds the base weights, the LoRA adapters and the Adam
 * state, each optional; a checkpoint without base weights names the base checkpoint it extends. Written atomically.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { VrGrpoError } from '../errors/index.js';
import type { AdamState } from '../tensor/index.js';
import { FlowPolicy, parameterShapes, type PolicyArchitecture } from './flow-policy.js';

export const CHECKPOINT_FORMAT = 'vr-grpo/policy-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
const GROUPS = ['base', 'lora', 'adam.m', 'adam.v'] as const;
type TensorGroup = (typeof GROUPS)[number];

const manifestSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  createdAt: z.string(),
  architecture: z.object({
    latentDim: z.number().int(),
    textFeatures: z.number().int(),
    textEmbedDim: z.number().int(),
    hiddenDim: z.number().int(),
    depth: z.number().int(),
    timeFeatures: z.number().int(),
    loraRank: z.number().int(),
    loraAlpha: z.number(),
  }),
  /** Where the base weights are: in this file, or in another checkpoint folder (path relative to this one). */
  base: z.union([z.object({ embedded: z.literal(true) }), z.object({ ref: z.string(), sha256: z.string() })]),
  tensors: z.array(
    z.object({
      name: z.string(),
      group: z.enum(GROUPS),
      shape: z.array(z.number().int().nonnegative()),
      offset: z.number().int().nonnegative(),
      length: z.number().int().nonnegative(),
    }),
  ),
  weights: z.object({ file: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() }),
  optimizer: z.object({ kind: z.literal('adam'), step: z.number().int().nonnegative() }).nullable(),
  metadata: z.record(z.string(), z.unknown()),
});

export type CheckpointManifest = z.infer<typeof manifestSchema>;

export interface LoadedCheckpoint {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly base: ReadonlyMap<string, Float32Array>;
  readonly lora: ReadonlyMap<string, Float32Array>;
  readonly optimizer: AdamState | null;
}

export interface SaveCheckpointOptions {
  readonly policy: FlowPolicy;
  /** Save the base weights in this checkpoint (true), or refer to the base checkpoint folder given. */
  readonly base: true | { readonly ref: string };
  /** Save the LoRA adapters. */
  readonly lora: boolean;
  readonly optimizer?: AdamState;
  readonly metadata?: Record<string, unknown>;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Writes a checkpoint folder atomically (a temporary sibling folder, then rename). Returns the manifest. */
export function saveCheckpoint(dir: string, options: SaveCheckpointOptions): CheckpointManifest {
  const target = resolve(dir);
  const entries: { name: string; group: TensorGroup; shape: number[]; data: Float32Array }[] = [];
  const shapes = parameterShapes(options.policy.architecture);
  const shapeOf = new Map([...shapes.base, ...shapes.lora]);
  const push = (group: TensorGroup, values: ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>): void => {
    const list: [string, Float32Array][] =
      values instanceof Map ? [...(values as ReadonlyMap<string, Float32Array>).entries()] : Object.entries(values as Readonly<Record<string, Float32Array>>);
    for (const [name, data] of list) entries.push({ name, group, shape: shapeOf.get(name) ?? [data.length], data });
  };
  let baseInfo: CheckpointManifest['base'];
  if (options.base === true) {
    push('base', options.policy.parameters('base'));
    baseInfo = { embedded: true };
  } else {
    const baseDir = resolve(options.base.ref);
    const baseManifest = readManifest(baseDir);
    baseInfo = { ref: relative(target, baseDir) || '.', sha256: baseManifest.weights.sha256 };
  }
  if (options.lora) push('lora', options.policy.parameters('lora'));
  if (options.optimizer !== undefined) {
    push('adam.m', options.optimizer.m);
    push('adam.v', options.optimizer.v);
  }
  const total = entries.reduce((s, e) => s + e.data.length, 0);
  const floats = new Float32Array(total);
  const tensors: CheckpointManifest['tensors'] = [];
  let offset = 0;
  for (const e of entries) {
    floats.set(e.data, offset);
    tensors.push({ name: e.name, group: e.group, shape: e.shape, offset, length: e.data.length });
    offset += e.data.length;
  }
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    architecture: { ...options.policy.architecture },
    base: baseInfo,
    tensors,
    weights: { file: 'weights.bin', bytes: bytes.length, sha256: sha256(bytes) },
    optimizer: options.optimizer === undefined ? null : { kind: 'adam', step: options.optimizer.step },
    metadata: options.metadata ?? {},
  };
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'weights.bin'), bytes);
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${tmp}.old`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
  return manifest;
}

/** Reads and validates a checkpoint manifest. */
export function readManifest(dir: string): CheckpointManifest {
  const file = join(resolve(dir), 'manifest.json');
  if (!existsSync(file)) throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no checkpoint at ${resolve(dir)} (missing manifest.json)`, { details: { dir } });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint manifest ${file} is not valid JSON`, { details: { dir }, cause: e });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint manifest ${file}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, {
      details: { dir },
    });
  }
  return parsed.data;
}

function readWeights(dir: string, manifest: CheckpointManifest): Float32Array {
  const file = join(dir, manifest.weights.file);
  if (!existsSync(file)) throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint weights ${file} are missing`, { details: { dir } });
  const bytes = readFileSync(file);
  if (bytes.length !== manifest.weights.bytes || sha256(bytes) !== manifest.weights.sha256) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint weights ${file} do not match the manifest (size or sha256)`, { details: { dir } });
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** Loads a checkpoint's tensors (following a base reference when the base is not embedded). */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const root = resolve(dir);
  const manifest = readManifest(root);
  const floats = readWeights(root, manifest);
  const groups = new Map<TensorGroup, Map<string, Float32Array>>(GROUPS.map((g) => [g, new Map()]));
  for (const t of manifest.tensors) {
    const count = t.shape.reduce((p, s) => p * s, 1);
    if (count !== t.length || t.offset + t.length > floats.length) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint tensor ${t.name} has an inconsistent shape or offset`, { details: { dir } });
    }
    groups.get(t.group)?.set(t.name, floats.slice(t.offset, t.offset + t.length));
  }
  let base = groups.get('base') ?? new Map<string, Float32Array>();
  if ('ref' in manifest.base) {
    const baseDir = isAbsolute(manifest.base.ref) ? manifest.base.ref : resolve(root, manifest.base.ref);
    const baseCheckpoint = loadCheckpoint(baseDir);
    if (baseCheckpoint.manifest.weights.sha256 !== manifest.base.sha256) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${root} was trained on a different base (${baseDir} changed)`, { details: { dir } });
    }
    base = new Map(baseCheckpoint.base);
  }
  const m = groups.get('adam.m') ?? new Map<string, Float32Array>();
  const v = groups.get('adam.v') ?? new Map<string, Float32Array>();
  const optimizer: AdamState | null =
    manifest.optimizer === null ? null : { step: manifest.optimizer.step, m: Object.fromEntries(m), v: Object.fromEntries(v) };
  return { dir: root, manifest, base, lora: groups.get('lora') ?? new Map<string, Float32Array>(), optimizer };
}

/** What a trained generator resumes from: its adapters, its Adam state and the metadata saved with them. */
export interface AdapterState {
  readonly lora: ReadonlyMap<string, Float32Array>;
  readonly optimizer: AdamState | null;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The adapter state of a checkpoint folder written by `EmbeddedGenerator.saveAdapters` (or any LoRA checkpoint). */
export function readAdapterState(dir: string): AdapterState {
  const ck = loadCheckpoint(dir);
  return { lora: ck.lora, optimizer: ck.optimizer, metadata: ck.manifest.metadata };
}

/** Builds a policy from a checkpoint; architecture fields given in `expect` must match the manifest. */
export function policyFromCheckpoint(checkpoint: LoadedCheckpoint, expect: Partial<PolicyArchitecture> = {}): FlowPolicy {
  const arch = checkpoint.manifest.architecture;
  for (const [k, v] of Object.entries(expect)) {
    const have = arch[k as keyof PolicyArchitecture];
    if (have !== v) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${checkpoint.dir}: architecture.${k} is ${have}, the config expects ${String(v)}`, {
        details: { dir: checkpoint.dir, field: k },
      });
    }
  }
  const shapes = parameterShapes(arch);
  for (const [name] of shapes.base) {
    if (!checkpoint.base.has(name)) throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${checkpoint.dir} lacks base parameter ${name}`);
  }
  const policy = FlowPolicy.create(arch, 0);
  try {
    policy.setParameters(checkpoint.base);
    policy.setParameters(checkpoint.lora);
  } catch (e) {
    policy.dispose();
    throw e;
  }
  return policy;
}
