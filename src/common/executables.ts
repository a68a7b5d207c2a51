/** Finding executables on this machine: why a file cannot be run, and the first of some names in a `PATH` directory. */
import fs from 'node:fs';
import path from 'node:path';

/** Why `file` cannot be run, or `undefined` when it is an executable regular file. */
export function whyNotExecutable(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'does not exist';
  }
  if (!stat.isFile()) return 'is not a regular file';
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return 'is not executable';
  }
  return undefined;
}

/**
 * The first executable named one of `names` (tried in order, each over the whole `PATH`) in a directory of `env.PATH`,
 * as an absolute path; `undefined` when there is none. Empty `PATH` entries are skipped: they would mean "the current
 * directory", and a stray binary there must not be picked.
 */
export function findOnPath(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const pathVar = env.PATH ?? env.Path ?? '';
  const dirs = pathVar.split(path.delimiter).filter((dir) => dir.length > 0);
  for (const name of names) {
    const fileName = process.platform === 'win32' ? `${name}.exe` : name;
    for (const dir of dirs) {
      const candidate = path.resolve(dir, fileName);
      if (whyNotExecutable(candidate) === undefined) return candidate;
    }
  }
  return undefined;
}
