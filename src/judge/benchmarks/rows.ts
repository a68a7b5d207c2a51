/** Parsing annotation rows at the edge: a zod schema per benchmark, errors that name the file, line and column. */
import type { z } from 'zod';
import { VrGrpoError } from '../../errors/index.js';
import type { AnnotationFile } from './annotation-file.js';

/** Problems listed in one error before the rest are only counted. */
const MAX_LISTED_PROBLEMS = 5;

/** `, got "C"` (cut to 60 characters), or nothing when the field is absent. */
function got(v: unknown): string {
  if (v === undefined) return '';
  const text = JSON.stringify(v);
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/**
 * Parses every row of `file` with `schema` and maps it with `toPair`. INVALID_ARGUMENT listing the first problems
 * (`file: line 3: Overall: expected one of "A", "B", "same", got "C"`) when any row does not parse.
 */
export function parseRows<S extends z.ZodType, P>(file: AnnotationFile, schema: S, toPair: (row: z.output<S>, line: number) => P): P[] {
  const problems: string[] = [];
  const pairs: P[] = [];
  for (const row of file.rows) {
    const result = schema.safeParse(row.fields);
    if (result.success) {
      pairs.push(toPair(result.data, row.line));
      continue;
    }
    for (const issue of result.error.issues) {
      const column = issue.path.map(String).join('.');
      const value = issue.path.length === 1 ? row.fields[String(issue.path[0])] : undefined;
      problems.push(`line ${row.line}: ${column === '' ? '(record)' : column}: ${issue.message}${got(value)}`);
    }
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
    const more = problems.length > listed.length ? ` (and ${problems.length - listed.length} more)` : '';
    throw new VrGrpoError('INVALID_ARGUMENT', `${file.path}: ${listed.join('; ')}${more}`, { details: { file: file.path, problems } });
  }
  return pairs;
}
