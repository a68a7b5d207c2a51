/**
 * The embedded judge's perception: classical frame analysis, the ONNX classifier (object colour, shape, background),
 * and measured video signals (velocity, jitter, flicker, blur, noise). Its training lives in
 * src/judge-training/perception/ (it loads tfjs; the runtime here does not).
 */
export {
  Perception,
  PERCEPTION_SIGNATURE,
  compilePerceptionOptions,
  type FramePerception,
  type PerceivedObject,
  type PerceptionOptions,
  type ResolvedPerceptionOptions,
} from './perception.js';
export { MAX_ANALYSIS_THREADS, autoAnalysisThreads } from './analysis-thread.js';
export { analyseFrames, type AnalysedFrames, type FrameSummary } from './frame-rows.js';
export { videoSignals, rawSignals, SIGNAL_CALIBRATION, type VideoSignals, type TrackedVelocity, type RawSignals, type SignalFrame } from './signals.js';
export { analyseFrame, checkFrameSize, DEFAULT_ANALYSIS, type AnalysisOptions, type Blob, type BoundingBox, type FrameAnalysis } from './frame-analysis.js';
export { CROP_SIZE, FEATURE_SIZE, CROP_PLANES, writeObjectRow, writeBackgroundRow } from './features.js';
export { HEADS, INPUT_NAME, PROB_OUTPUTS, type HeadName } from './heads.js';
export {
  readPerceptionDir,
  writePerceptionDir,
  parsePerceptionManifest,
  PERCEPTION_FORMAT,
  PERCEPTION_FORMAT_VERSION,
  type PerceptionManifest,
} from './manifest.js';
