/**
 * Base of a server that speaks one protocol over a `TransportServer` (the reward server, the generator worker): the
 * lifecycle state, address, connection count, `closed` and `close()` its users see, delegated to the transport.
 */
import type { TransportServer, TransportState } from './server.js';
import type { ConnectionHandler } from './server-connection.js';

export abstract class TransportOwner<H extends ConnectionHandler> {
  /** Listener, auth, heartbeat, sockets and lifecycle; the subclass builds it and speaks its protocol over it. */
  protected abstract readonly transport: TransportServer<H>;

  /** Current lifecycle state. */
  get state(): TransportState {
    return this.transport.state;
  }

  /** The bound TCP port (the real one when `port` was 0). */
  get port(): number {
    return this.transport.port;
  }

  /** `ws://host:port` to connect to. */
  get url(): string {
    return this.transport.url;
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.transport.connectionCount;
  }

  /** Resolves once the server reached `closed` (by whoever called `close()`). */
  get closed(): Promise<void> {
    return this.transport.closed;
  }

  /**
   * Drains and stops: new upgrades get HTTP 503; the owner's drain step runs; sockets close with 1001; the listener
   * stops. Idempotent: every call returns the same promise. Never rejects.
   */
  close(): Promise<void> {
    return this.transport.close();
  }
}
