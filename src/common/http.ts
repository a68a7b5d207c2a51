/**
 * Plain-HTTP pieces shared by the project's WebSocket servers (reward server, generator worker): the constant-time
 * bearer-token check of the upgrade, `/healthz` (404 elsewhere, 405 for other methods), and refusing an upgrade with a
 * status line and a JSON `{code, message}` body.
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
