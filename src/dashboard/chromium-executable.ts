/**
 * Finds the Chromium that the dashboard's screenshot and browser test drive: the explicit option → `CHROMIUM_PATH` →
 * a system browser on `PATH` (Debian's `chromium`, `chromium-browser`, Google Chrome) → the headless Chromium that ships
 * inside the `@sparticuz/chromium` npm package. The npm copy is a brotli-compressed binary; it is unpacked once per
 * package version into a cache folder (atomically: a half-written binary is never launched) and reused after that.
 * Nothing is downloaded, at install or at run time.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, createWriteStream, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { findOnPath, whyNotExecutable } from '../common/executables.js';
import { VrGrpoError } from '../errors/index.js';

/** Where the executable came from: the explicit option, `CHROMIUM_PATH`, a `PATH` directory, or the npm package. */
export type ChromiumSource = 'option' | 'env' | 'path' | 'bundled';

export interface ChromiumExecutable {
  readonly path: string;
  readonly source: ChromiumSource;
}

export interface ResolveChromiumOptions {
  /** The browser to run; when set it must exist and be executable (no fallback). Default: not set. */
  readonly executablePath?: string;
  /** Environment read for `CHROMIUM_PATH`, `VRGRPO_CHROMIUM_CACHE` and `PATH`. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Names of a system browser looked up on `PATH`, in this order. */
export const SYSTEM_CHROMIUM_NAMES: readonly string[] = Object.freeze(['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']);

/** The npm package whose `bin/chromium.br` is the fallback browser. */
export const BUNDLED_CHROMIUM_PACKAGE = '@sparticuz/chromium';

function checked(file: string, source: ChromiumSource, label: string): ChromiumExecutable {
  const resolved = path.resolve(file);
  const why = file.length === 0 ? 'is empty' : whyNotExecutable(resolved);
  if (why !== undefined) {
    throw new VrGrpoError('BROWSER_NOT_FOUND', `${label} ${JSON.stringify(file)} ${why}`, { details: { source, path: file, reason: why } });
  }
  return { path: resolved, source };
}

/** The package folder and version of the npm Chromium, or why it is not usable. */
function bundledPackage(): { readonly dir: string; readonly version: string } | { readonly problem: string } {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(BUNDLED_CHROMIUM_PACKAGE);
  } catch (error) {
    return { problem: `${BUNDLED_CHROMIUM_PACKAGE} is not installed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
  // The package exports no package.json: walk up from its entry point (build/…/index.*) to the folder that has it.
  let dir = path.dirname(entry);
  for (let depth = 0; depth < 6; depth++, dir = path.dirname(dir)) {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (typeof manifest !== 'object' || manifest === null || !('name' in manifest) || manifest.name !== BUNDLED_CHROMIUM_PACKAGE) continue;
    const version = 'version' in manifest ? manifest.version : undefined;
    if (typeof version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(version))
      return { problem: `${BUNDLED_CHROMIUM_PACKAGE} has no usable version in ${dir}/package.json` };
    return { dir, version };
  }
  return { problem: `${BUNDLED_CHROMIUM_PACKAGE}: no package.json above its entry point ${entry}` };
}

/** Folder the npm Chromium is unpacked into: `VRGRPO_CHROMIUM_CACHE`, else `<tmpdir>/vr-grpo-chromium`. */
export function chromiumCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.VRGRPO_CHROMIUM_CACHE;
  return fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : path.join(tmpdir(), 'vr-grpo-chromium');
}

/**
 * Unpacks `<package>/bin/chromium.br` to `<cache>/<version>/chromium` unless it is there already. The binary is written
 * under a unique temporary name and renamed into place, so concurrent callers never see a partial file (two callers
 * racing both unpack; the last rename wins with an identical file).
 */
async function unpackBundled(dir: string, version: string, env: NodeJS.ProcessEnv): Promise<string> {
  const folder = path.join(chromiumCacheDir(env), version);
  const target = path.join(folder, 'chromium');
  if (whyNotExecutable(target) === undefined) return target;
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const partial = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await pipeline(createReadStream(path.join(dir, 'bin', 'chromium.br')), createBrotliDecompress(), createWriteStream(partial, { mode: 0o700 }));
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new VrGrpoError(
      'BROWSER_NOT_FOUND',
      `could not unpack the Chromium of ${BUNDLED_CHROMIUM_PACKAGE}@${version} into ${folder}: ${error instanceof Error ? error.message : String(error)}`,
      {
        details: { source: 'bundled', path: target, reason: 'unpack failed' },
        cause: error,
      },
    );
  }
  return target;
}

/** Resolves the Chromium executable (see the module header for the order). Rejects with `BROWSER_NOT_FOUND`. */
export async function resolveChromium(opts: ResolveChromiumOptions = {}): Promise<ChromiumExecutable> {
  const env = opts.env ?? process.env;
  if (opts.executablePath !== undefined) return checked(opts.executablePath, 'option', 'configured Chromium');
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return checked(fromEnv, 'env', 'CHROMIUM_PATH');
  const onPath = findOnPath(SYSTEM_CHROMIUM_NAMES, env);
  if (onPath !== undefined) return { path: onPath, source: 'path' };
  const pkg = bundledPackage();
  if ('problem' in pkg) {
    throw new VrGrpoError('BROWSER_NOT_FOUND', `no Chromium: CHROMIUM_PATH not set, none of ${SYSTEM_CHROMIUM_NAMES.join(', ')} on PATH, and ${pkg.problem}`, {
      details: { reason: 'not found' },
    });
  }
  return { path: await unpackBundled(pkg.dir, pkg.version, env), source: 'bundled' };
}
