/** Perception's analysis threads: same numbers as inline, errors and codes, close and crash, a responsive caller. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import {
  Perception,
  analyseFrames,
  autoAnalysisThreads,
  compilePerceptionOptions,
  type FramePerception,
} from '../../src/judge/backends/embedded/perception/index.js';
import { PromptGenerator, decodeLatent, renderScene, sampleDataLatent } from '../../src/world/index.js';
import { RM_V2, frameOf } from './helpers.js';

let inline: Perception;
let threaded: Perception;

beforeAll(async () => {
  [inline, threaded] = await Promise.all([Perception.create(RM_V2), Perception.create(RM_V2, { analysisThreads: 1 })]);
});
afterAll(async () => {
  await Promise.all([inline.close(), threaded.close()]);
});

/** Every frame of `videos` seeded clips (24 frames, 64×64; defects, jitter, a second object at times). */
function clips(videos: number, seed: number): { index: number; rgb: Uint8Array }[][] {
  const rng = Rng.fromSeed(seed);
  const prompts = new PromptGenerator({ seed, split: 'train', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.5 });
  return Array.from({ length: videos }, (_, v) => {
    const latent = sampleDataLatent(prompts.next(), rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    const video = renderScene(decodeLatent(latent), { frames: 24, fps: 8, patternSeed: v });
    return Array.from({ length: video.frameCount }, (_, f) => ({ index: f, rgb: frameOf(video.data, f) }));
  });
}

/** Every number as its exact bits (Float32Array bytes, float64 of plain numbers), so equality is bit for bit. */
function bits(value: unknown): unknown {
  if (value instanceof Float32Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (typeof value === 'number') return Buffer.from(new Float64Array([value]).buffer).toString('hex');
  if (Array.isArray(value)) return value.map(bits);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bits(v)]));
  return value;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('Perception analysis threads', () => {
  it('compiles the thread count: 0 by default, auto from the cores, a bad count refused', () => {
    expect(compilePerceptionOptions().analysisThreads).toBe(0);
    expect(compilePerceptionOptions({ analysisThreads: 'auto' }).analysisThreads).toBe(autoAnalysisThreads());
    expect([autoAnalysisThreads(1), autoAnalysisThreads(2), autoAnalysisThreads(8), autoAnalysisThreads(64)]).toEqual([1, 1, 4, 4]);
    expect(Object.isFrozen(compilePerceptionOptions({ analysis: { maxBlobs: 1 } }).analysis)).toBe(true);
    for (const bad of [-1, 1.5, 99]) {
      expect(() => compilePerceptionOptions({ analysisThreads: bad })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('perceives exactly what the inline analysis perceives, bit for bit, and leaves the caller frames intact', async () => {
    const videos = clips(6, 41);
    const before = videos.map((v) => v.map((f) => Buffer.from(f.rgb).toString('base64')));
    // Concurrent calls, as a reward server makes them (they share model runs either way).
    const [a, b] = await Promise.all([
      Promise.all(videos.map((v) => inline.perceive(v, 64, 64))),
      Promise.all(videos.map((v) => threaded.perceive(v, 64, 64))),
    ]);
    const objects = a.flat().reduce((s: number, p: FramePerception) => s + p.objects.length, 0);
    expect(objects, 'the clips show objects to compare').toBeGreaterThan(100);
    expect(bits(b)).toEqual(bits(a));
    expect(videos.map((v) => v.map((f) => Buffer.from(f.rgb).toString('base64')))).toEqual(before);
  });

  it('refuses a frame of the wrong size with the inline error', async () => {
    const frames = [{ index: 0, rgb: new Uint8Array(64 * 64 * 3 - 1) }];
    const a = await rejection(inline.perceive(frames, 64, 64));
    const b = await rejection(threaded.perceive(frames, 64, 64));
    expect(isVrGrpoError(b, 'INVALID_ARGUMENT')).toBe(true);
    expect(String(b)).toBe(String(a));
  });

  it('keeps the caller responsive while a thread analyses', async () => {
    const clip = clips(1, 43)[0] ?? [];
    const frames = Array.from({ length: 20 }, () => clip).flat();
    const t0 = performance.now();
    analyseFrames(
      frames.map((f) => f.rgb),
      64,
      64,
      inline.options.analysis,
    );
    const inlineMs = performance.now() - t0;
    // Precondition: inline, this work would hold the loop long enough for the timer below to miss many ticks.
    expect(inlineMs).toBeGreaterThan(100);
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks += 1;
    }, 5);
    try {
      const t1 = performance.now();
      await threaded.perceive(frames, 64, 64);
      const threadedMs = performance.now() - t1;
      // A bound, not a latency figure: the loop kept turning through the analysis instead of stalling for all of it.
      expect(ticks).toBeGreaterThan(3);
      expect(maxGap).toBeLessThan(Math.max(inlineMs, threadedMs));
    } finally {
      clearInterval(timer);
    }
  });

  it('fails calls with INFERENCE_FAILED after close (idempotent) and when a thread dies', async () => {
    const frames = clips(1, 47)[0] ?? [];
    const closing = await Perception.create(RM_V2, { analysisThreads: 1 });
    // Settled either way before close, so a rejection is never left unhandled.
    const pending = closing.perceive(frames, 64, 64).then(
      (value) => value,
      (error: unknown) => error,
    );
    await Promise.all([closing.close(), closing.close()]);
    const outcome = await pending;
    expect(Array.isArray(outcome) || isVrGrpoError(outcome, 'INFERENCE_FAILED')).toBe(true);
    expect(isVrGrpoError(await rejection(closing.perceive(frames, 64, 64)), 'INFERENCE_FAILED')).toBe(true);

    const crashing = await Perception.create(RM_V2, { analysisThreads: 1 });
    try {
      await crashing.simulateAnalysisCrash();
      expect(isVrGrpoError(await rejection(crashing.perceive(frames, 64, 64)), 'INFERENCE_FAILED')).toBe(true);
    } finally {
      await crashing.close();
    }
  });
});
