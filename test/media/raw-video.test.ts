/** Tests the RawVideo helpers (frame views, validation) and the stderr tail trimming used in media errors. */
import { describe, expect, it } from 'vitest';
import { assertRawVideo, frameAt, type RawVideo } from '../../src/media/index.js';
import { shortTail, stderrTail, withTail } from '../../src/media/stderr-tail.js';
import { thrown } from './fixtures.js';

function video(overrides: Partial<RawVideo> = {}): RawVideo {
  const width = overrides.width ?? 4;
  const height = overrides.height ?? 2;
  const frameCount = overrides.frameCount ?? 3;
  const data = overrides.data ?? Uint8Array.from({ length: frameCount * width * height * 3 }, (_, i) => i % 251);
  return { width, height, frameCount, fps: overrides.fps ?? 8, data };
}

describe('frameAt', () => {
  it('returns a view of frame i without copying', () => {
    const v = video();
    const frame = frameAt(v, 1);
    expect(frame.length).toBe(24);
    expect(frame[0]).toBe(v.data[24]);
    frame[0] = 250;
    expect(v.data[24]).toBe(250);
    expect(frame.buffer).toBe(v.data.buffer);
  });

  it('rejects indices outside 0..frameCount-1 and non-integers', () => {
    for (const index of [-1, 3, 1.5, Number.NaN]) {
      expect(thrown(() => frameAt(video(), index)).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('assertRawVideo', () => {
  it('accepts a well-formed video, including zero frames', () => {
    expect(() => {
      assertRawVideo(video());
      assertRawVideo(video({ frameCount: 0, data: new Uint8Array(0) }));
    }).not.toThrow();
  });

  it.each([
    ['data size mismatch', { data: new Uint8Array(10) }, 'data'],
    ['zero width', { width: 0, data: new Uint8Array(0) }, 'width'],
    ['fractional height', { height: 1.5 }, 'height'],
    ['negative frame count', { frameCount: -1, data: new Uint8Array(0) }, 'frameCount'],
    ['NaN fps', { fps: Number.NaN }, 'fps'],
    ['zero fps', { fps: 0 }, 'fps'],
  ] as const)('rejects %s with INVALID_ARGUMENT', (_name, overrides, field) => {
    const error = thrown(() => assertRawVideo({ ...video(), ...overrides }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.details.field).toBe(field);
  });

  it('rejects non-objects and non-Uint8Array data', () => {
    expect(thrown(() => assertRawVideo(null)).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => assertRawVideo({ ...video(), data: [1, 2, 3] })).details.field).toBe('data');
  });
});

describe('stderr tail', () => {
  it('keeps the last 20 non-empty lines and at most 2000 characters', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    const tail = stderrTail(`${lines.join('\n')}\n\n`);
    expect(tail.split('\n')).toEqual(lines.slice(30));
    expect(stderrTail('x'.repeat(5000)).length).toBe(2000);
    expect(stderrTail(null)).toBe('');
  });

  it('summarises the tail on one line for messages', () => {
    expect(shortTail('a\nb\nc\nd')).toBe('b | c | d');
    expect(withTail('decode failed', 'moov atom not found')).toBe('decode failed: moov atom not found');
    expect(withTail('decode failed', '')).toBe('decode failed');
  });
});
