/** Loads YAML config files: parse, validate with zod, fill defaults, resolve paths, freeze. Errors name the field path. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { VrGrpoError } from '../errors/index.js';
import { configSchema, type ParsedConfig } from './schema.js';

export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The resolved, frozen configuration every component receives. Paths are absolute. */
export type Config = DeepReadonly<ParsedConfig> & {
  /** Absolute path of the file it came from, or null for built-in defaults. */
  readonly source: string | null;
};

/** The project root (where package.json lives). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The embedded default config shipped with the project. */
export const DEFAULT_CONFIG_PATH = resolve(PROJECT_ROOT, 'configs', 'default.yaml');

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** One line per issue: `training.groupSize: expected integer >= 2, got "eight"`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${[...issue.path, key].map(String).join('.')}: unknown field`);
      continue;
    }
    const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    lines.push(`${path}: ${issue.message}, got ${show(valueAt(input, issue.path))}`);
  }
  return lines;
}

const PATH_FIELDS: readonly (readonly [string, string])[] = [
  ['generator', 'checkpoint'],
  ['pretrain', 'out'],
  ['judge', 'checkpoint'],
  ['training', 'promptFile'],
  ['rewardServer', 'artifactRoot'],
  ['media', 'ffmpegPath'],
  ['media', 'ffprobePath'],
];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a plain object as a config. Relative paths resolve against `baseDir` (the config file's folder).
 * Throws CONFIG_INVALID listing every problem.
 */
export function resolveConfig(raw: unknown, options: { baseDir: string; source: string | null }): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = formatIssues(result.error.issues, raw);
    const where = options.source ?? 'config';
    throw new VrGrpoError('CONFIG_INVALID', `invalid config ${where}:\n  ${lines.join('\n  ')}`, {
      details: { source: options.source, problems: lines },
    });
  }
  const parsed = result.data as ParsedConfig & Record<string, Record<string, unknown>>;
  for (const [section, field] of PATH_FIELDS) {
    const sec = parsed[section];
    const v = sec?.[field];
    if (sec !== undefined && typeof v === 'string' && !isAbsolute(v) && ((field !== 'ffmpegPath' && field !== 'ffprobePath') || v.includes('/'))) {
      sec[field] = resolve(options.baseDir, v);
    }
  }
  const audit = (parsed.monitoring as { audit?: { auditors?: { checkpoint: string | null }[] } } | undefined)?.audit;
  for (const a of audit?.auditors ?? []) if (a.checkpoint !== null && !isAbsolute(a.checkpoint)) a.checkpoint = resolve(options.baseDir, a.checkpoint);
  const vlm = parsed.judge?.vlm as { promptTemplate?: unknown } | undefined;
  if (vlm !== undefined && typeof vlm.promptTemplate === 'string' && !isAbsolute(vlm.promptTemplate))
    vlm.promptTemplate = resolve(options.baseDir, vlm.promptTemplate);
  return deepFreeze({ ...parsed, source: options.source });
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `over` on top of `base`, merging nested objects (arrays and scalars replace). */
export function mergeRawConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeRawConfig(prev, v) : v;
  }
  return out;
}

/**
 * Loads and validates a YAML config file, with `overrides` (raw config fields, nested objects merge) on top of the
 * file's content. CONFIG_NOT_FOUND when unreadable, CONFIG_INVALID when malformed or invalid.
 */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH, overrides: Record<string, unknown> = {}): Config {
  const file = resolve(path);
  if (!existsSync(file)) throw new VrGrpoError('CONFIG_NOT_FOUND', `config file not found: ${file}`, { details: { path: file } });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VrGrpoError('CONFIG_NOT_FOUND', `cannot read config file ${file}`, { details: { path: file }, cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new VrGrpoError('CONFIG_INVALID', `invalid config ${file}: not valid YAML${where}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, {
      details: { source: file },
      cause: e,
    });
  }
  const merged = Object.keys(overrides).length === 0 ? raw : mergeRawConfig(isPlainObject(raw) ? raw : {}, overrides);
  return resolveConfig(merged, { baseDir: dirname(file), source: file });
}

/** Built-in defaults, as if from an empty file in configs/. */
export function defaultConfig(overrides: unknown = {}): Config {
  return resolveConfig(overrides, { baseDir: resolve(PROJECT_ROOT, 'configs'), source: null });
}
