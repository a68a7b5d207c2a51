/**
 * Video URI → file path under the artifact root. Only `file://` URIs whose `realpath` lies inside the (real) root are
 * accepted: `..` and `%2e%2e` segments are normalised away by the URL parser before the check, and symlinks are
 * resolved by `realpath`, so neither can step outside. A missing file inside the root is VIDEO_DECODE_FAILED.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VrGrpoError } from '../errors/index.js';

function forbidden(uri: string, reason: string): VrGrpoError {
  return new VrGrpoError('FORBIDDEN_PATH', `video uri ${JSON.stringify(uri.slice(0, 256))}: ${reason}`, { details: { uri: uri.slice(0, 4096), reason } });
}

/** Whether `candidate` (an absolute, normalised path) is `root` or below it. */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function errnoCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The realpath of the deepest existing ancestor of `target` (itself included), or undefined when none resolves. */
async function realAncestor(target: string): Promise<string | undefined> {
  let current = target;
  for (;;) {
    try {
      return await fs.realpath(current);
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return undefined;
      current = parent;
    }
  }
}

/**
 * Resolves `uri` to the real path of a regular file inside `realRoot` (which must itself be a realpath).
 * FORBIDDEN_PATH: not a URI, a scheme other than `file:`, a remote host, a query or fragment, an encoded `/`, or a
 * real path outside the root. VIDEO_DECODE_FAILED: the file is missing, unreadable or not a regular file.
 */
export async function resolveArtifactUri(uri: string, realRoot: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw forbidden(uri, 'not an absolute URI (expected file:///…)');
  }
  if (url.protocol !== 'file:') throw forbidden(uri, `scheme ${url.protocol.replace(/:$/, '')} is not allowed (only file)`);
  if (url.search !== '' || url.hash !== '') throw forbidden(uri, 'a file URI may not carry a query or fragment');
  let lexical: string;
  try {
    // Rejects encoded '/' (%2F) and non-local hosts; the URL parser has already collapsed '.', '..', '%2e%2e'.
    lexical = path.resolve(fileURLToPath(url));
  } catch (error) {
    throw forbidden(uri, error instanceof Error ? error.message : 'not a valid file URI');
  }
  if (lexical.includes('\0')) throw forbidden(uri, 'path contains a NUL byte');
  if (!isInside(realRoot, lexical)) throw forbidden(uri, 'path is outside the artifact root');

  let real: string;
  try {
    real = await fs.realpath(lexical);
  } catch (error) {
    // Say "missing" only when what does exist of the path is inside the root (no probing beyond it through a symlink).
    const ancestor = await realAncestor(path.dirname(lexical));
    if (ancestor === undefined || !isInside(realRoot, ancestor)) throw forbidden(uri, 'path is outside the artifact root');
    throw new VrGrpoError('VIDEO_DECODE_FAILED', `video file not found: ${lexical}`, {
      details: { path: lexical, reason: errnoCode(error) === 'ENOENT' ? 'missing' : (errnoCode(error) ?? 'unreadable'), stderrTail: '' },
      cause: error,
    });
  }
  if (!isInside(realRoot, real)) throw forbidden(uri, 'path resolves (through a symlink) outside the artifact root');
  let stat;
  try {
    stat = await fs.stat(real);
  } catch (error) {
    throw new VrGrpoError('VIDEO_DECODE_FAILED', `video file cannot be read: ${real}`, {
      details: { path: real, reason: errnoCode(error) ?? 'unreadable', stderrTail: '' },
      cause: error,
    });
  }
  if (!stat.isFile()) {
    throw new VrGrpoError('VIDEO_DECODE_FAILED', `video path is not a regular file: ${real}`, {
      details: { path: real, reason: 'not a file', stderrTail: '' },
    });
  }
  return real;
}
