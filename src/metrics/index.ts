/** Public face of the metrics: per-process registries (coordinator, reward server), the /metrics endpoint, definitions. */
export {
  CoordinatorMetrics,
  DRIFT_DETECTORS,
  DRIFT_GAUGES,
  DROP_REASONS,
  MASK_REASONS,
  STAGES,
  type CoordinatorMetricsOptions,
  type DriftDetector,
  type DriftGauge,
  type Stage,
} from './coordinator-metrics.js';
export {
  RewardServerMetrics,
  DEFAULT_HALLUCINATION_WINDOW,
  FRAME_SOURCES,
  JUDGMENT_MODES,
  JUDGMENT_OUTCOMES,
  UPGRADE_REFUSALS,
  type FrameSourceKind,
  type JudgmentMode,
  type JudgmentOutcome,
  type JudgmentRecord,
  type RewardServerMetricsOptions,
  type RewardServerMetricsSink,
  type RewardServerView,
  type UpgradeRefusal,
} from './reward-server-metrics.js';
export { METRICS_PATH, isMetricsRequest, serveMetrics, type MetricsExposition, type MetricsSource, type ServeMetricsOptions } from './metrics-endpoint.js';
export { METRIC_PREFIX, type MetricDefinition, type MetricType } from './metric-set.js';
export { REWARD_DIMENSIONS, parseStepRecord, stepRecordSchema, strictStepRecordSchema, type RewardDimension, type StepRecord } from './step-record.js';
export { SlidingWindowRatio } from './sliding-window.js';
