/** Public face of the reward-server client. */
export {
  RewardServerClient,
  errorFromServer,
  CLIENT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type AdminCallOptions,
  type CheckpointToLoad,
  type JudgeCallOptions,
  type RewardClientOptions,
  type ServerHello,
  type StatusMessage,
  type VersionChange,
} from './client.js';
export {
  RewardClientPool,
  isRetryable,
  isTransportFailure,
  type RetryOn,
  type RewardPoolOptions,
  type PoolJudgeRequest,
  type PooledVerdict,
  type VersionChangeListener,
  type VersionSkewPolicy,
} from './pool.js';
