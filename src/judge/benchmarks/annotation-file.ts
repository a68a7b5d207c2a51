/**
 * Reads a benchmark's annotation file into plain rows: CSV (RFC 4180: a header row, `"…"` quoting with `""` escapes,
 * commas and line breaks inside quotes, LF or CRLF), a JSON array of objects, or JSON Lines (one object per line).
 * Nothing here knows a benchmark's columns; each benchmark's reader parses the rows with its own schema.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { VrGrpoError } from '../../errors/index.js';

/** Largest annotation file read, in bytes (VideoGen-RewardBench's CSV is ≈ 8 MB). */
export const MAX_ANNOTATION_BYTES = 256 * 1024 * 1024;

export const ANNOTATION_FORMATS = ['csv', 'json', 'jsonl'] as const;
export type AnnotationFormat = (typeof ANNOTATION_FORMATS)[number];

/** One record of the file: its fields as written, and where it starts (1-based line) for error messages. */
export interface AnnotationRow {
  readonly line: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface AnnotationFile {
  readonly path: string;
  readonly format: AnnotationFormat;
  readonly rows: readonly AnnotationRow[];
}

function invalid(path: string, message: string, details: Record<string, unknown> = {}): VrGrpoError {
  return new VrGrpoError('INVALID_ARGUMENT', `${path}: ${message}`, { details: { file: path, ...details } });
}

/** The format from the extension (.csv, .json, .jsonl/.ndjson), else from the first non-blank character. */
export function detectFormat(path: string, text: string): AnnotationFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  const first = text.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return 'jsonl';
  return 'csv';
}

/** Reads and splits `path` into rows. INVALID_ARGUMENT (naming the file and line) when it is missing, too big or malformed. */
export function readAnnotationFile(path: string, format?: AnnotationFormat): AnnotationFile {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw invalid(path, 'not a file');
    size = st.size;
  } catch (error) {
    if (error instanceof VrGrpoError) throw error;
    throw invalid(path, 'the annotation file does not exist or cannot be read', { reason: error instanceof Error ? error.message : String(error) });
  }
  if (size > MAX_ANNOTATION_BYTES) throw invalid(path, `the annotation file is ${size} bytes, more than the ${MAX_ANNOTATION_BYTES} read`);
  // A UTF-8 byte-order mark (spreadsheet exports) would otherwise stick to the first column's name.
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  const fmt = format ?? detectFormat(path, text);
  const rows = fmt === 'csv' ? csvRows(path, text) : fmt === 'json' ? jsonRows(path, text) : jsonlRows(path, text);
  if (rows.length === 0) throw invalid(path, 'the annotation file has no records');
  return { path, format: fmt, rows };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonRows(path: string, text: string): AnnotationRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(parsed)) throw invalid(path, 'a JSON annotation file must hold an array of objects');
  return parsed.map((item, i) => {
    // JSON arrays have no useful line numbers; the record's 1-based position stands in for one.
    if (!isRecord(item)) throw invalid(path, `record ${i + 1}: expected an object`, { line: i + 1 });
    return { line: i + 1, fields: item };
  });
}

function jsonlRows(path: string, text: string): AnnotationRow[] {
  const rows: AnnotationRow[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch (error) {
      throw invalid(path, `line ${i + 1}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { line: i + 1 });
    }
    if (!isRecord(item)) throw invalid(path, `line ${i + 1}: expected a JSON object`, { line: i + 1 });
    rows.push({ line: i + 1, fields: item });
  });
  return rows;
}

/** RFC 4180 records with the 1-based line each starts on; blank lines between records are skipped. */
export function splitCsv(path: string, text: string): { readonly line: number; readonly cells: string[] }[] {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let start = 1;
  let empty = true;
  const endRecord = (): void => {
    if (!(empty && cells.length === 0 && cell === '')) {
      cells.push(cell);
      records.push({ line: start, cells });
    }
    cells = [];
    cell = '';
    empty = true;
    afterQuote = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === ',') {
      cells.push(cell);
      cell = '';
      afterQuote = false;
      empty = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else if (ch === '"') {
      if (cell !== '' || afterQuote) throw invalid(path, `line ${line}: a quote inside an unquoted field`, { line });
      quoted = true;
      empty = false;
    } else {
      if (afterQuote) throw invalid(path, `line ${line}: text after a closing quote`, { line });
      cell += ch;
      empty = false;
    }
  }
  if (quoted) throw invalid(path, `line ${start}: a quoted field is never closed`, { line: start });
  endRecord();
  return records;
}

function csvRows(path: string, text: string): AnnotationRow[] {
  const [header, ...records] = splitCsv(path, text);
  if (header === undefined) return [];
  const names = header.cells.map((c) => c.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw invalid(path, `the header names column ${JSON.stringify(dup)} twice`, { line: header.line });
  return records.map((r) => {
    if (r.cells.length !== names.length) {
      throw invalid(path, `line ${r.line}: ${r.cells.length} fields, the header has ${names.length}`, { line: r.line });
    }
    const fields: Record<string, unknown> = {};
    // pandas writes a nameless index column first ("" header) when saved with index=True; it is kept under "".
    names.forEach((n, i) => {
      fields[n] = r.cells[i];
    });
    return { line: r.line, fields };
  });
}
