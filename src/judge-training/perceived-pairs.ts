/**
 * Gold pairs with every frame perceived once: the ONNX perception runs once per video (all frames in one batch) and the
 * results are reused by every judgment of every stage and epoch — the judge's perception of a frame does not depend on
 * which other frames it sees, so a judgment over cached perceptions equals one over the frames. Saved to a binary cache
 * file (Float64 records; class probabilities are float32 values, so they round-trip exactly).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VrGrpoError } from '../errors/index.js';
import type { FramePerception, Perception } from '../judge/backends/embedded/perception/index.js';
import { frameAt } from '../media/index.js';
import { BACKGROUND_COLOUR_NAMES, OBJECT_COLOUR_NAMES, SHAPES } from '../world/index.js';
import type { GoldPair, GoldPreferences } from './gold-pairs.js';

export interface PerceivedPair {
  readonly id: string;
  readonly prompt: string;
  readonly gold: GoldPreferences;
  /** World v2: only evidence local in time decides the overall preference (see GoldPair). */
  readonly local?: boolean;
  readonly counts: readonly [number, number];
  readonly width: number;
  readonly height: number;
  /** Per video, every frame's perception by 0-based frame index. */
  readonly frames: readonly [readonly FramePerception[], readonly FramePerception[]];
}

/** Perceives every frame of every pair (one batched ONNX run per video). */
export async function perceivePairs(perception: Perception, pairs: readonly GoldPair[], onProgress?: (done: number) => void): Promise<PerceivedPair[]> {
  const out: PerceivedPair[] = [];
  for (const p of pairs) {
    const perceive = (v: GoldPair['a']): Promise<FramePerception[]> =>
      perception.perceive(
        Array.from({ length: v.frameCount }, (_, i) => ({ index: i, rgb: frameAt(v, i) })),
        v.width,
        v.height,
      );
    const [fa, fb] = [await perceive(p.a), await perceive(p.b)];
    out.push({
      id: p.id,
      prompt: p.prompt,
      gold: p.gold,
      ...(p.local === undefined ? {} : { local: p.local }),
      counts: [p.a.frameCount, p.b.frameCount],
      width: p.a.width,
      height: p.a.height,
      frames: [fa, fb],
    });
    onProgress?.(out.length);
  }
  return out;
}

const FRAME_HEAD = 1 + BACKGROUND_COLOUR_NAMES.length + 3 + 3;
const OBJECT_SIZE = 3 + OBJECT_COLOUR_NAMES.length + SHAPES.length + 3 + 4 + 2;
const MAGIC = 'vrgrpo-perceived-pairs/1';

function encodeFrame(f: FramePerception, out: number[]): void {
  out.push(f.objects.length, ...f.backgroundProbs, ...f.background, f.brightness, f.sharpness, f.noise);
  for (const o of f.objects)
    out.push(
      o.x,
      o.y,
      o.area,
      ...o.colourProbs,
      ...o.shapeProbs,
      ...o.rgb,
      o.bbox.x0,
      o.bbox.y0,
      o.bbox.x1,
      o.bbox.y1,
      o.touchesBorder ? 1 : 0,
      o.edgeSteepness,
    );
}

function decodeFrame(data: Float64Array, at: number, frameIndex: number): { frame: FramePerception; next: number } {
  let i = at;
  const take = (n: number): number[] => {
    const xs = Array.from(data.subarray(i, i + n));
    i += n;
    return xs;
  };
  const [count = 0] = take(1);
  const backgroundProbs = Float32Array.from(take(BACKGROUND_COLOUR_NAMES.length));
  const [r = 0, g = 0, b = 0, brightness = 0, sharpness = 0, noise = 0] = take(6);
  const objects = Array.from({ length: count }, () => {
    const [x = 0, y = 0, area = 0] = take(3);
    const colourProbs = Float32Array.from(take(OBJECT_COLOUR_NAMES.length));
    const shapeProbs = Float32Array.from(take(SHAPES.length));
    const [or = 0, og = 0, ob = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0, touches = 0, edgeSteepness = 0] = take(9);
    return { x, y, area, colourProbs, shapeProbs, rgb: [or, og, ob] as const, bbox: { x0, y0, x1, y1 }, touchesBorder: touches === 1, edgeSteepness };
  });
  return { frame: { frameIndex, backgroundProbs, background: [r, g, b], objects, brightness, sharpness, noise }, next: i };
}

