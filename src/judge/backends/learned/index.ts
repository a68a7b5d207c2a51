/**
 * The learned judge backend: the embedded judge's ONNX perception and evidence, with a trained policy (ONNX) deciding
 * when and where to look and what to answer. A checkpoint folder (`manifest.json` with format `vr-grpo/learned-judge`,
 * `policy.onnx`, `perception/`) is one judge version, served by `createLearnedJudge` (`checkpointFormat(dir)`
 * tells such a folder from a perception-only one).
 * Training lives in src/judge-training (it loads tfjs; this runtime does not).
 */
import { JudgeEngine, type ResolvedJudgeOptions } from '../../engine.js';
import { Perception, videoSignals, type PerceptionOptions } from '../embedded/perception/index.js';
import { DEFAULT_PERCEPTION_CACHE_FRAMES, PerceptionCache } from '../embedded/perception-cache.js';
import type { PerceptionPort } from '../embedded/reasoner.js';
import type { Decoding } from './action.js';
import { manifestLayout, readLearnedCheckpoint } from './manifest.js';
import { OnnxPolicy } from './onnx-policy.js';
import { LearnedReasoner } from './reasoner.js';

export { LearnedReasoner, type LearnedReasonerOptions, type RecordedStep } from './reasoner.js';
export { OnnxPolicy, POLICY_SIGNATURE, policySignature } from './onnx-policy.js';
export { JsPolicy, checkPolicySpec } from './mlp-spec.js';
export type { PolicyPort } from './policy-port.js';
export { ObservationTracker, type Estimate, type Observation } from './observation.js';
export { LAYOUT_NAMES, framesToSlotsIn, judgeLayout, layoutForWorld, layoutOfFeatureSize, slotFramesIn, type JudgeLayout, type LayoutName } from './layout.js';
export { TEMPORAL_FEATURE_NAMES, temporalObservationFeatures, type TemporalObservationParts } from './temporal-features.js';
export { TEMPORAL_SEGMENTS, TEMPORAL_FRAMES_PER_SLOT, temporalSlotFrames, temporalSlotOfFrame, timeSegmentRange } from './temporal-slots.js';
export { FEATURE_NAMES, FEATURE_SIZE, observationFeatures, type ObservationParts } from './features.js';
export { actionLogProb, decodeAction, type ActionContext, type Decoding, type PolicyAction } from './action.js';
export { ANSWER_MODES, POLICY_HEADS, answerHeadsOf, type AnswerMode, type PolicyLogits } from './heads.js';
export { SLOT_COUNT, SEGMENTS_PER_VIDEO, FRAMES_PER_SLOT, framesToSlots, slotFrames, slotOfFrame } from './slots.js';
export {
  LEARNED_FORMAT,
  checkpointFormat,
  manifestLayout,
  readLearnedCheckpoint,
  writeLearnedCheckpoint,
  type LearnedCheckpoint,
  type LearnedManifest,
  type TrainingStage,
} from './manifest.js';

export interface LearnedJudgeOptions {
  /** Learned checkpoint folder (manifest.json + policy.onnx + perception/). */
  readonly modelDir: string;
  /** Engine settings from the config's `judge` section. */
  readonly judge?: Partial<ResolvedJudgeOptions> & { readonly maxFormatRetries?: number; readonly auditFraction?: number };
  /** Default greedy. */
  readonly decoding?: Decoding;
  /**
   * Perception of a group's videos reused across its comparisons: a cache, its bound in frames, or null for none.
   * Default: a cache of DEFAULT_PERCEPTION_CACHE_FRAMES.
   */
  readonly perceptionCache?: PerceptionCache | number | null;
  /** Perception analysis threads (PerceptionOptions.analysisThreads): default 0, inline; the reward server passes `'auto'`. */
  readonly analysisThreads?: PerceptionOptions['analysisThreads'];
}

/** The perception port of a perception folder (ONNX session + measured signals). */
export async function perceptionPort(dir: string, options: PerceptionOptions = {}): Promise<PerceptionPort> {
  const perception = await Perception.create(dir, options);
  return {
    version: perception.version,
    perceive: (frames, width, height) => perception.perceive(frames, width, height),
    signals: (frames, width, height) => videoSignals(frames, width, height),
    close: () => perception.close(),
  };
}

/** Loads a learned checkpoint (perception + policy, both ONNX) and returns a ready judge engine. */
export async function createLearnedJudge(options: LearnedJudgeOptions): Promise<JudgeEngine> {
  const checkpoint = readLearnedCheckpoint(options.modelDir);
  const port = await perceptionPort(checkpoint.perceptionDir, options.analysisThreads === undefined ? {} : { analysisThreads: options.analysisThreads });
  let policy: OnnxPolicy;
  try {
    policy = await OnnxPolicy.create(checkpoint.policyBytes, `${checkpoint.dir}/${checkpoint.manifest.policy.file}`);
  } catch (e) {
    await port.close();
    throw e;
  }
  const m = checkpoint.manifest;
  const c = options.perceptionCache ?? DEFAULT_PERCEPTION_CACHE_FRAMES;
  const reasoner = new LearnedReasoner(port, policy, {
    version: m.version,
    answerMode: m.actions.answerMode,
    layout: manifestLayout(m),
    maxOwnToolCalls: m.actions.maxOwnToolCalls,
    perceptionCache: c === null ? null : c instanceof PerceptionCache ? c : new PerceptionCache(c),
    ...(options.decoding === undefined ? {} : { decoding: options.decoding }),
  });
  const j = options.judge ?? {};
  return new JudgeEngine(reasoner, {
    ...(j.maxFormatRetries === undefined ? {} : { maxFormatRetries: j.maxFormatRetries }),
    ...(j.auditFraction === undefined ? {} : { auditFraction: j.auditFraction }),
    defaults: j,
  });
}
