/**
 * Watch mode: polls a folder of checkpoints and hands every new *complete* one to the checkpoint manager.
 *
 * The contract (docs/rm-swap.md): a checkpoint is a direct subfolder `DIR/<name>/` with `manifest.json` and the model
 * file the manifest names. Write it elsewhere — e.g. `DIR/.<name>.tmp/`, which is ignored like every name starting
 * with `.` or ending in `.tmp` / `.partial` — and `rename` it into place. A candidate is complete when its manifest is
 * whole JSON and its model file has (at least) the size the manifest records; it is loaded once it has been seen
 * complete and unchanged (same sizes and mtimes) on two consecutive scans. So a partially written file is ignored
 * until it is complete, whatever the writer does. Folders already complete when watching starts are the baseline and
 * are not loaded; a folder changed in place (new mtime or size) is a new candidate. Each candidate is loaded once:
 * swapped or rejected, it is not retried until it changes; one that finds a load in progress is retried next scan.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { VrGrpoError } from '../errors/index.js';
import { DEFAULT_MANIFEST_MAX_BYTES, readCheckpointFile } from '../onnx/index.js';

/** Default poll interval, in milliseconds. */
export const DEFAULT_WATCH_INTERVAL_MS = 1_000;
const MANIFEST = 'manifest.json';
const DEFAULT_MODEL_FILE = 'model.onnx';

/** What loading a candidate did: switched, refused (counted by the manager), or found another load running. */
export type WatchLoadOutcome = 'swapped' | 'rejected' | 'busy';

export interface CheckpointWatcherOptions {
  /** The folder to watch; must exist. */
  readonly dir: string;
  /** Poll interval, ms; 0 = no timer (call `scan()` yourself). Default 1000. */
  readonly intervalMs?: number;
  /** Loads a complete candidate folder (absolute path). */
  readonly load: (path: string) => Promise<WatchLoadOutcome>;
  readonly log: Logger;
}

/** One folder as last seen. */
interface Candidate {
  readonly fingerprint: string;
  readonly complete: boolean;
  /** baseline: there at start; pending: waiting to be complete/unchanged or for a busy manager; done: loaded or rejected. */
  readonly status: 'baseline' | 'pending' | 'swapped' | 'rejected';
  /** Why it is not complete yet (pending only). */
  readonly waitingFor: string | null;
}

/** What one scan did. */
export interface ScanReport {
  readonly swapped: readonly string[];
  readonly rejected: readonly string[];
  /** Candidates seen but not loaded yet (incomplete, not yet unchanged over two scans, or waiting for a busy manager). */
  readonly pending: readonly string[];
}

interface Observation {
  readonly complete: boolean;
  readonly fingerprint: string;
  readonly waitingFor: string | null;
}

function ignored(name: string): boolean {
  return name.startsWith('.') || name.endsWith('.tmp') || name.endsWith('.partial');
}

async function statOrNull(path: string): Promise<{ size: number; mtimeMs: number; isFile: boolean } | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, isFile: s.isFile() };
  } catch {
    return null;
  }
}

/** Whether a candidate folder is complete, and a fingerprint of what was seen (sizes and mtimes). */
async function observe(folder: string): Promise<Observation> {
  const manifestStat = await statOrNull(join(folder, MANIFEST));
  if (manifestStat === null || !manifestStat.isFile) return { complete: false, fingerprint: 'no-manifest', waitingFor: `${MANIFEST} is not there yet` };
  const fingerprintOf = (model: { size: number; mtimeMs: number } | null): string =>
    `${manifestStat.size}:${manifestStat.mtimeMs}|${model === null ? '-' : `${model.size}:${model.mtimeMs}`}`;
  let manifest: unknown;
  try {
    // Confined, regular file, 1 MiB at most, never blocking (a manifest swapped for a FIFO after the stat above).
    const { bytes } = await readCheckpointFile(folder, MANIFEST, { maxBytes: DEFAULT_MANIFEST_MAX_BYTES, timeoutMs: 5_000 }, 'manifest');
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { complete: false, fingerprint: fingerprintOf(null), waitingFor: `${MANIFEST} is not complete JSON yet` };
  }
  const model = manifest !== null && typeof manifest === 'object' && 'model' in manifest ? manifest.model : undefined;
  const file = model !== null && typeof model === 'object' && 'file' in model && typeof model.file === 'string' ? model.file : DEFAULT_MODEL_FILE;
  const bytes = model !== null && typeof model === 'object' && 'bytes' in model && typeof model.bytes === 'number' ? model.bytes : null;
  const modelStat = await statOrNull(join(folder, file));
  if (modelStat === null) return { complete: false, fingerprint: fingerprintOf(null), waitingFor: `the model file ${file} is not there yet` };
  if (bytes !== null && modelStat.size < bytes) {
    return { complete: false, fingerprint: fingerprintOf(modelStat), waitingFor: `the model file ${file} has ${modelStat.size} of ${bytes} bytes` };
  }
  // Complete as far as watching can tell; a malformed manifest or a wrong model is the loader's to reject.
  return { complete: true, fingerprint: fingerprintOf(modelStat), waitingFor: null };
}

