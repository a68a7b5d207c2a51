/** Public face of remote generators: the worker server that serves a generator over WebSocket, and the client generator. */
export { GeneratorWorkerServer, WORKER_CLOSE_HANDSHAKE_TIMEOUT_MS, type GeneratorWorkerState } from './worker-server.js';
export {
  compileGeneratorWorkerOptions,
  isTrainable,
  DEFAULT_MAX_QUEUED_PER_CONNECTION,
  DEFAULT_WORKER_DRAIN_TIMEOUT_MS,
  DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS,
  DEFAULT_WORKER_HOST,
  DEFAULT_WORKER_MAX_PAYLOAD_BYTES,
  DEFAULT_WORKER_NAME,
  DEFAULT_WORKER_ADVANTAGE_CLIP,
  isLoopbackHost,
  type GeneratorWorkerOptions,
  type ResolvedGeneratorWorkerOptions,
} from './worker-options.js';
export { WORKER_CLOSE_CODES } from './worker-connection.js';
export { boundAdvantages, type BoundedAdvantages } from './wire.js';
export {
  RemoteGenerator,
  DEFAULT_REMOTE_CONNECT_TIMEOUT_MS,
  DEFAULT_REMOTE_MAX_PAYLOAD_BYTES,
  DEFAULT_REMOTE_TIMEOUT_MS,
  REMOTE_CLOSE_TIMEOUT_MS,
  type RemoteGeneratorOptions,
} from './remote-generator.js';

export { ReconnectingGenerator, DEFAULT_RECONNECT_TIMEOUT_MS, RECONNECT_FIRST_DELAY_MS, type ReconnectingGeneratorOptions } from './reconnecting-generator.js';
export { RolloutArtifacts, judgeCopyOf, uniformFrameIndices, type WrittenVideo } from './rollout-artifacts.js';
export { ShardedGenerator, shardSizes } from './sharded-generator.js';
