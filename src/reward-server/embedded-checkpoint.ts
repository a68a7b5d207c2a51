/**
 * The embedded backend's {@link ServiceFactory}: loads a checkpoint folder into a judge service after checking it.
 * Two kinds of folder are served:
 * - a perception checkpoint (manifest.json + model.onnx; the rule-based reasoner): the manifest parses, the model file
 *   matches its recorded size and sha256, the ONNX model's input/output signature is the one its manifest declares,
 *   and both are the one this code expects;
 * - a learned-judge checkpoint (manifest format `vr-grpo/learned-judge`: policy.onnx + perception/, written by
 *   `vr-grpo train-judge`): the manifest, policy and perception copy are checked by `readLearnedCheckpoint`, the
 *   policy's signature by its ONNX session, and the perception copy as above.
 */
import { resolve } from 'node:path';
import { VrGrpoError } from '../errors/index.js';
import { createEmbeddedJudge, type EmbeddedJudgeOptions } from '../judge/backends/embedded/index.js';
import { readPerceptionDir } from '../judge/backends/embedded/perception/index.js';
import { LEARNED_FORMAT, checkpointFormat, createLearnedJudge, readLearnedCheckpoint } from '../judge/backends/learned/index.js';
import type { JudgeService } from '../judge/judge-service.js';
import { OnnxModel } from '../onnx/index.js';
import type { CheckpointSource, ServiceFactory } from './checkpoint-source.js';

export interface EmbeddedFactoryOptions {
  /** Engine settings (the config's `judge` section). */
  readonly judge?: EmbeddedJudgeOptions['judge'];
  readonly reasoner?: EmbeddedJudgeOptions['reasoner'];
}

type Signature = Parameters<typeof OnnxModel.create>[1] & object;

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
async function checkDeclaredSignature(dir: string, bytes: Uint8Array, declared: Signature): Promise<void> {
  let probe: OnnxModel;
  try {
    probe = await OnnxModel.create(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${dir}: the model file is corrupt: ${reason}`, {
      details: { dir, reason: 'corrupt model' },
      cause: error,
    });
  }
  const why = signatureMismatch(declared, probe.signature);
  const actual = describeSignature(probe.signature);
  await probe.close();
  if (why !== null) {
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${dir}: the model's signature is not the one its manifest declares: ${why} (model: ${actual})`, {
      details: { dir, reason: 'signature mismatch' },
    });
  }
}

/** A factory for `{ kind: 'path' }` sources; other kinds are refused with INVALID_REQUEST. */
export function embeddedServiceFactory(options: EmbeddedFactoryOptions = {}): ServiceFactory {
  return async (source: CheckpointSource): Promise<JudgeService> => {
    if (source.kind !== 'path') {
      throw new VrGrpoError('INVALID_REQUEST', 'this server runs the embedded judge: load_checkpoint needs a checkpoint path, not a model/baseUrl', {
        details: { source: source.kind },
      });
    }
    const dir = resolve(source.path);
    if (checkpointFormat(dir) === LEARNED_FORMAT) return learnedService(dir, options);
    // CHECKPOINT_NOT_FOUND (no folder or manifest) or MODEL_INVALID (bad manifest, size or sha256 mismatch).
    const { manifest, bytes } = readPerceptionDir(dir);
    await checkDeclaredSignature(dir, bytes, manifest.signature);
    // Loads the perception again through the judge's own path, which checks the model against this code's signature.
    const service = await createEmbeddedJudge({
      modelDir: dir,
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
async function learnedService(dir: string, options: EmbeddedFactoryOptions): Promise<JudgeService> {
  // The planted hack is a rule of the rule-based reasoner; a learned judge would silently judge without it.
  if ((options.reasoner?.plantedHack ?? options.judge?.plantedHack ?? null) !== null) {
    throw new VrGrpoError(
      'CONFIG_INVALID',
      `judge.plantedHack: the testing aid works with a perception checkpoint (rule-based judge), not the learned judge at ${dir}`,
      { details: { dir } },
    );
  }
  // MODEL_INVALID / CHECKPOINT_NOT_FOUND: manifest schema, policy size and sha256, feature and slot layout, perception copy.
  const checkpoint = readLearnedCheckpoint(dir);
  const perception = readPerceptionDir(checkpoint.perceptionDir);
  await checkDeclaredSignature(checkpoint.perceptionDir, perception.bytes, perception.manifest.signature);
  const service = await createLearnedJudge({ modelDir: dir, ...(options.judge === undefined ? {} : { judge: options.judge }) });
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
