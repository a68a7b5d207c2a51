/**
 * The embedded backend's {@link ServiceFactory}: loads a checkpoint folder into a judge service after checking it.
 * Two kinds of folder are served:
 * - a perception checkpoint (manifest.json + model.onnx; the rule-based reasoner): the manifest parses, the model file
 *   matches its recorded size and sha256, the ONNX model's input/output signature is the one its manifest declares,
 *   and both are the one this code expects;
 * - a learned-judge checkpoint (manifest format `vr-grpo/learned-judge`: policy.onnx + perception/, written by
 *   `vr-grpo train-judge`): the manifest, policy and perception copy are checked by `readLearnedCheckpoint`, the
 *   policy's signature by its ONNX session, and the perception copy as above.
 * Before anything is loaded, every file the manifests name is read confined (src/onnx/model-file.ts), asynchronously
 * and within the read timeout: FORBIDDEN_PATH for a file that resolves outside the checkpoint folder (`..`, symlinks),
 * MODEL_INVALID for a FIFO, device or directory, a file over `limits.maxModelBytes`, or a read that times out.
 */
import { resolve } from 'node:path';
import { VrGrpoError, isVrGrpoError } from '../errors/index.js';
import { createEmbeddedJudge, type EmbeddedJudgeOptions } from '../judge/backends/embedded/index.js';
import { readPerceptionDirAsync } from '../judge/backends/embedded/perception/manifest.js';
import { LEARNED_FORMAT, createLearnedJudge } from '../judge/backends/learned/index.js';
import { checkpointFormatAsync, readLearnedCheckpointAsync } from '../judge/backends/learned/manifest.js';
import type { JudgeService } from '../judge/judge-service.js';
import { checkpointReadLimits, probeModel, type CheckpointReadLimits, type ModelSignature, type ProbeResult } from '../onnx/index.js';
import type { CheckpointSource, ServiceFactory } from './checkpoint-source.js';

export interface EmbeddedFactoryOptions {
  /** Engine settings (the config's `judge` section). */
  readonly judge?: EmbeddedJudgeOptions['judge'];
  readonly reasoner?: EmbeddedJudgeOptions['reasoner'];
  /**
   * Limits of the checkpoint's file reads (src/onnx/model-file.ts): the largest model file (default 256 MiB,
   * `rewardServer.checkpoints.maxModelBytes`) and the time one read may take (default 30000 ms, `modelReadTimeoutMs`).
   */
  readonly limits?: { readonly maxModelBytes?: number; readonly readTimeoutMs?: number };
  /**
   * Budget of the model probe (src/onnx/probe.ts) every ONNX file of a checkpoint passes before it is loaded on the
   * serving process: loaded in a child process and run on zeros, it may grow that process's resident memory by at most
   * `maxRssGrowthBytes` (default 512 MiB, `rewardServer.checkpoints.canaryMaxRssGrowthMiB`; null = none), take
   * `maxRunMs` per run (default 20000, `canaryMaxJudgmentMs`) and `timeoutMs` in all (default 30000). CANARY_FAILED
   * beyond it.
   */
  readonly budget?: { readonly maxRssGrowthBytes?: number | null; readonly maxRunMs?: number | null; readonly timeoutMs?: number };
  /**
   * Worker threads of each loaded judge's perception for frame analysis (PerceptionOptions.analysisThreads), so
   * that it does not hold the server's event loop: default `'auto'` (one per core beyond the first, 1…4); 0 = inline.
   * A hot swap starts the new copy's threads and stops the old copy's when it closes.
   */
  readonly analysisThreads?: number | 'auto';
}

type Signature = ModelSignature;

type Budget = { readonly maxRssGrowthBytes?: number | null; readonly maxRunMs?: number | null; readonly timeoutMs?: number };

function describeSignature(sig: Signature): string {
  const list = (t: Signature['inputs']): string => t.map((s) => `${s.name}[${s.dims.join(',')}]`).join(', ');
  return `inputs ${list(sig.inputs)}; outputs ${list(sig.outputs)}`;
}

/** Why `actual` is not what `declared` says (same inputs; every declared output present; dims equal, -1 matching any), or null. */
function signatureMismatch(declared: Signature, actual: Signature): string | null {
  if (declared.inputs.length !== actual.inputs.length) return `${actual.inputs.length} input(s), the manifest declares ${declared.inputs.length}`;
  const check = (want: Signature['inputs'][number], have: Signature['inputs'], kind: string): string | null => {
    const found = have.find((h) => h.name === want.name);
    if (found === undefined) return `no ${kind} ${want.name}`;
    const same = found.dims.length === want.dims.length && want.dims.every((d, i) => d === -1 || found.dims[i] === -1 || found.dims[i] === d);
    return same ? null : `${kind} ${want.name} has dims [${found.dims.join(',')}], the manifest declares [${want.dims.join(',')}]`;
  };
  for (const want of declared.inputs) {
    const why = check(want, actual.inputs, 'input');
    if (why !== null) return why;
  }
  for (const want of declared.outputs) {
    const why = check(want, actual.outputs, 'output');
    if (why !== null) return why;
  }
  return null;
}

