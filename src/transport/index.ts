/**
 * Public face of the WebSocket transport: the authenticated server (listen, bearer auth, HTTP routes delegated to the
 * owner, heartbeat, maxPayload, drain, lifecycle) and the request/response client (handshake, pending requests with
 * timeouts, close). The only place in src/ that imports `ws`; protocols live with their owners.
 */
export {
  TransportServer,
  compileTransportServerOptions,
  CLOSE_HANDSHAKE_TIMEOUT_MS,
  type TransportServerHooks,
  type TransportServerOptions,
  type TransportState,
  type UpgradeRefusal,
} from './server.js';
export { TransportOwner } from './owner.js';
export { ServerConnection, CLOSE_CODES, type ConnectionHandler } from './server-connection.js';
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
