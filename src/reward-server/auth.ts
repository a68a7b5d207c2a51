/** Bearer-token check for the WebSocket upgrade, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

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