export class CheckpointWatcher {
  readonly #options: Required<Omit<CheckpointWatcherOptions, 'log'>>;
  readonly #log: Logger;
  readonly #seen = new Map<string, Candidate>();
  #scanning: Promise<ScanReport> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #scans = 0;

  private constructor(options: CheckpointWatcherOptions) {
    this.#options = { dir: options.dir, intervalMs: options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS, load: options.load };
    this.#log = options.log.child({ component: 'checkpoint-watcher', dir: options.dir });
  }

  /** Checks the folder, takes the baseline scan, and starts polling. INVALID_ARGUMENT when `dir` is not a directory. */
  static async start(options: CheckpointWatcherOptions): Promise<CheckpointWatcher> {
    const intervalMs = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    if (!Number.isInteger(intervalMs) || intervalMs < 0) {
      throw new VrGrpoError('INVALID_ARGUMENT', `watch intervalMs: expected a non-negative integer (got ${String(intervalMs)})`, {
        details: { field: 'intervalMs' },
      });
    }
    const dirStat = await statOrNull(options.dir);
    if (dirStat === null || dirStat.isFile) {
      throw new VrGrpoError('INVALID_ARGUMENT', `watch folder ${options.dir} is not a directory`, { details: { field: 'watch.dir', dir: options.dir } });
    }
    const watcher = new CheckpointWatcher(options);
    await watcher.scan();
    watcher.#schedule();
    watcher.#log.info({ baseline: [...watcher.#seen].filter(([, c]) => c.status === 'baseline').map(([n]) => n), intervalMs }, 'watching for checkpoints');
    return watcher;
  }

  get dir(): string {
    return this.#options.dir;
  }

  /** Scans done so far (the baseline included). */
  get scans(): number {
    return this.#scans;
  }

  /** Names of candidates seen and not loaded yet. */
  pending(): string[] {
    return [...this.#seen].filter(([, c]) => c.status === 'pending').map(([name]) => name);
  }

  /** One scan now (a scan already running is shared, not repeated). Never rejects: folder errors are logged. */
  scan(): Promise<ScanReport> {
    this.#scanning ??= this.#scanOnce().finally(() => {
      this.#scanning = null;
    });
    return this.#scanning;
  }

  /** Stops polling and waits for a running scan (and the load it started). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#scanning;
  }

  #schedule(): void {
    if (this.#closed || this.#options.intervalMs === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.scan().then(() => this.#schedule());
    }, this.#options.intervalMs);
  }

  async #scanOnce(): Promise<ScanReport> {
    const baseline = this.#scans === 0;
    this.#scans += 1;
    const swapped: string[] = [];
    const rejected: string[] = [];
    let names: string[];
    try {
      const entries = await readdir(this.#options.dir, { withFileTypes: true });
      names = entries
        .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !ignored(e.name))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot list the watch folder');
      return { swapped, rejected, pending: this.pending() };
    }
    for (const name of [...this.#seen.keys()]) if (!names.includes(name)) this.#seen.delete(name);
    for (const name of names) {
      if (this.#closed) break;
      const folder = join(this.#options.dir, name);
      const seen = await observe(folder);
      const before = this.#seen.get(name);
      if (baseline) {
        this.#seen.set(name, {
          fingerprint: seen.fingerprint,
          complete: seen.complete,
          status: seen.complete ? 'baseline' : 'pending',
          waitingFor: seen.waitingFor,
        });
        continue;
      }
      if (before !== undefined && before.status !== 'pending' && before.fingerprint === seen.fingerprint) continue;
      const settled = seen.complete && before?.status === 'pending' && before.complete && before.fingerprint === seen.fingerprint;
      if (!settled) {
        if (before?.waitingFor !== seen.waitingFor && seen.waitingFor !== null)
          this.#log.info({ candidate: name, waitingFor: seen.waitingFor }, 'checkpoint not complete yet; ignored');
        this.#seen.set(name, { fingerprint: seen.fingerprint, complete: seen.complete, status: 'pending', waitingFor: seen.waitingFor });
        continue;
      }
      this.#log.info({ candidate: name }, 'complete checkpoint appeared; loading');
      const outcome = await this.#options.load(folder);
      if (outcome === 'busy') continue; // stays pending, retried next scan
      this.#seen.set(name, { fingerprint: seen.fingerprint, complete: true, status: outcome, waitingFor: null });
      (outcome === 'swapped' ? swapped : rejected).push(name);
    }
    return { swapped, rejected, pending: this.pending() };
  }
}