/**
 * MODEL_INVALID when the bytes are not a loadable ONNX model, or when the model does not have exactly the inputs and
 * (at least) the outputs that its manifest declares. Releases the probe session either way.
 */
async function checkDeclaredSignature(dir: string, bytes: Uint8Array, declared: Signature, budget: Budget): Promise<void> {
  let probe: ProbeResult;
  try {
    // Off the event loop, within the budget: a model that allocates gigabytes per run or hangs never reaches the canary.
    probe = await probeModel(bytes, { ...budget, label: `checkpoint ${dir}` });
  } catch (error) {
    if (isVrGrpoError(error, 'CANARY_FAILED')) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${dir}: the model file is corrupt: ${reason}`, {
      details: { dir, reason: 'corrupt model' },
      cause: error,
    });
  }
  const why = signatureMismatch(declared, probe.signature);
  const actual = describeSignature(probe.signature);
  if (why !== null) {
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${dir}: the model's signature is not the one its manifest declares: ${why} (model: ${actual})`, {
      details: { dir, reason: 'signature mismatch' },
    });
  }
}

/** A factory for `{ kind: 'path' }` sources; other kinds are refused with INVALID_REQUEST. */
export function embeddedServiceFactory(options: EmbeddedFactoryOptions = {}): ServiceFactory {
  // Compiled once: a bad limit fails when the factory is made, not at the first load.
  const limits = checkpointReadLimits(options.limits);
  const budget: Budget = Object.freeze({ ...options.budget });
  return async (source: CheckpointSource): Promise<JudgeService> => {
    if (source.kind !== 'path') {
      throw new VrGrpoError('INVALID_REQUEST', 'this server runs the embedded judge: load_checkpoint needs a checkpoint path, not a model/baseUrl', {
        details: { source: source.kind },
      });
    }
    const dir = resolve(source.path);
    if ((await checkpointFormatAsync(dir, limits)) === LEARNED_FORMAT) return learnedService(dir, options, limits, budget);
    // CHECKPOINT_NOT_FOUND (no folder or manifest), MODEL_INVALID (bad manifest or file, size or sha256 mismatch) or
    // FORBIDDEN_PATH (a file outside the folder).
    const { manifest, bytes } = await readPerceptionDirAsync(dir, limits);
    await checkDeclaredSignature(dir, bytes, manifest.signature, budget);
    // Loads the perception again through the judge's own path, which checks the model against this code's signature.
    const service = await createEmbeddedJudge({
      modelDir: dir,
      analysisThreads: options.analysisThreads ?? 'auto',
      ...(options.judge === undefined ? {} : { judge: options.judge }),
      ...(options.reasoner === undefined ? {} : { reasoner: options.reasoner }),
    });
    const version = service.rmVersion();
    if (!version.startsWith(manifest.version)) {
      await service.close();
      throw new VrGrpoError('CHECKPOINT_INVALID', `checkpoint ${dir} changed while it was loaded (manifest version ${manifest.version}, loaded ${version})`, {
        details: { dir },
      });
    }
    return service;
  };
}

/** A learned-judge checkpoint as a service: its perception copy checked like a perception checkpoint, then loaded. */
async function learnedService(dir: string, options: EmbeddedFactoryOptions, limits: CheckpointReadLimits, budget: Budget): Promise<JudgeService> {
  // The planted hack is a rule of the rule-based reasoner; a learned judge would silently judge without it.
  if ((options.reasoner?.plantedHack ?? options.judge?.plantedHack ?? null) !== null) {
    throw new VrGrpoError(
      'CONFIG_INVALID',
      `judge.plantedHack: the testing aid works with a perception checkpoint (rule-based judge), not the learned judge at ${dir}`,
      { details: { dir } },
    );
  }
  // MODEL_INVALID / CHECKPOINT_NOT_FOUND / FORBIDDEN_PATH: confinement, manifest schema, policy size and sha256, feature and slot layout, perception copy.
  const checkpoint = await readLearnedCheckpointAsync(dir, limits);
  const perception = await readPerceptionDirAsync(checkpoint.perceptionDir, limits);
  await checkDeclaredSignature(checkpoint.perceptionDir, perception.bytes, perception.manifest.signature, budget);
  await probeModel(checkpoint.policyBytes, { ...budget, label: `checkpoint ${dir} policy` }).catch((error: unknown) => {
    if (isVrGrpoError(error, 'CANARY_FAILED')) throw error;
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${dir}: the policy file is corrupt: ${error instanceof Error ? error.message : String(error)}`, {
      details: { dir, reason: 'corrupt model' },
      cause: error,
    });
  });
  const service = await createLearnedJudge({
    modelDir: dir,
    analysisThreads: options.analysisThreads ?? 'auto',
    ...(options.judge === undefined ? {} : { judge: options.judge }),
  });
  if (service.rmVersion() !== checkpoint.manifest.version) {
    await service.close();
    throw new VrGrpoError(
      'CHECKPOINT_INVALID',
      `checkpoint ${dir} changed while it was loaded (manifest version ${checkpoint.manifest.version}, loaded ${service.rmVersion()})`,
      { details: { dir } },
    );
  }
  return service;
}
