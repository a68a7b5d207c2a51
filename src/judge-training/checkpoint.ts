/**
 * Stage checkpoints: the trained policy exported to ONNX with the project's exporter, a manifest naming the stage, the
 * parent checkpoint, the options and the validation numbers, a `metrics.json` with everything measured, and a copy
 * of the perception — a folder `createLearnedJudge` serves as a judge version.
 */
import { ONNX_IR_VERSION, ONNX_OPSET, exportMlpToOnnx, readMlpFromOnnx } from '../onnx/index.js';
import { sha256Hex } from '../judge/backends/embedded/perception/manifest.js';
import {
  LEARNED_FORMAT,
  judgeLayout,
  readLearnedCheckpoint,
  writeLearnedCheckpoint,
  type AnswerMode,
  type LayoutName,
  type LearnedCheckpoint,
  type LearnedManifest,
  type TrainingStage,
} from '../judge/backends/learned/index.js';
import { PolicyNet } from './policy-net.js';
import type { PerceptionRef } from './data.js';

export const METRICS_FILE = 'metrics.json';

export interface StageCheckpoint {
  readonly stage: TrainingStage;
  readonly version: string;
  readonly net: PolicyNet;
  readonly answerMode: AnswerMode;
  readonly maxToolCalls: number;
  /** Observation and slot layout of the policy. Default `v1` (then the manifest records none, as before world v2). */
  readonly layout?: LayoutName;
  readonly perception: PerceptionRef;
  readonly parent: { readonly version: string; readonly stage: string; readonly policySha256: string } | null;
  readonly training: Readonly<Record<string, unknown>>;
  /** Headline numbers for the manifest. */
  readonly summary: Readonly<Record<string, unknown>>;
  /** Everything measured, written to metrics.json. */
  readonly metrics: Readonly<Record<string, unknown>>;
}

/** The ONNX bytes of a policy network. */
export function exportPolicy(net: PolicyNet, version: string): Uint8Array {
  return exportMlpToOnnx(net.toMlpSpec({ version, metadata: { version, format: LEARNED_FORMAT } }));
}

/** Writes a stage checkpoint folder (atomically) and returns its manifest. */
export function saveStageCheckpoint(dir: string, c: StageCheckpoint): LearnedManifest {
  const bytes = exportPolicy(c.net, c.version);
  const layout = judgeLayout(c.layout ?? 'v1');
  const manifest: LearnedManifest = {
    format: LEARNED_FORMAT,
    formatVersion: 1,
    version: c.version,
    stage: c.stage,
    createdAt: new Date().toISOString(),
    policy: {
      file: 'policy.onnx',
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      opset: ONNX_OPSET,
      irVersion: ONNX_IR_VERSION,
      hidden: [...c.net.architecture.hidden],
      parameters: c.net.parameterCount,
      featureSize: layout.featureSize,
      features: [...layout.featureNames],
    },
    actions: {
      answerMode: c.answerMode,
      segmentsPerVideo: layout.segmentsPerVideo,
      framesPerSlot: layout.framesPerSlot,
      maxOwnToolCalls: c.maxToolCalls,
      ...(layout.name === 'v1' ? {} : { layout: layout.name }),
    },
    perception: { dir: 'perception', version: c.perception.version, sha256: c.perception.sha256 },
    training: { ...c.training, parent: c.parent },
    metrics: { ...c.summary },
  };
  writeLearnedCheckpoint(dir, manifest, bytes, c.perception.dir, {
    [METRICS_FILE]: `${JSON.stringify({ version: c.version, stage: c.stage, ...c.metrics }, null, 2)}\n`,
  });
  return manifest;
}

/** A checkpoint's policy as a trainable tfjs network (dispose it), with the checkpoint. */
export function loadStagePolicy(dir: string): { net: PolicyNet; checkpoint: LearnedCheckpoint } {
  const checkpoint = readLearnedCheckpoint(dir);
  return { net: PolicyNet.fromMlpSpec(readMlpFromOnnx(checkpoint.policyBytes)), checkpoint };
}
