/**
 * Confined reads of the files a checkpoint names (manifests, ONNX models). A checkpoint folder is untrusted input: a
 * manifest may name `../../outside/x.onnx`, a model file may be a symlink to a file elsewhere or to `/dev/zero`, a FIFO
 * that blocks whoever opens it, or simply huge. Every read here, in this order and before any byte is read:
 * 1. the name is relative and stays inside the folder lexically, and its realpath lies inside the folder's realpath —
 *    FORBIDDEN_PATH otherwise (a symlink out of the folder, even to `/dev/zero`, is an escape);
 * 2. `stat` says a regular file (no FIFO, socket, device or directory) of at most `maxBytes` — MODEL_INVALID otherwise;
 * 3. the file is opened with `O_NONBLOCK | O_NOFOLLOW` (opening a FIFO swapped in meanwhile never blocks; a symlink
 *    swapped in fails), and `fstat` of the open descriptor must again be the same regular file within the limit;
 * 4. at most `size` bytes are read (a file that grows while read is refused), asynchronously and within `timeoutMs`
 *    in {@link readCheckpointFile}; the synchronous {@link readCheckpointFileSync} (for CLI tools and training) does
 *    the same checks, so it never blocks on a FIFO either.
 */
import { constants, fstatSync, closeSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { VrGrpoError } from '../errors/index.js';

/** Default size limit of a model file a checkpoint names (256 MiB; `rewardServer.checkpoints.maxModelBytes`). */
export const DEFAULT_MODEL_MAX_BYTES = 256 * 1024 * 1024;
/** Largest size limit that may be configured (1 GiB); also the limit of the synchronous readers' model files. */
export const MAX_MODEL_MAX_BYTES = 1024 * 1024 * 1024;
/** Size limit of a checkpoint's manifest.json (1 MiB). */
export const DEFAULT_MANIFEST_MAX_BYTES = 1024 * 1024;
/** Default time one file read may take (`rewardServer.checkpoints.modelReadTimeoutMs`). */
export const DEFAULT_MODEL_READ_TIMEOUT_MS = 30_000;

/** Limits of one confined read. */
export interface CheckpointFileLimits {
  /** Largest accepted file, bytes. Default {@link DEFAULT_MODEL_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** ms the read may take (async reads only). Default {@link DEFAULT_MODEL_READ_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/** What a confined read returns: the real path and the bytes. */
export interface CheckpointFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The limits every checkpoint reader shares (server settings), compiled and frozen. */
export interface CheckpointReadLimits {
  readonly maxModelBytes: number;
  readonly readTimeoutMs: number;
}

/** Validates and freezes checkpoint read limits; INVALID_ARGUMENT naming the bad field. */
export function checkpointReadLimits(options: { maxModelBytes?: number; readTimeoutMs?: number } = {}): CheckpointReadLimits {
  const maxModelBytes = options.maxModelBytes ?? DEFAULT_MODEL_MAX_BYTES;
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_MODEL_READ_TIMEOUT_MS;
  if (!Number.isInteger(maxModelBytes) || maxModelBytes < 1 || maxModelBytes > MAX_MODEL_MAX_BYTES) {
    throw new VrGrpoError('INVALID_ARGUMENT', `maxModelBytes: expected an integer in 1..${MAX_MODEL_MAX_BYTES} (got ${maxModelBytes})`, {
      details: { field: 'maxModelBytes' },
    });
  }
  if (!Number.isInteger(readTimeoutMs) || readTimeoutMs < 1 || readTimeoutMs > 600_000) {
    throw new VrGrpoError('INVALID_ARGUMENT', `readTimeoutMs: expected an integer in 1..600000 (got ${readTimeoutMs})`, {
      details: { field: 'readTimeoutMs' },
    });
  }
  return Object.freeze({ maxModelBytes, readTimeoutMs });
}

/** Kind of a non-regular file, for messages. */
function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isDirectory()) return 'a directory';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function forbidden(root: string, name: string, what: string, why: string): VrGrpoError {
  return new VrGrpoError('FORBIDDEN_PATH', `checkpoint ${root}: ${what} ${JSON.stringify(name)} ${why}; files must lie inside the checkpoint folder`, {
    details: { dir: root, file: name, reason: 'outside the checkpoint folder' },
  });
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The lexical check: a relative name that stays inside `root`; returns the joined path. FORBIDDEN_PATH otherwise. */
function lexical(root: string, name: string, what: string): string {
  if (name.length === 0 || name.includes('\0') || isAbsolute(name)) throw forbidden(root, name, what, 'is not a relative file name');
  const joined = resolve(root, name);
  if (!inside(resolve(root), joined)) throw forbidden(root, name, what, 'climbs out of the folder');
  return joined;
}

function missing(root: string, name: string, what: string, cause: unknown): VrGrpoError {
  return new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: ${what} ${JSON.stringify(name)} is missing or unreadable`, {
    details: { dir: root, file: name, reason: 'missing' },
    cause,
  });
}

function checkStats(s: Stats, root: string, name: string, what: string, maxBytes: number): void {
  if (!s.isFile()) {
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: ${what} ${JSON.stringify(name)} is ${kindOf(s)}, not a regular file`, {
      details: { dir: root, file: name, reason: 'not a regular file' },
    });
  }
  if (s.size > maxBytes) {
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: ${what} ${JSON.stringify(name)} has ${s.size} bytes, over the limit of ${maxBytes}`, {
      details: { dir: root, file: name, reason: 'too large', bytes: s.size, maxBytes },
    });
  }
}

function changed(root: string, name: string, what: string): VrGrpoError {
  return new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: ${what} ${JSON.stringify(name)} changed while it was read`, {
    details: { dir: root, file: name, reason: 'changed while read' },
  });
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/**
 * The real path of `name` inside the folder `root` (which must exist), checked as in step 1 of this module's contract.
 * FORBIDDEN_PATH for an escape; MODEL_INVALID when it does not exist.
 */
export async function confinedPath(root: string, name: string, what = 'file'): Promise<string> {
  const joined = lexical(root, name, what);
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(joined);
  } catch (e) {
    throw missing(root, name, what, e);
  }
  if (!inside(realRoot, real)) throw forbidden(root, name, what, `resolves to ${real}, outside the folder`);
  return real;
}

