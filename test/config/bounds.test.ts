/**
 * Upper bounds of the config (issue 19, finding 5): every numeric field of the schema has a finite maximum, except
 * the few that are not sizes (seeds, weights, thresholds, learning-rate-like scales: listed below), docs/config.md
 * documents each maximum, a value beyond it fails with CONFIG_INVALID naming the field path, and a real CLI process
 * refuses the finding's two configs (`training.evalPrompts: 100000000`, `rewardServer.maxPayloadBytes: 1e15`) at
 * start-up, before any work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, resolveConfig } from '../../src/config/index.js';
import { configSchema } from '../../src/config/schema.js';
import { isVrGrpoError } from '../../src/errors/index.js';

/** Integer fields that are not size-like (no count, size, byte, time or step): seeds take any value. */
const NOT_SIZE_LIKE: readonly RegExp[] = [/(^|\.)seed$/, /^world\.splitSeed$/];

interface NumericField {
  readonly path: string;
  readonly max: number | null;
  readonly int: boolean;
}

interface ZodLike {
  readonly _zod: { readonly def: { readonly type: string; readonly [key: string]: unknown } };
  readonly maxValue?: number | null;
  readonly isInt?: boolean;
}

/** Every numeric leaf of a zod schema with its maximum (arrays as `path[]`). */
function numericFields(schema: ZodLike, path = ''): NumericField[] {
  const def = schema._zod.def;
  const child = (key: string): ZodLike => def[key] as ZodLike;
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, ZodLike>).flatMap(([key, value]) => numericFields(value, path === '' ? key : `${path}.${key}`));
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'optional':
      return numericFields(child('innerType'), path);
    case 'array':
      return numericFields(child('element'), `${path}[]`);
    case 'union':
      return (def.options as ZodLike[]).flatMap((option) => numericFields(option, path));
    case 'number': {
      const max = schema.maxValue ?? null;
      return [{ path, max: max === null || !Number.isFinite(max) || max >= Number.MAX_SAFE_INTEGER ? null : max, int: schema.isInt === true }];
    }
    default:
      return [];
  }
}

/** `| \`path\` | maximum |` rows of docs/config.md's "Upper bounds" section. */
function documentedMaxima(): Map<string, number> {
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'config.md'), 'utf8');
  const section = docs.split(/^## Upper bounds$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = new Map<string, number>();
  for (const m of section.matchAll(/^\| `([\w.[\]]+)` \| ([\d_]+) \|/gm)) rows.set(m[1] ?? '', Number((m[2] ?? '').replace(/_/g, '')));
  return rows;
}

/** A raw config with `value` at the dotted `path` (array paths not supported). */
function configWith(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let at = root;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) at[key] = value;
    else {
      const next: Record<string, unknown> = {};
      at[key] = next;
      at = next;
    }
  });
  return root;
}

const dir = mkdtempSync(join(tmpdir(), 'vr-grpo-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config upper bounds', () => {
  const fields = numericFields(configSchema as unknown as ZodLike);
  // Sizes are integers (counts, bytes, pixels, steps, ms) — plus the durations kept in seconds.
  const sizeLike = fields.filter((f) => (f.int || /Seconds$/.test(f.path)) && !NOT_SIZE_LIKE.some((re) => re.test(f.path)));
  if (process.env.PRINT_BOUNDS === '1') console.log(sizeLike.map((f) => `| \`${f.path}\` | ${String(f.max)} |`).join('\n'));

  it('finds the numeric fields (the walker sees the schema)', () => {
    expect(fields.length).toBeGreaterThan(100);
    expect(fields.map((f) => f.path)).toContain('training.evalPrompts');
    expect(fields.map((f) => f.path)).toContain('rewardServer.maxPayloadBytes');
  });

  it('gives every size-like field a finite maximum', () => {
    expect(sizeLike.filter((f) => f.max === null).map((f) => f.path)).toEqual([]);
  });

  it('documents every maximum of a size-like field in docs/config.md, and no other', () => {
    const documented = documentedMaxima();
    const expected = new Map(sizeLike.filter((f) => !f.path.includes('[]')).map((f) => [f.path, f.max]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(expected));
  });

  it('refuses a value one past each maximum with CONFIG_INVALID naming the field; the maximum itself is accepted', () => {
    const bounded = sizeLike.filter((f) => f.max !== null && !f.path.includes('[]'));
    for (const field of bounded) {
      const max = field.max ?? 0;
      const beyond = field.int ? max + 1 : max * 2 + 1;
      let caught: unknown = null;
      try {
        resolveConfig(configWith(field.path, beyond), { baseDir: dir, source: 'bounds.yaml' });
      } catch (error) {
        caught = error;
      }
      expect(isVrGrpoError(caught, 'CONFIG_INVALID'), field.path).toBe(true);
      const problems = isVrGrpoError(caught) ? (caught.details.problems as string[]) : [];
      expect(
        problems.some((line) => line.startsWith(`${field.path}: `) && line.includes(`<= ${max}`)),
        `${field.path}: ${problems.join(' / ')}`,
      ).toBe(true);
    }
  });

  it("refuses the finding's configs: training.evalPrompts 1e8 and rewardServer.maxPayloadBytes 1e15", () => {
    for (const [path, value] of [
      ['training.evalPrompts', 100_000_000],
      ['pretrain.evalPrompts', 100_000_000],
      ['rewardServer.maxPayloadBytes', 1e15],
      ['rewardServer.maxSendBufferBytes', 1e15],
      ['rewardServer.maxConnections', 1e9],
    ] as const) {
      expect(() => resolveConfig(configWith(path, value), { baseDir: dir, source: 'x.yaml' }), path).toThrow(
        new RegExp(`${path.replace(/\./g, '\\.')}: expected integer`),
      );
    }
  });

  it('a real `serve-reward` process refuses rewardServer.maxPayloadBytes: 1e15 at start-up (exit 2, the field named)', async () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, 'rewardServer:\n  maxPayloadBytes: 1000000000000000\ntraining:\n  evalPrompts: 100000000\n');
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-reward', '--config', file, '--port', '0'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serve-reward did not exit within 30 s: ${output.slice(-500)}`));
      }, 30_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code, output).toBe(2);
    expect(output).toContain('rewardServer.maxPayloadBytes');
    expect(output).toContain('training.evalPrompts');
    expect(output).not.toMatch(/listening/);
  }, 40_000);
});