/** Serialises pairs: a JSON header line, then Float64 records of every frame. */
export function encodePerceivedPairs(pairs: readonly PerceivedPair[], key: string): Buffer {
  const values: number[] = [];
  for (const p of pairs) for (const video of p.frames) for (const f of video) encodeFrame(f, values);
  const header = JSON.stringify({
    magic: MAGIC,
    key,
    frameHead: FRAME_HEAD,
    objectSize: OBJECT_SIZE,
    pairs: pairs.map((p) => ({
      id: p.id,
      prompt: p.prompt,
      gold: p.gold,
      ...(p.local === undefined ? {} : { local: p.local }),
      counts: p.counts,
      width: p.width,
      height: p.height,
    })),
  });
  const head = Buffer.from(`${header}\n`, 'utf8');
  const pad = (8 - (head.length % 8)) % 8;
  const body = Buffer.from(Float64Array.from(values).buffer);
  return Buffer.concat([head, Buffer.alloc(pad, 0x20), body]);
}

interface Header {
  readonly magic: string;
  readonly key: string;
  readonly frameHead: number;
  readonly objectSize: number;
  readonly pairs: readonly { id: string; prompt: string; gold: GoldPreferences; local?: boolean; counts: [number, number]; width: number; height: number }[];
}

/** Inverse of {@link encodePerceivedPairs}; null when the bytes are not a cache of this layout and key. */
export function decodePerceivedPairs(bytes: Buffer, key: string): PerceivedPair[] | null {
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return null;
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as Header;
  } catch {
    return null;
  }
  if (header.magic !== MAGIC || header.key !== key || header.frameHead !== FRAME_HEAD || header.objectSize !== OBJECT_SIZE) return null;
  const start = nl + 1 + ((8 - ((nl + 1) % 8)) % 8);
  const body = bytes.subarray(start);
  const data = new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  let at = 0;
  const out: PerceivedPair[] = [];
  for (const p of header.pairs) {
    const videos = p.counts.map((count) =>
      Array.from({ length: count }, (_, i) => {
        const { frame, next } = decodeFrame(data, at, i);
        at = next;
        return frame;
      }),
    );
    out.push({
      id: p.id,
      prompt: p.prompt,
      gold: p.gold,
      ...(typeof p.local === 'boolean' ? { local: p.local } : {}),
      counts: p.counts,
      width: p.width,
      height: p.height,
      frames: [videos[0] ?? [], videos[1] ?? []],
    });
  }
  if (at !== data.length) return null;
  return out;
}

/** Stable cache key of a data set description. */
export function cacheKey(description: unknown): string {
  return createHash('sha256').update(JSON.stringify(description)).digest('hex').slice(0, 20);
}

/** Reads `dir/<name>-<key>.bin` when it holds pairs for `key`, else builds them with `build` and writes the file. */
export async function cachedPerceivedPairs(
  dir: string | null,
  name: string,
  key: string,
  build: () => Promise<PerceivedPair[]>,
): Promise<{ pairs: PerceivedPair[]; fromCache: boolean; file: string | null }> {
  const file = dir === null ? null : join(dir, `${name}-${key}.bin`);
  if (file !== null && existsSync(file)) {
    const pairs = decodePerceivedPairs(readFileSync(file), key);
    if (pairs !== null) return { pairs, fromCache: true, file };
  }
  const pairs = await build();
  if (file !== null) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, encodePerceivedPairs(pairs, key));
      renameSync(tmp, file);
    } catch (e) {
      throw new VrGrpoError('FILE_WRITE_FAILED', `cannot write the perception cache ${file}: ${e instanceof Error ? e.message : String(e)}`, {
        details: { path: file },
        cause: e,
      });
    }
  }
  return { pairs, fromCache: false, file };
}