/** Synchronous {@link confinedPath}. */
export function confinedPathSync(root: string, name: string, what = 'file'): string {
  const joined = lexical(root, name, what);
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(joined);
  } catch (e) {
    throw missing(root, name, what, e);
  }
  if (!inside(realRoot, real)) throw forbidden(root, name, what, `resolves to ${real}, outside the folder`);
  return real;
}

/** A subfolder `name` of `root` (realpath inside it, a directory): FORBIDDEN_PATH for an escape, MODEL_INVALID otherwise. */
export function confinedDirSync(root: string, name: string, what = 'folder'): string {
  const real = confinedPathSync(root, name, what);
  if (!statSync(real).isDirectory())
    throw new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: ${what} ${JSON.stringify(name)} is not a directory`, {
      details: { dir: root, file: name, reason: 'not a directory' },
    });
  return real;
}

/**
 * Reads `name` inside the folder `root` as this module's contract says, asynchronously and within `timeoutMs`.
 * FORBIDDEN_PATH when it escapes the folder; MODEL_INVALID when it is missing, not a regular file, over `maxBytes`,
 * changes while read, or the read takes longer than the limit.
 */
export async function readCheckpointFile(root: string, name: string, limits: CheckpointFileLimits = {}, what = 'file'): Promise<CheckpointFile> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MODEL_MAX_BYTES;
  const timeoutMs = limits.timeoutMs ?? DEFAULT_MODEL_READ_TIMEOUT_MS;
  const real = await confinedPath(root, name, what);
  let before: Stats;
  try {
    before = await stat(real);
  } catch (e) {
    throw missing(root, name, what, e);
  }
  checkStats(before, root, name, what, maxBytes);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new VrGrpoError('MODEL_INVALID', `checkpoint ${root}: reading ${what} ${JSON.stringify(name)} took longer than ${timeoutMs} ms`, {
          details: { dir: root, file: name, reason: 'read timeout', timeoutMs },
        }),
      );
    }, timeoutMs);
  });
  const work = (async (): Promise<Uint8Array> => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(real, OPEN_FLAGS);
    } catch (e) {
      throw missing(root, name, what, e);
    }
    try {
      const s = await handle.stat();
      checkStats(s, root, name, what, maxBytes);
      if (s.ino !== before.ino || s.dev !== before.dev) throw changed(root, name, what);
      // One byte more than the size: a file that grew while read shows it.
      const buffer = new Uint8Array(s.size + 1);
      let filled = 0;
      // Bounded: each pass reads at least one byte or ends; at most size + 1 passes (in practice one or two).
      for (let pass = 0; pass <= s.size + 1; pass++) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
        if (filled > s.size) throw changed(root, name, what);
      }
      if (filled !== s.size) throw changed(root, name, what);
      return buffer.subarray(0, filled);
    } finally {
      await handle.close().catch(() => undefined);
    }
  })();
  work.catch(() => undefined);
  timeout.catch(() => undefined);
  try {
    return { path: real, bytes: await Promise.race([work, timeout]) };
  } finally {
    clearTimeout(timer);
  }
}

/** Synchronous {@link readCheckpointFile} (no timeout: it never opens anything that can block). */
export function readCheckpointFileSync(root: string, name: string, limits: Pick<CheckpointFileLimits, 'maxBytes'> = {}, what = 'file'): CheckpointFile {
  const maxBytes = limits.maxBytes ?? MAX_MODEL_MAX_BYTES;
  const real = confinedPathSync(root, name, what);
  let before: Stats;
  try {
    before = statSync(real);
  } catch (e) {
    throw missing(root, name, what, e);
  }
  checkStats(before, root, name, what, maxBytes);
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch (e) {
    throw missing(root, name, what, e);
  }
  try {
    const s = fstatSync(fd);
    checkStats(s, root, name, what, maxBytes);
    if (s.ino !== before.ino || s.dev !== before.dev) throw changed(root, name, what);
    const buffer = new Uint8Array(s.size + 1);
    let filled = 0;
    for (let pass = 0; pass <= s.size + 1; pass++) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (n === 0) break;
      filled += n;
      if (filled > s.size) throw changed(root, name, what);
    }
    if (filled !== s.size) throw changed(root, name, what);
    return { path: real, bytes: buffer.subarray(0, filled) };
  } finally {
    closeSync(fd);
  }
}
