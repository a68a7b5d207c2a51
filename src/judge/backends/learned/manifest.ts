/**
 * The learned judge's checkpoint folder: `manifest.json` (format, version, training stage, the policy's file, hash,
 * architecture and feature layout, the action layout, the perception it runs on, how it was trained and measured),
 * `policy.onnx`, and `perception/` — a copy of the perception model folder it was trained on, so one folder is one
 * servable judge version (hot-swappable like `rm-v2`). Reading validates everything against this code; writing
 * is atomic (temporary sibling folder, then rename).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { VrGrpoError } from '../../../errors/index.js';
import {
  DEFAULT_MANIFEST_MAX_BYTES,
  DEFAULT_MODEL_MAX_BYTES,
  MAX_MODEL_MAX_BYTES,
  confinedDirSync,
  readCheckpointFile,
  readCheckpointFileSync,
} from '../../../onnx/index.js';
import { MANIFEST_FILE, readPerceptionDir, readPerceptionDirAsync, sha256Hex } from '../embedded/perception/manifest.js';
import { ANSWER_MODES } from './heads.js';
import { LAYOUT_NAMES, judgeLayout, type LayoutName } from './layout.js';

export const LEARNED_FORMAT = 'vr-grpo/learned-judge';
export const LEARNED_FORMAT_VERSION = 1;
export const POLICY_FILE = 'policy.onnx';
export const PERCEPTION_SUBDIR = 'perception';
export const TRAINING_STAGES = ['cold-start', 'rft', 'grpo'] as const;
export type TrainingStage = (typeof TRAINING_STAGES)[number];

const sha = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  format: z.literal(LEARNED_FORMAT),
  formatVersion: z.literal(LEARNED_FORMAT_VERSION),
  version: z.string().min(1),
  stage: z.enum(TRAINING_STAGES),
  createdAt: z.string(),
  policy: z.object({
    file: z.string(),
    bytes: z.number().int().positive(),
    sha256: sha,
    opset: z.number().int(),
    irVersion: z.number().int(),
    hidden: z.array(z.number().int().positive()),
    parameters: z.number().int().nonnegative(),
    featureSize: z.number().int().positive(),
    features: z.array(z.string()),
  }),
  actions: z.object({
    answerMode: z.enum(ANSWER_MODES),
    segmentsPerVideo: z.number().int().positive(),
    framesPerSlot: z.number().int().positive(),
    maxOwnToolCalls: z.number().int().nonnegative(),
    /** Observation and slot layout; absent in checkpoints written before world v2 (= `v1`). */
    layout: z.enum(LAYOUT_NAMES).optional(),
  }),
  perception: z.object({ dir: z.string(), version: z.string(), sha256: sha }),
  training: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
});

export type LearnedManifest = z.infer<typeof manifestSchema>;

/** The layout a manifest records (`v1` when it records none). */
export function manifestLayout(m: LearnedManifest): LayoutName {
  return m.actions.layout ?? 'v1';
}

export interface LearnedCheckpoint {
  readonly dir: string;
  readonly manifest: LearnedManifest;
  readonly policyBytes: Uint8Array;
  /** The perception model folder to load (inside the checkpoint). */
  readonly perceptionDir: string;
}

function formatOf(bytes: Uint8Array): string | null {
  try {
    const raw: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return raw !== null && typeof raw === 'object' && typeof (raw as { format?: unknown }).format === 'string' ? (raw as { format: string }).format : null;
  } catch {
    return null;
  }
}

/**
 * The `format` field of `dir/manifest.json`, or null when there is none (missing, unreadable, no format). Reads the
 * manifest confined (src/onnx/model-file.ts); a manifest that escapes the folder is FORBIDDEN_PATH, one that is not a
 * regular file of at most 1 MiB MODEL_INVALID.
 */
export function checkpointFormat(dir: string): string | null {
  const root = resolve(dir);
  if (!existsSync(join(root, MANIFEST_FILE))) return null;
  return formatOf(readCheckpointFileSync(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES }, 'manifest').bytes);
}

