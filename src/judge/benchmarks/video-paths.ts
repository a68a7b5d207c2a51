/**
 * Benchmark video paths are relative to the data folder and must stay inside it: checked lexically, then again after
 * symlinks are resolved (realpath). An escape is refused with FORBIDDEN_PATH; a file that does not exist is reported
 * as missing, so the pair can fail on its own (VIDEO_DECODE_FAILED) without ending the run.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { VrGrpoError } from '../../errors/index.js';

export type ResolvedVideo = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'missing'; readonly path: string };

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The data folder's real path; INVALID_ARGUMENT when it does not exist. */
export function realDataDir(dir: string): string {
  try {
    return realpathSync(resolve(dir));
  } catch (error) {
    throw new VrGrpoError('INVALID_ARGUMENT', `--data ${dir}: the data folder does not exist`, { details: { dir }, cause: error });
  }
}

/**
 * Resolves `ref` (as written in the annotation file) under `root` (a real path). FORBIDDEN_PATH when it leaves the
 * folder, lexically or through a symlink; `missing` when no such file exists.
 */
export function resolveVideo(root: string, ref: string, where: string): ResolvedVideo {
  const lexical = resolve(root, ref);
  const forbidden = (real: string): VrGrpoError =>
    new VrGrpoError('FORBIDDEN_PATH', `${where}: video ${JSON.stringify(ref)} is outside the data folder ${root}`, { details: { root, ref, resolved: real } });
  if (!inside(root, lexical)) throw forbidden(lexical);
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch {
    return { kind: 'missing', path: lexical };
  }
  if (!inside(root, real)) throw forbidden(real);
  return { kind: 'file', path: real };
}
