import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { createEmbeddedJudge } from '../../src/judge/backends/embedded/index.js';
import { planFrames, type PlannedVideo } from '../../src/judge/backends/embedded/frame-planner.js';
import type { TimelineEvidence } from '../../src/judge/backends/embedded/timeline.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import {
  LOCAL_DEFECT_DIM,
  LOCAL_DEFECT_KINDS,
  LOCAL_DEFECT_OFFSET,
  LOCAL_SLOT,
  decodeLatent,
  defectSpanToLatent,
  defectStartToLatent,
  framesCovered,
  idealLatent,
  parsePrompt,
  renderScene,
} from '../../src/world/index.js';

const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');
const FRAMES = 48;

/** Puts a local defect of `kind` over clip time [start, start + span) into slot 0 of a v2 latent. */
function plantDefect(latent: Float32Array, kind: (typeof LOCAL_DEFECT_KINDS)[number], start: number, span: number): Float32Array {
  const out = Float32Array.from(latent);
  const b = LOCAL_DEFECT_OFFSET;
  for (let i = 0; i <= LOCAL_DEFECT_KINDS.length; i++) out[b + LOCAL_SLOT.kind + i] = i === LOCAL_DEFECT_KINDS.indexOf(kind) + 1 ? 1 : -1;
  out[b + LOCAL_SLOT.start] = defectStartToLatent(start);
  out[b + LOCAL_SLOT.span] = defectSpanToLatent(span);
  out[b + LOCAL_SLOT.severity] = 1;
  for (let i = 0; i < LOCAL_DEFECT_DIM; i++) if (!Number.isFinite(out[b + i] ?? NaN)) throw new Error('bad latent');
  return out;
}

describe('embedded judge on world v2 (temporal reasoning)', () => {
  let judge: JudgeEngine;
  beforeAll(async () => {
    judge = await createEmbeddedJudge({ modelDir: RM_V2, reasoner: { temporal: true } });
  });
  afterAll(async () => {
    await judge.close();
  });

  it('finds a planted 2-frame dropout that the initial frames miss, by selecting frames, and cites only frames it saw', async () => {
    const spec = parsePrompt('a red circle moving right slowly on a gray background');
    const clean = idealLatent(spec, Rng.fromSeed(11), 2);
    // Frames 23–24 of 48: between the initial samples (0, 16, 31, 47 of each video).
    const start = 22.5 / (FRAMES - 1);
    const dropped = plantDefect(clean, 'dropout', start, 2 / (FRAMES - 1));
    expect(framesCovered(start, 2 / (FRAMES - 1), FRAMES)).toEqual([23, 24]);
    const a = renderScene(decodeLatent(clean), { frames: FRAMES, fps: 8 });
    const b = renderScene(decodeLatent(dropped), { frames: FRAMES, fps: 8 });
    const request = (maxToolCalls: number) => ({
      id: `dropout-${maxToolCalls}`,
      prompt: 'a red circle moving right slowly on a gray background',
      mode: 'pairwise' as const,
      videos: [new RawFrameSource(a, 'clean'), new RawFrameSource(b, 'dropout')],
      options: { maxToolCalls, trace: true },
    });
    // Without looking the two videos are the same to the judge: the dropout lies between its samples.
    const blind = await judge.judge(request(0));
    expect(blind.framesViewed[1]).not.toContain(23);
    expect(blind.framesViewed[1]).not.toContain(24);
    expect(blind.answer?.MQ).toBe(0);
    const v = await judge.judge(request(3));
    expect(v.toolCalls).toBeGreaterThan(0);
    const seenB = v.framesViewed[1] ?? [];
    expect(seenB.some((f) => f === 23 || f === 24)).toBe(true);
    expect(v.answer?.MQ).toBe(1);
    expect(v.answer?.OA).toBe(1);
    // It names the dropout, at frames it was shown (video 2's frame f is 48 + f + 1 in the shared index space).
    const text = (v.turns ?? [])
      .filter((t) => t.role === 'assistant')
      .map((t) => t.text)
      .join('\n');
    const cited =
      /dropout at frames ([\d, ]+)/
        .exec(text)?.[1]
        ?.split(',')
        .map((x) => Number(x.trim())) ?? [];
    expect(cited.length).toBeGreaterThan(0);
    for (const g of cited) expect(seenB).toContain(g - FRAMES - 1);
    expect(v.hallucinations.filter((h) => h.kind === 'unseen_frame_reference')).toEqual([]);
  });

  it('sees an asked colour change and judges its moment from the frames it chose', async () => {
    const prompt = 'a white square staying still, then turning red halfway on a navy background';
    const spec = parsePrompt(prompt);
    const onTime = idealLatent(spec, Rng.fromSeed(3), 2);
    const late = idealLatent(parsePrompt('a white square staying still, then turning red late on a navy background'), Rng.fromSeed(3), 2);
    const render = (l: Float32Array) => new RawFrameSource(renderScene(decodeLatent(l), { frames: FRAMES, fps: 8 }), 'v');
    const v = await judge.judge({ id: 'moment', prompt, mode: 'pairwise', videos: [render(late), render(onTime)], options: {} });
    expect(v.answer?.TA).toBe(2);
    expect(v.answer?.OA).toBe(2);
  });
});

describe('frame planner', () => {
  const evidence = (detected: TimelineEvidence['objects'][number]['detected']): TimelineEvidence => ({
    objects: [{ sightings: [], colour: 1, shape: 1, motion: 1, speed: null, event: 1, eventTime: 0.5, detected, vx: 0, vy: 0 }],
    background: 1,
    count: 1,
    defects: [],
    corrupted: [],
    TA: 1,
    MQ: 1,
    VQ: 1,
    overall: 1,
    certainty: 1,
    framesUsed: [0, 16, 31, 47],
    frameCount: 48,
  });
  const video = (offset: number, detected: TimelineEvidence['objects'][number]['detected']): PlannedVideo => ({
    offset,
    count: 48,
    seen: new Set([0, 16, 31, 47]),
    evidence: evidence(detected),
  });

  it('looks at the edges of the asked window when a change was seen in a bracket that straddles one', () => {
    const spec = parsePrompt('a white square staying still, then turning red halfway on a navy background');
    // A change seen between frames 16 and 31 straddles both edges of the window τ ∈ [0.375, 0.625] (frames 17.6 to
    // 29.4): the last frame before it (17) and the last inside it (29) decide; global indices are frame + 1.
    const frames = planFrames(spec, [video(0, { kind: 'recolour', bracket: { before: 16, after: 31 }, colour: 'red' }), video(48, null)], 8);
    expect(frames).toContain(18);
    expect(frames).toContain(30);
    // A change whose bracket lies inside the window needs no edge frames.
    const settled = planFrames(spec, [video(0, { kind: 'recolour', bracket: { before: 20, after: 24 }, colour: 'red' }), video(48, null)], 8);
    expect(settled).not.toContain(18);
    expect(settled).not.toContain(30);
    expect(frames.length).toBe(8);
    expect(frames.every((f) => f >= 1 && f <= 96)).toBe(true);
  });

  it('searches the asked window densely for a brief event not seen yet', () => {
    const spec = parsePrompt('a white square staying still, then flashing red halfway on a navy background');
    const frames = planFrames(spec, [video(0, null), video(48, null)], 8);
    // Window τ ∈ [0.375, 0.69] → frames 18–32 of each video; most picks fall in it.
    const inWindow = frames.filter((g) => {
      const f = (g - 1) % 48;
      return f >= 18 && f <= 32;
    });
    expect(inWindow.length).toBeGreaterThanOrEqual(6);
  });
});
