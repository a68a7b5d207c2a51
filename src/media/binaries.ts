/** Finds the ffmpeg and ffprobe executables: option → FFMPEG_PATH/FFPROBE_PATH → PATH → bundled npm binaries. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { findOnPath, whyNotExecutable } from '../common/executables.js';
import { VrGrpoError } from '../errors/index.js';

/** Where a binary was found: the explicit option, the environment variable, a `PATH` directory, or the npm package. */
export type BinarySource = 'config' | 'env' | 'path' | 'bundled';

/** The two executables the media adapter runs, as absolute paths, and where each came from. */
export interface FfmpegBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly source: { readonly ffmpeg: BinarySource; readonly ffprobe: BinarySource };
}

export interface ResolveFfmpegBinariesOptions {
  /**
   * Path of the ffmpeg executable (relative paths resolve against the current directory); when set it must exist and
   * be executable — there is no fallback. Default: not set.
   */
  readonly ffmpegPath?: string;
  /** Path of the ffprobe executable; same rules as `ffmpegPath`. Default: not set. */
  readonly ffprobePath?: string;
  /** Environment read for `FFMPEG_PATH`, `FFPROBE_PATH` and `PATH`. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

type BinaryName = 'ffmpeg' | 'ffprobe';

interface BinarySpec {
  readonly name: BinaryName;
  readonly option: 'ffmpegPath' | 'ffprobePath';
  readonly envVar: 'FFMPEG_PATH' | 'FFPROBE_PATH';
  readonly packageName: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe';
}

const SPECS: Readonly<Record<BinaryName, BinarySpec>> = Object.freeze({
  ffmpeg: { name: 'ffmpeg', option: 'ffmpegPath', envVar: 'FFMPEG_PATH', packageName: '@ffmpeg-installer/ffmpeg' },
  ffprobe: { name: 'ffprobe', option: 'ffprobePath', envVar: 'FFPROBE_PATH', packageName: '@ffprobe-installer/ffprobe' },
});

interface Found {
  readonly path: string;
  readonly source: BinarySource;
}

/**
 * The npm-shipped binary. The installer packages are required lazily: they throw at load time on platforms they do
 * not support, which must not break users who configured their own ffmpeg.
 */
function bundled(spec: BinarySpec): { readonly path?: string; readonly problem?: string } {
  let loaded: unknown;
  try {
    const require = createRequire(import.meta.url);
    loaded = require(spec.packageName);
  } catch (error) {
    // @ffmpeg-installer/ffmpeg throws plain strings, not Errors.
    return { problem: `${spec.packageName} failed to load: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof loaded !== 'object' || loaded === null || !('path' in loaded) || typeof loaded.path !== 'string') {
    return { problem: `${spec.packageName} exports no string "path"` };
  }
  const why = whyNotExecutable(loaded.path);
  return why === undefined ? { path: loaded.path } : { problem: `${spec.packageName} binary ${loaded.path} ${why}` };
}

function resolveOne(spec: BinarySpec, explicit: string | undefined, env: NodeJS.ProcessEnv): Found {
  if (explicit !== undefined) {
    const resolved = path.resolve(explicit);
    const why = explicit.length === 0 ? 'is empty' : whyNotExecutable(resolved);
    if (why !== undefined) {
      throw new VrGrpoError('FFMPEG_NOT_FOUND', `configured ${spec.option} "${explicit}" ${why}`, {
        details: { binary: spec.name, source: 'config', path: explicit, reason: why },
      });
    }
    return { path: resolved, source: 'config' };
  }

  const fromEnv = env[spec.envVar];
  if (fromEnv !== undefined && fromEnv.length > 0) {
    const resolved = path.resolve(fromEnv);
    const why = whyNotExecutable(resolved);
    if (why !== undefined) {
      throw new VrGrpoError('FFMPEG_NOT_FOUND', `${spec.envVar}="${fromEnv}" ${why}`, {
        details: { binary: spec.name, source: 'env', path: fromEnv, reason: why },
      });
    }
    return { path: resolved, source: 'env' };
  }

  const onPath = findOnPath([spec.name], env);
  if (onPath !== undefined) return { path: onPath, source: 'path' };

  const pkg = bundled(spec);
  if (pkg.path !== undefined) return { path: pkg.path, source: 'bundled' };

  throw new VrGrpoError(
    'FFMPEG_NOT_FOUND',
    `no ${spec.name} found: ${spec.option} not set, ${spec.envVar} not set, no executable "${spec.name}" on PATH, ` +
      `and ${pkg.problem ?? 'the bundled binary is unavailable'}`,
    { details: { binary: spec.name, reason: 'not found', bundledProblem: pkg.problem } },
  );
}

/**
 * Resolves ffmpeg and ffprobe independently, each in this order: the explicit option, the `FFMPEG_PATH` /
 * `FFPROBE_PATH` environment variable, an executable named `ffmpeg` / `ffprobe` in a `PATH` directory, and the binary
 * shipped by `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe`. An explicit option or environment path that is
 * missing or not executable is an error rather than a silent fallback. Throws `FFMPEG_NOT_FOUND`.
 */
export function resolveFfmpegBinaries(opts: ResolveFfmpegBinariesOptions = {}): FfmpegBinaries {
  const env = opts.env ?? process.env;
  const ffmpeg = resolveOne(SPECS.ffmpeg, opts.ffmpegPath, env);
  const ffprobe = resolveOne(SPECS.ffprobe, opts.ffprobePath, env);
  return Object.freeze({
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    source: Object.freeze({ ffmpeg: ffmpeg.source, ffprobe: ffprobe.source }),
  });
}
