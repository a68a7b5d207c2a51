/**
 * The run directory `runs/<id>/`: the resolved config, `metrics.jsonl` (one line per step), `events.jsonl`,
 * `traces.jsonl` (sampled verdicts with their reasoning), `videos/`, `checkpoints/`. Lines are appended synchronously
 * so a killed process leaves whole lines behind.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CHECKPOINT_POLICY, CHECKPOINT_STATE, LATEST_CHECKPOINT, RUN_LAYOUT, stepFolder, type RunLog } from '../common/run-layout.js';
import { stepRecordSchema, type StepRecord } from '../metrics/index.js';

export class RunDir {
  readonly path: string;

  private constructor(
    path: string,
    private readonly onEvent?: (record: Readonly<Record<string, unknown>>) => void,
  ) {
    this.path = path;
  }

  /** Opens (creating it and its folders when missing) the run folder at `path`. `onEvent` sees every event as it is written. */
  static async open(path: string, onEvent?: (record: Readonly<Record<string, unknown>>) => void): Promise<RunDir> {
    const root = resolve(path);
    for (const sub of ['', RUN_LAYOUT.videos, RUN_LAYOUT.checkpoints]) await mkdir(join(root, sub), { recursive: true });
    return new RunDir(root, onEvent);
  }

  /** A run folder that is only read (no folder is created; missing files read as empty). */
  static reader(path: string): RunDir {
    return new RunDir(resolve(path));
  }

  /**
   * Writes a checkpoint: `save` fills the step's folder (the policy goes to `policy/`), then the coordinator state,
   * then `latest.json` (last: a checkpoint counts once it points at it). Returns the folder's name.
   */
  writeCheckpoint(step: number, state: unknown, savePolicy?: (dir: string) => void): string {
    const dir = stepFolder(step);
    savePolicy?.(join(this.path, RUN_LAYOUT.checkpoints, dir, CHECKPOINT_POLICY));
    this.writeJson(join(RUN_LAYOUT.checkpoints, dir, CHECKPOINT_STATE), state);
    this.writeJson(LATEST_CHECKPOINT, { step, dir });
    return dir;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  writeJson(name: string, value: unknown): void {
    mkdirSync(dirname(this.file(name)), { recursive: true });
    writeFileSync(this.file(name), `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Appends a step's line to metrics.jsonl (with the time it was written). */
  appendStep(record: StepRecord): void {
    this.append(RUN_LAYOUT.metrics, record);
  }

  /**
   * The step lines of metrics.jsonl, parsed with the step record schema (extra keys kept); a line that does not parse
   * (a hand-edited or foreign file) is skipped rather than read as something it is not.
   */
  readSteps(): StepRecord[] {
    return this.read(RUN_LAYOUT.metrics).flatMap((r) => {
      const parsed = stepRecordSchema.safeParse(r);
      return parsed.success ? [parsed.data] : [];
    });
  }

  append(name: RunLog, record: Record<string, unknown>): void {
    appendFileSync(this.file(name), `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  event(kind: string, detail: Record<string, unknown> = {}): void {
    const record = { time: new Date().toISOString(), event: kind, ...detail };
    appendFileSync(this.file(RUN_LAYOUT.events), `${JSON.stringify(record)}\n`);
    this.onEvent?.(record);
  }

  /** Parsed lines of a jsonl file (missing file = none). */
  read(name: RunLog): Record<string, unknown>[] {
    const f = this.file(name);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Drops metric lines of steps after `step` (a resume continues from the checkpoint, not from a later crash point). */
  truncateMetricsAfter(step: number): void {
    const kept = this.read(RUN_LAYOUT.metrics).filter((r) => typeof r.step === 'number' && r.step <= step); // every line as it was, parsed or not
    writeFileSync(this.file(RUN_LAYOUT.metrics), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/** Folder of a run's latest checkpoint (`checkpoints/latest.json` points at it), or null before the first one. */
export function latestCheckpointDir(runDir: string): string | null {
  const f = join(runDir, LATEST_CHECKPOINT);
  if (!existsSync(f)) return null;
  const latest = JSON.parse(readFileSync(f, 'utf8')) as { dir: string };
  return join(runDir, RUN_LAYOUT.checkpoints, latest.dir);
}

/** The coordinator state file and the policy folder of a checkpoint folder. */
export function checkpointFiles(dir: string): { readonly state: string; readonly policy: string } {
  return { state: join(dir, CHECKPOINT_STATE), policy: join(dir, CHECKPOINT_POLICY) };
}