/** {@link checkpointFormat} with an asynchronous read within `readTimeoutMs` (default 30000). */
export async function checkpointFormatAsync(dir: string, limits: LearnedReadLimits = {}): Promise<string | null> {
  const root = resolve(dir);
  if (!existsSync(join(root, MANIFEST_FILE))) return null;
  const timeout = limits.readTimeoutMs === undefined ? {} : { timeoutMs: limits.readTimeoutMs };
  return formatOf((await readCheckpointFile(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES, ...timeout }, 'manifest')).bytes);
}

/** Limits of a checkpoint's reads (see src/onnx/model-file.ts). */
export interface LearnedReadLimits {
  /** Largest policy or perception model file: default 1 GiB (synchronous reader), 256 MiB (async). */
  readonly maxModelBytes?: number;
  /** Async reads only: ms one file read may take (default 30000). */
  readonly readTimeoutMs?: number;
}

export function parseLearnedManifest(raw: unknown, where: string): LearnedManifest {
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new VrGrpoError('MODEL_INVALID', `learned judge manifest ${where}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`, {
      details: { manifest: where, field: first?.path.join('.') ?? '' },
    });
  }
  const m = parsed.data;
  const fail = (what: string): never => {
    throw new VrGrpoError('MODEL_INVALID', `learned judge ${where}: ${what}`, { details: { manifest: where, version: m.version } });
  };
  const layout = judgeLayout(m.actions.layout ?? 'v1');
  const names = layout.featureNames;
  if (m.policy.featureSize !== layout.featureSize || m.policy.features.length !== names.length || m.policy.features.some((f, i) => f !== names[i])) {
    fail(`its feature layout (${m.policy.featureSize} features) differs from this code's ${layout.name} layout (${layout.featureSize})`);
  }
  if (m.actions.segmentsPerVideo !== layout.segmentsPerVideo || m.actions.framesPerSlot !== layout.framesPerSlot) {
    fail(
      `its frame slots (${m.actions.segmentsPerVideo} segments × ${m.actions.framesPerSlot} frames) differ from this code's ${layout.name} layout (${layout.segmentsPerVideo} × ${layout.framesPerSlot})`,
    );
  }
  return m;
}

