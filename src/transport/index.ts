/**
 * Public face of the WebSocket transport: the authenticated server (listen, bearer auth, Host/Origin allow-lists,
 * connection limit, bounded send buffers, HTTP routes delegated to the owner, heartbeat, maxPayload, drain,
 * lifecycle), the redaction of server paths from error texts, and the request/response client (handshake, pending
 * requests with timeouts, close). The only place in src/ that imports `ws`; protocols live with their owners.
 */
export {
  TransportServer,
  compileTransportServerOptions,
  CLOSE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_SEND_BUFFER_BYTES,
  MAX_CONNECTIONS_LIMIT,
  MAX_PAYLOAD_BYTES_LIMIT,
  MAX_SEND_BUFFER_BYTES_LIMIT,
  pickSocketPolicy,
  type ResolvedTransportServerOptions,
  type SocketPolicyOptions,
  type TransportServerHooks,
  type TransportServerOptions,
  type TransportState,
  type UpgradeRefusal,
} from './server.js';
export { TransportOwner } from './owner.js';
export {
  ServerConnection,
  CLOSE_CODES,
  SLOW_CONSUMER_CLOSE_TIMEOUT_MS,
  MAX_UNFLUSHED_MESSAGES,
  type ConnectionHandler,
  type ServerConnectionLimits,
} from './server-connection.js';
export {
  connectClient,
  ClientConnection,
  CLIENT_CLOSE_TIMEOUT_MS,
  type ClientErrors,
  type ClientHandler,
  type ConnectOptions,
  type HandshakeStep,
} from './client.js';
export { PendingTable, type Settle } from './pending.js';
export { settledWithin, describeError } from './settle.js';
export { redactServerPaths } from './redact.js';
