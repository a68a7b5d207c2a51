import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/index.js';
import { ALL_ERROR_CODES, ERROR_CODES, VrGrpoError } from '../src/errors/index.js';

describe('error catalogue', () => {
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...docs.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \| (.*) \|$/gm)].map((m) => ({
    code: m[1] ?? '',
    retryable: m[2] === 'yes',
    summary: m[3] ?? '',
  }));

  it('documents exactly the codes of the catalogue in docs/errors.md', () => {
    const documented = [...docs.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ALL_ERROR_CODES].sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("documents each code with the catalogue's retryability and meaning", () => {
    expect(rows.length).toBe(ALL_ERROR_CODES.length);
    for (const row of rows) {
      const entry = (ERROR_CODES as Readonly<Record<string, { readonly retryable: boolean; readonly summary: string }>>)[row.code];
      expect(entry, row.code).toBeDefined();
      expect({ code: row.code, retryable: row.retryable, summary: row.summary }).toEqual({
        code: row.code,
        retryable: entry?.retryable,
        summary: entry?.summary,
      });
    }
  });

  it('carries code, details, cause and retryability', () => {
    const cause = new Error('root');
    const e = new VrGrpoError('VIDEO_DECODE_FAILED', 'bad video', { details: { path: '/x' }, cause });
    expect(e.code).toBe('VIDEO_DECODE_FAILED');
    expect(e.details).toEqual({ path: '/x' });
    expect(e.cause).toBe(cause);
    expect(e.retryable).toBe(ERROR_CODES.VIDEO_DECODE_FAILED.retryable);
    expect(Object.isFrozen(e.details)).toBe(true);
  });
});
