/**
 * `GET /runs/<path>`: the run's MP4s for the page's `<video>` elements and the PNG thumbnail strips of the frames the
 * judge viewed. Only files under the run directory's `videos/` ending in `.mp4` or `.png` are served (after `realpath`,
 * so a symlink pointing out is refused too); `..`, encoded slashes or backslashes are refused with 403. Byte ranges
 * (`Range: bytes=…`, one range) answer 206, so a browser can read the
 * metadata and seek without fetching the whole file.
 */
import { RUN_LAYOUT } from '../common/run-layout.js';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../common/logger.js';

/** The folder of the run directory whose files are served. */
export const VIDEOS_DIR = RUN_LAYOUT.videos;

/** The kinds of file served, by lower-case extension, with their content type. */
export const RUN_FILE_TYPES: Readonly<Record<string, string>> = Object.freeze({ '.mp4': 'video/mp4', '.png': 'image/png' });

export type VideoLookup =
  | { readonly kind: 'file'; readonly file: string; readonly size: number; readonly mtime: Date; readonly contentType: string }
  | { readonly kind: 'forbidden'; readonly reason: string }
  | { readonly kind: 'not-found' };

const inside = (root: string, file: string): boolean => file.startsWith(root + path.sep);

/**
 * Maps the decoded request path below `/runs/` (e.g. `videos/step-000001/v0.mp4`) to a file of `runDir`. Refuses
 * anything that is not a plain relative path of `videos/…` segments, and anything resolving outside `videos/`; a file
 * of another kind than {@link RUN_FILE_TYPES} is not found.
 */
export async function lookupRunVideo(runDir: string, relative: string): Promise<VideoLookup> {
  if (relative.includes('\0') || relative.includes('\\')) return { kind: 'forbidden', reason: 'bad character' };
  const segments = relative.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return { kind: 'forbidden', reason: 'not a plain relative path' };
  if (segments[0] !== VIDEOS_DIR || segments.length < 2) return { kind: 'forbidden', reason: `outside ${VIDEOS_DIR}/` };
  const dot = relative.lastIndexOf('.');
  const ext = dot < 0 ? '' : relative.slice(dot).toLowerCase();
  const contentType = Object.hasOwn(RUN_FILE_TYPES, ext) ? RUN_FILE_TYPES[ext] : undefined;
  if (contentType === undefined) return { kind: 'not-found' };
  let root: string;
  let file: string;
  try {
    root = await fs.realpath(path.join(runDir, VIDEOS_DIR));
    file = await fs.realpath(path.join(runDir, ...segments));
  } catch {
    return { kind: 'not-found' };
  }
  if (!inside(root, file)) return { kind: 'forbidden', reason: `resolves outside ${VIDEOS_DIR}/` };
  const stat = await fs.stat(file).catch(() => null);
  if (stat === null || !stat.isFile()) return { kind: 'not-found' };
  return { kind: 'file', file, size: stat.size, mtime: stat.mtime, contentType };
}

/** A byte range, both ends inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a `Range` header against a file of `size` bytes: a range to send, `'unsatisfiable'` (416), or null to send
 * the whole file (no header, a malformed one, another unit, or several ranges — all of which a server may ignore).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return null;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Answers `GET|HEAD /runs/<relative>` from `runDir` (see the module header): MP4s and PNG thumbnail strips. */
export async function serveRunVideo(req: IncomingMessage, res: ServerResponse, runDir: string, relative: string, log: Logger): Promise<void> {
  const found = await lookupRunVideo(runDir, relative);
  if (found.kind !== 'file') {
    const status = found.kind === 'forbidden' ? 403 : 404;
    if (found.kind === 'forbidden') log.warn({ path: relative, reason: found.reason }, 'refused a run file request');
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(status === 403 ? 'forbidden\n' : 'not found\n');
    return;
  }
  const common = {
    'content-type': found.contentType,
    'accept-ranges': 'bytes',
    'last-modified': found.mtime.toUTCString(),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  const range = parseRange(req.headers.range, found.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...common, 'content-range': `bytes */${found.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: found.size - 1 };
  const length = Math.max(0, end - start + 1);
  res.writeHead(range === null ? 200 : 206, {
    ...common,
    'content-length': length,
    ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${found.size}` }),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(found.file, { start, end }), res);
  } catch (error) {
    // Browsers abort video requests routinely (seeking, closing the tab): not an error of ours.
    log.debug({ path: relative, err: error instanceof Error ? error.message : String(error) }, 'run file stream ended early');
    res.destroy();
  }
}
