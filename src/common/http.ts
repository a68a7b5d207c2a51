/**
 * Plain-HTTP pieces shared by the project's HTTP and WebSocket servers (reward server, generator worker, dashboard): the
 * constant-time bearer-token check of the upgrade, the Host and Origin allow-lists (DNS rebinding, cross-site
 * WebSocket), `/healthz` (404 elsewhere, 405 for other methods), and refusing an upgrade with a status line and a JSON
 * `{code, message}` body.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { listenError } from '../errors/index.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A checker for `Authorization: Bearer <token>`; with a `null` token every request passes. */
export function bearerChecker(token: string | null): (request: IncomingMessage) => boolean {
  if (token === null) return () => true;
  const expected = digest(token);
  return (request) => {
    const header = request.headers.authorization;
    if (typeof header !== 'string') return false;
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const given = match?.[1];
    // Hashing first gives equal-length buffers, so the comparison time does not depend on the token's length.
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}

/** Host names every server accepts by default (besides the host it is bound to): the loopback names. */
export const LOOPBACK_HOST_NAMES: readonly string[] = Object.freeze(['localhost', '127.0.0.1', '::1']);

/** Addresses that bind every interface: a server bound to one cannot know the names it is reached by. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

/** Which `Host` and `Origin` headers a server accepts; build it with `compileHostPolicy`. */
export interface HostPolicy {
  /** Lower-case host names (no port, IPv6 without brackets) a `Host` header may name; `null`: any. */
  readonly hosts: ReadonlySet<string> | null;
  /** Lower-case origins (`scheme://host[:port]`) an `Origin` header may carry; `null`: any. */
  readonly origins: ReadonlySet<string> | null;
}

/** A host name as compared: lower case, IPv6 brackets removed. */
function normaliseHostName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/**
 * The policy of a server bound to `bindHost`. `allowedHosts` `null` (the default): the loopback names plus `bindHost` —
 * or any host when `bindHost` is a wildcard address (`0.0.0.0`, `::`), whose names the server cannot know; an entry
 * `'*'` allows any host. `allowedOrigins` (default none): the browser origins that may talk to the server; `'*'` any.
 * A request without `Origin` (not from a browser) is never refused for it.
 */
export function compileHostPolicy(bindHost: string, allowedHosts: readonly string[] | null, allowedOrigins: readonly string[]): HostPolicy {
  let hosts: Set<string> | null;
  if (allowedHosts === null) {
    hosts = WILDCARD_HOSTS.has(normaliseHostName(bindHost)) ? null : new Set([...LOOPBACK_HOST_NAMES, normaliseHostName(bindHost)]);
  } else {
    hosts = allowedHosts.includes('*') ? null : new Set(allowedHosts.map(normaliseHostName));
  }
  const origins = allowedOrigins.includes('*') ? null : new Set(allowedOrigins.map((o) => o.trim().toLowerCase().replace(/\/+$/, '')));
  return Object.freeze({ hosts: hosts === null ? null : (Object.freeze(hosts) as ReadonlySet<string>), origins });
}

/** The host name of a `Host` header (`name[:port]`, `[v6][:port]`); null when it cannot be parsed. */
export function hostNameOf(header: string): string | null {
  try {
    const url = new URL(`http://${header.trim()}`);
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return null;
    return normaliseHostName(url.hostname);
  } catch {
    return null;
  }
}

/** Whether the request's `Host` header names an allowed host (a request without one, HTTP/1.0, passes). */
export function hostAllowed(request: IncomingMessage, policy: HostPolicy): boolean {
  if (policy.hosts === null) return true;
  const header = request.headers.host;
  if (header === undefined) return true;
  const name = hostNameOf(header);
  return name !== null && policy.hosts.has(name);
}

/**
 * Whether the request's `Origin` header is allowed: absent (not a browser), on the allow-list, or — with `sameOrigin`
 * (a server that serves its own pages) — the origin of the request's own `Host`.
 */
export function originAllowed(request: IncomingMessage, policy: HostPolicy, sameOrigin = false): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (policy.origins === null) return true;
  const given = origin.trim().toLowerCase();
  if (policy.origins.has(given)) return true;
  if (!sameOrigin) return false;
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    const url = new URL(given);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === new URL(`http://${host.trim()}`).host;
  } catch {
    return false;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(head ? undefined : text);
}

/** Refuses a plain HTTP request with `status` and a JSON `{code, message}` body; the connection is closed after it. */
export function refuseRequest(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { code, message }, { connection: 'close' });
}

/** Answers a plain HTTP request: `GET|HEAD /healthz` → 200 (503 while draining), other methods 405, other paths 404. */
export function handleHealthRequest(req: IncomingMessage, res: ServerResponse, health: () => { readonly status: 'ok' | 'draining' }): void {
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    sendJson(res, 400, { error: 'bad request target' });
    return;
  }
  if (pathname !== '/healthz') {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  const body = health();
  sendJson(res, body.status === 'ok' ? 200 : 503, body, {}, req.method === 'HEAD');
}

/** Refuses an upgrade: writes a complete HTTP response with a JSON `{code, message}` body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code, message });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Binds `server` to host:port and resolves once it listens. Rejects with ADDRESS_IN_USE when the port is taken and
 * BIND_FAILED for any other listen failure (`what` names the server in the message); the listeners it added are removed
 * either way.
 */
export async function listenHttp(server: Server, host: string, port: number, what: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    });
  } catch (error) {
    throw listenError(what, host, port, error);
  }
}
