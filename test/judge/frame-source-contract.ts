/**
 * The `FrameSource` contract suite, run against every implementation (inline raw frames, a lazily decoded file at its
 * native size or resized, the reward server's tracking wrapper around either): a label, a frame count and a frame size
 * that are positive and stable; frames returned one per index asked, in the order asked (duplicates too), at the
 * declared size, each the frame at its index; identical bytes on repeated reads; out-of-range and non-integer
 * indices rejected with VIDEO_DECODE_FAILED every time, without spoiling the source; an unreadable video rejected
 * with VIDEO_DECODE_FAILED on every call; concurrent first calls on a fresh source agreeing with each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError, type VrGrpoError } from '../../src/errors/index.js';
import type { FrameSource } from '../../src/judge/frame-source.js';
import { frameAt, type RawVideo } from '../../src/media/index.js';

/** What one implementation is tested with. */
export interface FrameSourceFixture {
  /** A fresh source (nothing read yet) over a video whose frames, at the source's size, are `expected`. */
  readonly fresh: () => FrameSource;
  /** The frames every fresh source stands for (at least 3), at the size it declares. */
  readonly expected: RawVideo;
  /** Largest mean absolute difference per byte allowed between a returned frame and its expected one (0: exact). */
  readonly tolerance: number;
  /** Fresh sources whose video cannot be read (missing, corrupt, truncated file), by name; empty when none can fail. */
  readonly unreadable: readonly { readonly name: string; readonly fresh: () => FrameSource }[];
  readonly cleanup?: () => Promise<void>;
}

/** What an implementation can do; the suite runs the failure case only where a source can fail to read. */
export interface FrameSourceCapabilities {
  /** Sources of this kind can stand for an unreadable video (files). Default false. */
  readonly canFail?: boolean;
}

/** `fn()`, where a synchronous throw (instead of a rejection) becomes a rejection that names the mistake. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(new Error(`threw synchronously instead of returning a rejected promise: ${String(e)}`));
  }
}

/** The VrGrpoError `promise` rejects with (fails the test when it resolves or rejects with something else). */
async function rejectionOf(promise: Promise<unknown>, what: string): Promise<VrGrpoError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (e) {
    if (isVrGrpoError(e)) return e;
    throw new Error(`${what}: expected a VrGrpoError, got ${String(e)}`);
  }
  throw new Error(`${what}: expected a rejection, it resolved with ${typeof value}`);
}

/** Mean absolute difference per byte of two equally long frames. */
function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / Math.max(1, a.length);
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));

