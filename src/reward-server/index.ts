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
  type RewardServerOptions,
  type ResolvedRewardServerOptions,
} from './options.js';
export { CLOSE_CODES } from './connection.js';
export { resolveArtifactUri } from './artifact-path.js';
export { installSignalDrain, DRAIN_SIGNALS, type Drainable } from '../common/signal-drain.js';
