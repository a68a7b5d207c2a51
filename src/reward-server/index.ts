/** Public face of the reward server: the WebSocket judge server, its options, and the signal-drain helper. */
export { RewardServer, ABORT_GRACE_MS, CLOSE_HANDSHAKE_TIMEOUT_MS, type RewardServerState } from './reward-server.js';
export {
  compileRewardServerOptions,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HOST,
  DEFAULT_INLINE_FPS,
  DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION,
  DEFAULT_MAX_INLINE_BYTES_PER_CONNECTION,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_SERVER_NAME,
  DEFAULT_MAX_FRAME_MEMORY_BYTES,
  DEFAULT_MAX_INLINE_PIXELS_PER_FRAME,
  EMBEDDED_DECODE_MAX_PIXELS,
  MEDIA_LIMIT_MAXIMA,
  type RewardServerOptions,
  type ResolvedRewardServerOptions,
} from './options.js';
export { CLOSE_CODES } from './connection.js';
export {
  CheckpointManager,
  DEFAULT_CANARY_CONCURRENCY,
  type CheckpointEvent,
  type CheckpointListener,
  type CheckpointManagerOptions,
  type CheckpointManagerState,
  type CheckpointManagerStatus,
  type SwapResult,
} from './checkpoint-manager.js';
export { describeSource, sourceOfRequest, type CheckpointSource, type ServiceFactory, type ServiceFactoryContext } from './checkpoint-source.js';
export { CheckpointWatcher, DEFAULT_WATCH_INTERVAL_MS, type CheckpointWatcherOptions, type ScanReport, type WatchLoadOutcome } from './checkpoint-watcher.js';
export { embeddedServiceFactory, type EmbeddedFactoryOptions } from './embedded-checkpoint.js';
export {
  buildCanarySet,
  DEFAULT_CANARY_PAIRS,
  DEFAULT_CANARY_POINTWISE,
  DEFAULT_CANARY_SEED,
  DEFAULT_CANARY_TIMEOUT_MS,
  type CanaryItem,
  type CanaryOptions,
} from './canary.js';
export { resolveArtifactUri } from './artifact-path.js';
export { installSignalDrain, DRAIN_SIGNALS, type Drainable } from '../common/signal-drain.js';