export function describeFrameSourceContract(label: string, setup: () => Promise<FrameSourceFixture>, capabilities: FrameSourceCapabilities = {}): void {
  describe(`FrameSource contract: ${label}`, () => {
    let fixture: FrameSourceFixture;
    /** One source shared by the tests that read a used source (fresh ones are made where "fresh" matters). */
    let source: FrameSource;
    beforeAll(async () => {
      fixture = await setup();
      source = fixture.fresh();
    });
    afterAll(async () => {
      await fixture.cleanup?.();
    });

    const all = (): number[] => Array.from({ length: fixture.expected.frameCount }, (_, i) => i);

    it('has a non-empty label, and a non-empty cacheKey when it has one', () => {
      expect(typeof source.label).toBe('string');
      expect(source.label.length).toBeGreaterThan(0);
      if (source.cacheKey !== undefined) expect(source.cacheKey.length).toBeGreaterThan(0);
    });

    it('declares its frame count and frame size: positive integers, the same on every call', async () => {
      const { frameCount, width, height } = fixture.expected;
      for (let round = 0; round < 2; round += 1) {
        expect(await call(() => source.frameCount())).toBe(frameCount);
        const size = await call(() => source.size());
        expect({ width: size.width, height: size.height }).toEqual({ width, height });
      }
      expect(Number.isInteger(frameCount) && frameCount > 0 && Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0).toBe(true);
    });

    it('returns one RGB24 frame of the declared size per index, in the order asked, duplicates included', async () => {
      const { width, height } = await source.size();
      const last = (await source.frameCount()) - 1;
      const mid = Math.floor(last / 2);
      const indices = [last, 0, mid, 0, last];
      const frames = await call(() => source.frames(indices));
      expect(frames).toHaveLength(indices.length);
      for (const f of frames) {
        expect(f).toBeInstanceOf(Uint8Array);
        expect(f.length).toBe(width * height * 3);
      }
      expect(same(frames[1], frames[3]) && same(frames[0], frames[4]), 'the same index twice gives the same bytes').toBe(true);
      expect(same(frames[0], frames[1]), 'different indices give different frames').toBe(false);
      const single = await source.frames([mid]);
      expect(same(single[0], frames[2]), 'a frame read alone equals the same frame read in a batch').toBe(true);
    });

    it('gives, for every index, the frame at that index (closest to it among all the video frames)', async () => {
      const frames = await call(() => source.frames(all()));
      const expected = all().map((i) => frameAt(fixture.expected, i));
      frames.forEach((f, i) => {
        const diffs = expected.map((e) => meanAbsDiff(f, e));
        expect(diffs[i], `frame ${i}: mean absolute difference to the expected frame`).toBeLessThanOrEqual(fixture.tolerance);
        const nearest = diffs.indexOf(Math.min(...diffs));
        expect(nearest, `frame ${i} looks most like expected frame ${nearest}`).toBe(i);
      });
    });

    it('answers an empty request with no frames', async () => {
      expect(await call(() => source.frames([]))).toEqual([]);
    });

    it('gives identical bytes on repeated reads', async () => {
      const first = await source.frames(all());
      const second = await source.frames([...all()].reverse());
      first.forEach((f, i) => expect(same(f, second[second.length - 1 - i]), `frame ${i}`).toBe(true));
    });

    it('rejects out-of-range and non-integer indices with VIDEO_DECODE_FAILED, every time, and keeps serving', async () => {
      const count = await source.frameCount();
      const before = await source.frames([0, count - 1]);
      for (const bad of [-1, count, count + 7, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
        for (const indices of [[bad], [0, bad], [bad, 0]]) {
          for (let round = 0; round < 2; round += 1) {
            const error = await rejectionOf(
              call(() => source.frames(indices)),
              `frames([${indices.join(', ')}])`,
            );
            expect(error.code, `frames([${indices.join(', ')}]): ${error.message}`).toBe('VIDEO_DECODE_FAILED');
            expect(error.message, 'the error names the source').toContain(source.label);
          }
        }
      }
      const after = await source.frames([0, count - 1]);
      expect(same(after[0], before[0]) && same(after[1], before[1]), 'the source still serves the same frames').toBe(true);
      expect(await source.frameCount()).toBe(count);
    });

    it('answers concurrent first calls on a fresh source consistently', async () => {
      const fresh = fixture.fresh();
      const [count, size, a, b] = await Promise.all([
        call(() => fresh.frameCount()),
        call(() => fresh.size()),
        call(() => fresh.frames([2, 0])),
        call(() => fresh.frames([0])),
      ]);
      expect(count).toBe(fixture.expected.frameCount);
      expect({ width: size.width, height: size.height }).toEqual({ width: fixture.expected.width, height: fixture.expected.height });
      expect(same(a[1], b[0])).toBe(true);
      const reference = await source.frames([2, 0]);
      expect(same(a[0], reference[0]) && same(a[1], reference[1]), 'a fresh source gives the same bytes as a used one').toBe(true);
    });

    it(`${capabilities.canFail === true ? 'has' : 'has no'} unreadable variants, as declared`, () => {
      expect(fixture.unreadable.length > 0).toBe(capabilities.canFail === true);
    });

    it.runIf(capabilities.canFail === true)('rejects every call on an unreadable video with VIDEO_DECODE_FAILED, stably', async () => {
      for (const { name, fresh } of fixture.unreadable) {
        const broken = fresh();
        expect(broken.label.length, name).toBeGreaterThan(0);
        const calls: [string, () => Promise<unknown>][] = [
          ['frames([0])', () => broken.frames([0])],
          ['frameCount()', () => broken.frameCount()],
          ['size()', () => broken.size()],
          ['frames([0]) again', () => broken.frames([0])],
        ];
        for (const [what, fn] of calls) {
          const error = await rejectionOf(call(fn), `${name}: ${what}`);
          expect(error.code, `${name}: ${what}: ${error.message}`).toBe('VIDEO_DECODE_FAILED');
        }
      }
    });
  });
}
