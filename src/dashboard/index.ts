/** Public face of the live dashboard: the coordinator's HTTP endpoint (page, feed, metrics, videos) and its records. */
export { MonitorServer, type MonitorServerState } from './monitor-server.js';
export {
  compileMonitorServerOptions,
  DEFAULT_MONITOR_HOST,
  DEFAULT_MONITOR_PORT,
  type RegistryLike,
  type MonitorServerOptions,
  type ResolvedMonitorServerOptions,
} from './options.js';
export type {
  ComparisonGoldRecord,
  ComparisonRecord,
  EventRecord,
  FeedEvent,
  FeedMessage,
  GroupRecord,
  GroupVideoRecord,
  HistoryBody,
  JudgeGoldRecord,
  StepRecord,
} from './records.js';
export { DEFAULT_THUMBNAIL_SIDE, encodeFrameStrip, stripFrames, type FrameStripRecord } from './frame-strip.js';
