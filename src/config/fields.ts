/** Field builders for config schemas: each failure message reads "expected …" so the loader can append ", got <value>". */
import { z } from 'zod';

/** An integer field with bounds; every failure says `expected integer >= min[ and <= max]`. */
export function int(opts: { min?: number; max?: number } = {}): z.ZodNumber {
  const parts = ['expected integer'];
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.max !== undefined) parts.push(`${opts.min !== undefined ? 'and ' : ''}<= ${opts.max}`);
  const message = parts.join(' ');
  let s = z.number({ error: message }).int({ error: message });
  if (opts.min !== undefined) s = s.min(opts.min, { error: message });
  if (opts.max !== undefined) s = s.max(opts.max, { error: message });
  return s;
}

/** A finite number field (zod 4 rejects NaN and ±Infinity) with bounds (inclusive unless `gt`/`lt`). */
export function num(opts: { min?: number; max?: number; gt?: number; lt?: number } = {}): z.ZodNumber {
  const parts = ['expected number'];
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.gt !== undefined) parts.push(`> ${opts.gt}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  if (opts.lt !== undefined) parts.push(`< ${opts.lt}`);
  const message = parts.length > 2 ? `${parts[0]} ${parts.slice(1).join(' and ')}` : parts.join(' ');
  let s = z.number({ error: message });
  if (opts.min !== undefined) s = s.min(opts.min, { error: message });
  if (opts.max !== undefined) s = s.max(opts.max, { error: message });
  if (opts.gt !== undefined) s = s.gt(opts.gt, { error: message });
  if (opts.lt !== undefined) s = s.lt(opts.lt, { error: message });
  return s;
}

/** One of a fixed set of strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
}

export function str(): z.ZodString {
  return z.string({ error: 'expected string' }).min(1, { error: 'expected non-empty string' });
}

export function bool(): z.ZodBoolean {
  return z.boolean({ error: 'expected true or false' });
}
