/**
 * The run directory `runs/<id>/`: the resolved config, `metrics.jsonl` (one line per step), `events.jsonl`,
 * `traces.jsonl` (sampled verdicts with their reasoning), `videos/`, `checkpoints/`. Lines are appended synchronously
 * so a killed process leaves whole lines behind.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stepRecordSchema, type StepRecord } from '../metrics/index.js';

export class RunDir {
  readonly path: string;

  /** `onEvent` sees every event as it is written (the live dashboard and metrics listen here). */
  constructor(
    path: string,
    private readonly onEvent?: (record: Readonly<Record<string, unknown>>) => void,
  ) {
    this.path = resolve(path);
    for (const sub of ['', 'videos', 'checkpoints']) mkdirSync(join(this.path, sub), { recursive: true });
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
    this.append('metrics.jsonl', record);
  }

  /**
   * The step lines of metrics.jsonl, parsed with the step record schema (extra keys kept); a line that does not parse
   * (a hand-edited or foreign file) is skipped rather than read as something it is not.
   */
  readSteps(): StepRecord[] {
    return this.read('metrics.jsonl').flatMap((r) => {
      const parsed = stepRecordSchema.safeParse(r);
      return parsed.success ? [parsed.data] : [];
    });
  }

  append(name: 'metrics.jsonl' | 'events.jsonl' | 'traces.jsonl', record: Record<string, unknown>): void {
    appendFileSync(this.file(name), `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  event(kind: string, detail: Record<string, unknown> = {}): void {
    const record = { time: new Date().toISOString(), event: kind, ...detail };
    appendFileSync(this.file('events.jsonl'), `${JSON.stringify(record)}\n`);
    this.onEvent?.(record);
  }

  /** Parsed lines of a jsonl file (missing file = none). */
  read(name: 'metrics.jsonl' | 'events.jsonl' | 'traces.jsonl'): Record<string, unknown>[] {
    const f = this.file(name);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Drops metric lines of steps after `step` (a resume continues from the checkpoint, not from a later crash point). */
  truncateMetricsAfter(step: number): void {
    const kept = this.read('metrics.jsonl').filter((r) => typeof r.step === 'number' && r.step <= step); // every line as it was, parsed or not
    writeFileSync(this.file('metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
