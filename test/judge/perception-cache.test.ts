/**
 * The per-group perception cache: a frame of a keyed video is perceived once and reused by the group's later
 * comparisons (verdicts unchanged), the cache stays within its bound, keys never mix videos, and concurrent
 * conversations share ONNX runs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { EmbeddedReasoner, type PerceivedFrame, type PerceptionPort } from '../../src/judge/backends/embedded/index.js';
import { PerceptionCache } from '../../src/judge/backends/embedded/perception-cache.js';
import { Perception, videoSignals } from '../../src/judge/backends/embedded/perception/index.js';
import { LearnedReasoner, OnnxPolicy, manifestLayout, readLearnedCheckpoint } from '../../src/judge/backends/learned/index.js';
import { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { RawVideo } from '../../src/media/index.js';
import { contentFingerprint } from '../../src/reward-server/connection.js';
import { TEMPORAL_DATA_DEFAULTS, decodeLatent, parsePrompt, renderScene, sampleDataLatent } from '../../src/world/index.js';

const RM_V3 = join(PROJECT_ROOT, 'models', 'rm-v3');
/** The learned judge on world v2 (its perception is rm-v3). */
const learned = readLearnedCheckpoint(join(PROJECT_ROOT, 'models', 'judge-v2', 'grpo-no-cot-gain'));
const PROMPT = 'a red circle moving left slowly, then turning blue halfway on a navy background';

const frame = (i: number): PerceivedFrame => ({ frameIndex: i, backgroundProbs: new Float32Array([i]), objects: [], brightness: 0.5, sharpness: 1, noise: 0 });

describe('PerceptionCache', () => {
  it('stores frames by video key and 0-based index, and counts hits and misses', () => {
    const c = new PerceptionCache(100);
    expect(c.get('a', 3)).toBeUndefined();
    c.set('a', 3, { ...frame(52), frameIndex: 52 });
    const hit = c.get('a', 3);
    expect(hit?.frameIndex).toBe(3);
    expect(hit?.backgroundProbs[0]).toBe(52);
    expect(c.get('b', 3)).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 1, misses: 2, frames: 1, videos: 1 });
  });

  it('keeps within its bound by dropping the least recently used video first', () => {
    const c = new PerceptionCache(10);
    for (const key of ['a', 'b', 'c']) for (let i = 0; i < 4; i++) c.set(key, i, frame(i));
    // 12 frames asked for, 10 allowed: 'a' (oldest) goes whole.
    expect(c.stats()).toMatchObject({ frames: 8, videos: 2, evictions: 1 });
    expect(c.get('a', 0)).toBeUndefined();
    c.get('b', 0); // 'b' is now more recent than 'c'
    for (let i = 0; i < 4; i++) c.set('d', i, frame(i));
    expect(c.get('c', 0)).toBeUndefined();
    expect(c.get('b', 1)).toBeDefined();
    expect(c.stats().frames).toBeLessThanOrEqual(10);
    // One video larger than the whole bound keeps its newest frames only.
    const small = new PerceptionCache(3);
    for (let i = 0; i < 6; i++) small.set('x', i, frame(i));
    expect(small.stats().frames).toBe(3);
    expect(small.get('x', 5)).toBeDefined();
    expect(small.get('x', 0)).toBeUndefined();
  });

  it('a zero bound stores nothing', () => {
    const c = new PerceptionCache(0);
    c.set('a', 0, frame(0));
    expect(c.stats().frames).toBe(0);
    expect(() => new PerceptionCache(-1)).toThrow(RangeError);
  });

  it('fingerprints tell different videos apart', () => {
    const v = (fill: number): RawVideo => ({ width: 4, height: 4, frameCount: 2, fps: 8, data: new Uint8Array(96).fill(fill) });
    expect(contentFingerprint(v(1))).toBe(contentFingerprint(v(1)));
    expect(contentFingerprint(v(1))).not.toBe(contentFingerprint(v(2)));
    expect(contentFingerprint({ ...v(1), frameCount: 1, data: new Uint8Array(48).fill(1) })).not.toBe(contentFingerprint(v(1)));
  });
});

