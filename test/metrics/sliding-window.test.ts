/** SlidingWindowRatio: a window of the last N judgments; whole batches leave, a partly-overflowing batch is scaled. */
import { describe, expect, it } from 'vitest';
import { SlidingWindowRatio } from '../../src/metrics/index.js';

describe('SlidingWindowRatio', () => {
  it('is 0 while empty, then counts per judgment', () => {
    const w = new SlidingWindowRatio(10, ['a', 'b'] as const);
    expect(w.ratio('a')).toBe(0);
    w.add(1, { a: 1 });
    w.add(1, {});
    expect(w.size).toBe(2);
    expect(w.ratio('a')).toBe(0.5);
    expect(w.ratio('b')).toBe(0);
  });

  it('forgets judgments older than the last N, one at a time', () => {
    const w = new SlidingWindowRatio(3, ['a'] as const);
    for (const hit of [1, 1, 1, 0, 0]) w.add(1, { a: hit });
    expect(w.size).toBe(3);
    expect(w.ratio('a')).toBeCloseTo(1 / 3, 12);
    w.add(1, {});
    expect(w.ratio('a')).toBe(0);
  });

  it('scales the oldest batch pro rata when only part of it falls out', () => {
    const w = new SlidingWindowRatio(10, ['a'] as const);
    w.add(8, { a: 8 });
    w.add(4, {});
    // 2 of the first 8 judgments left: 6 remain with 6 events, plus 4 clean ones.
    expect(w.size).toBe(10);
    expect(w.ratio('a')).toBeCloseTo(0.6, 12);
  });

  it('refuses bad input', () => {
    expect(() => new SlidingWindowRatio(0, ['a'])).toThrow(/capacity/);
    const w = new SlidingWindowRatio(5, ['a'] as const);
    expect(() => w.add(-1, {})).toThrow(/events/);
    expect(() => w.add(1.5, {})).toThrow(/events/);
    expect(() => w.add(0, { a: 1 })).toThrow(/counts without judgments/);
    expect(() => w.add(1, { a: -1 })).toThrow(/counts\.a/);
    w.add(0, {});
    expect(w.size).toBe(0);
  });
});
