/**
 * Deterministic text featurisation for the policy's text encoder: a tokenizer plus signed, hashed n-gram counts
 * (unigrams, bigrams, trigrams, and unigrams tagged with their clause index so "a red circle … and a blue square"
 * keeps which object is which), L2-normalised. The learned projection on top lives in the policy.
 */

/** Lower-case word tokens; punctuation separates. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** 32-bit FNV-1a. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Hashed features of one text, length `dim`. */
export function textFeatures(text: string, dim: number): Float32Array {
  const out = new Float32Array(dim);
  const tokens = tokenize(text);
  const add = (feature: string): void => {
    const h = fnv1a(feature);
    const bucket = h % dim;
    out[bucket] = (out[bucket] ?? 0) + ((h >>> 31) & 1 ? -1 : 1);
  };
  let clause = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (t === 'and') clause += 1;
    if (t === 'on' && tokens[i + 2] !== undefined && tokens.slice(i + 1).includes('background')) clause = 9;
    add(`1:${t}`);
    add(`c${clause}:${t}`);
    const t2 = tokens[i + 1];
    if (t2 !== undefined) add(`2:${t} ${t2}`);
    const t3 = tokens[i + 2];
    if (t2 !== undefined && t3 !== undefined) add(`3:${t} ${t2} ${t3}`);
  }
  let norm = 0;
  for (const v of out) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dim; i++) out[i] = (out[i] ?? 0) / norm;
  return out;
}