function learnedRoot(dir: string): string {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no learned judge folder at ${root}`, { details: { dir: root } });
  if (!existsSync(join(root, MANIFEST_FILE)))
    throw new VrGrpoError('CHECKPOINT_NOT_FOUND', `no learned judge at ${root} (missing ${MANIFEST_FILE})`, { details: { dir: root } });
  return root;
}

function learnedManifestOf(bytes: Uint8Array, root: string): LearnedManifest {
  const file = join(root, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new VrGrpoError('MODEL_INVALID', `learned judge manifest ${file} is not valid JSON`, { details: { dir: root }, cause: e });
  }
  return parseLearnedManifest(raw, file);
}

function checkPolicyBytes(manifest: LearnedManifest, bytes: Uint8Array, root: string): void {
  if (bytes.length !== manifest.policy.bytes || sha256Hex(bytes) !== manifest.policy.sha256) {
    throw new VrGrpoError('MODEL_INVALID', `policy ${join(root, manifest.policy.file)} does not match its manifest (size or sha256)`, {
      details: { dir: root },
    });
  }
}

function checkPerception(manifest: LearnedManifest, perceptionSha: string, perceptionDir: string, root: string): void {
  if (perceptionSha !== manifest.perception.sha256) {
    throw new VrGrpoError('MODEL_INVALID', `perception model in ${perceptionDir} is not the one the policy was trained on (sha256 differs)`, {
      details: { dir: root },
    });
  }
}

/**
 * Reads a learned checkpoint: CHECKPOINT_NOT_FOUND when the folder or manifest is missing; MODEL_INVALID when the
 * manifest is malformed or foreign to this code, or the policy or perception files are not regular files, over the
 * size limit, or do not match their hashes; FORBIDDEN_PATH when the policy file or the perception folder (or a file in
 * it) resolves outside the checkpoint folder. Files are read confined (src/onnx/model-file.ts).
 */
export function readLearnedCheckpoint(dir: string, limits: LearnedReadLimits = {}): LearnedCheckpoint {
  const root = learnedRoot(dir);
  const manifest = learnedManifestOf(readCheckpointFileSync(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES }, 'manifest').bytes, root);
  const maxBytes = limits.maxModelBytes ?? MAX_MODEL_MAX_BYTES;
  const policyBytes = readCheckpointFileSync(root, manifest.policy.file, { maxBytes }, 'policy file').bytes;
  checkPolicyBytes(manifest, policyBytes, root);
  const perceptionDir = confinedDirSync(root, manifest.perception.dir, 'perception folder');
  const perception = readPerceptionDir(perceptionDir, { maxModelBytes: maxBytes });
  checkPerception(manifest, perception.manifest.model.sha256, perceptionDir, root);
  return { dir: root, manifest, policyBytes, perceptionDir };
}

/** {@link readLearnedCheckpoint} with asynchronous reads within `readTimeoutMs`; model files limited to 256 MiB by default. */
export async function readLearnedCheckpointAsync(dir: string, limits: LearnedReadLimits = {}): Promise<LearnedCheckpoint> {
  const root = learnedRoot(dir);
  const timeout = limits.readTimeoutMs === undefined ? {} : { timeoutMs: limits.readTimeoutMs };
  const manifest = learnedManifestOf(
    (await readCheckpointFile(root, MANIFEST_FILE, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES, ...timeout }, 'manifest')).bytes,
    root,
  );
  const maxBytes = limits.maxModelBytes ?? DEFAULT_MODEL_MAX_BYTES;
  const policyBytes = (await readCheckpointFile(root, manifest.policy.file, { maxBytes, ...timeout }, 'policy file')).bytes;
  checkPolicyBytes(manifest, policyBytes, root);
  const perceptionDir = confinedDirSync(root, manifest.perception.dir, 'perception folder');
  const perception = await readPerceptionDirAsync(perceptionDir, {
    maxModelBytes: maxBytes,
    ...(limits.readTimeoutMs === undefined ? {} : { readTimeoutMs: limits.readTimeoutMs }),
  });
  checkPerception(manifest, perception.manifest.model.sha256, perceptionDir, root);
  return { dir: root, manifest, policyBytes, perceptionDir };
}

/**
 * Writes a checkpoint folder atomically: the manifest, the policy, a copy of the perception folder `perceptionSource`
 * (manifest.json + its model file) and any `extraFiles` (e.g. metrics.json), replacing what was at `dir`.
 */
export function writeLearnedCheckpoint(
  dir: string,
  manifest: LearnedManifest,
  policyBytes: Uint8Array,
  perceptionSource: string,
  extraFiles: Readonly<Record<string, string>> = {},
): void {
  const target = resolve(dir);
  parseLearnedManifest(manifest, `${target} (before writing)`);
  const perception = readPerceptionDir(perceptionSource);
  if (perception.manifest.model.sha256 !== manifest.perception.sha256) {
    throw new VrGrpoError('INVALID_ARGUMENT', `perception ${perceptionSource} is not the one named in the manifest`);
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(join(tmp, manifest.perception.dir), { recursive: true });
  copyFileSync(join(perception.dir, MANIFEST_FILE), join(tmp, manifest.perception.dir, MANIFEST_FILE));
  copyFileSync(join(perception.dir, perception.manifest.model.file), join(tmp, manifest.perception.dir, perception.manifest.model.file));
  writeFileSync(join(tmp, manifest.policy.file), policyBytes);
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(tmp, name), text);
  writeFileSync(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${tmp}.old`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}