describe('the embedded and learned judges reuse perceptions across a group (real rm-v3 perception)', () => {
  let perception: Perception;
  let videos: RawVideo[];
  /** Frames the port was asked to perceive, per judge. */
  const perceived = { cached: 0, uncached: 0, calls: 0 };
  const judges: JudgeEngine[] = [];

  let policy: OnnxPolicy;
  const judgeWith = (cache: boolean, kind: 'embedded' | 'learned' = 'embedded'): JudgeEngine => {
    const port: PerceptionPort = {
      version: perception.version,
      perceive: (frames, w, h) => {
        perceived[cache ? 'cached' : 'uncached'] += frames.length;
        perceived.calls += 1;
        return perception.perceive(frames, w, h);
      },
      signals: (frames, w, h) => videoSignals(frames, w, h),
      close: () => Promise.resolve(),
    };
    const reasoner =
      kind === 'embedded'
        ? new EmbeddedReasoner(port, { temporal: true, perceptionCache: cache ? 4096 : null })
        : new LearnedReasoner(port, policy, {
            version: 'learned',
            answerMode: learned.manifest.actions.answerMode,
            layout: manifestLayout(learned.manifest),
            perceptionCache: cache ? new PerceptionCache(4096) : null,
          });
    const engine = new JudgeEngine(reasoner, {});
    judges.push(engine);
    return engine;
  };

  beforeAll(async () => {
    perception = await Perception.create(RM_V3);
    policy = await OnnxPolicy.create(learned.policyBytes);
    const spec = parsePrompt(PROMPT);
    const rng = Rng.fromSeed(5);
    const data = { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3, ...TEMPORAL_DATA_DEFAULTS };
    // Four different videos of the prompt, drawn from the world's v2 data distribution.
    videos = [0, 1, 2, 3].map((k) => renderScene(decodeLatent(sampleDataLatent(spec, rng, data, 2)), { frames: 48, fps: 8, patternSeed: 11 + k }));
  });
  afterAll(async () => {
    for (const j of judges) await j.close();
    await Promise.all([perception.close(), policy.close()]);
  });

  it.each(['embedded', 'learned'] as const)('%s: perceives each frame of a video once per group, with the same verdicts as without the cache', async (kind) => {
    perceived.cached = 0;
    perceived.uncached = 0;
    const withCache = judgeWith(true, kind);
    const without = judgeWith(false, kind);
    const pairs: [number, number][] = [
      [0, 1],
      [2, 3],
      [0, 2],
      [1, 3],
      [3, 0],
      [1, 2],
    ];
    const viewed = new Map<number, Set<number>>();
    for (const [i, [a, b]] of pairs.entries()) {
      const src = (k: number, keyed: boolean): RawFrameSource => new RawFrameSource(videos[k] as RawVideo, `v${k}`, keyed ? `group-1/v${k}` : undefined);
      const request = (keyed: boolean) => ({
        id: `c${i}`,
        prompt: PROMPT,
        mode: 'pairwise' as const,
        videos: [src(a, keyed), src(b, keyed)],
        options: { trace: true },
      });
      const v1 = await withCache.judge(request(true));
      const v0 = await without.judge(request(false));
      expect(v1.answer).toEqual(v0.answer);
      expect(v1.framesViewed).toEqual(v0.framesViewed);
      expect(v1.turns?.map((t) => t.text)).toEqual(v0.turns?.map((t) => t.text));
      for (const [k, frames] of [a, b].map((k, j) => [k, v1.framesViewed[j] ?? []] as const)) {
        const set = viewed.get(k) ?? new Set<number>();
        for (const f of frames) set.add(f);
        viewed.set(k, set);
      }
    }
    const distinct = [...viewed.values()].reduce((s, f) => s + f.size, 0);
    // Without the cache every comparison perceives its frames; with it, each distinct frame of the group once.
    expect(perceived.cached).toBe(distinct);
    expect(perceived.uncached).toBeGreaterThan(perceived.cached);
  });

  it('concurrent conversations share model runs', async () => {
    const before = perception.stats();
    const callsBefore = perceived.calls;
    const engine = judgeWith(false);
    const src = (k: number): RawFrameSource => new RawFrameSource(videos[k] as RawVideo, `v${k}`);
    await Promise.all(
      [
        [0, 1],
        [2, 3],
        [1, 2],
        [3, 0],
      ].map(([a, b], i) => engine.judge({ id: `p${i}`, prompt: PROMPT, mode: 'pairwise', videos: [src(a ?? 0), src(b ?? 1)], options: {} })),
    );
    const after = perception.stats();
    const calls = perceived.calls - callsBefore;
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(after.runs - before.runs).toBeGreaterThan(0);
    // The four conversations' perceive calls coalesce: fewer model runs than calls.
    expect(after.runs - before.runs).toBeLessThan(calls);
    expect(after.rows - before.rows).toBeGreaterThan(0);
  });
});
