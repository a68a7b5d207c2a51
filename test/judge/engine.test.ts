import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { JudgeEngine, interleavedIndices, uniformIndices } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import { ANSWER, ScriptedReasoner, TOOL } from './scripted-reasoner.js';

/** A 24-frame 8×8 video whose frame i is filled with value base + i (so frames are identifiable). */
function video(base: number, frames = 24): RawVideo {
  const data = new Uint8Array(frames * 8 * 8 * 3);
  for (let f = 0; f < frames; f++) data.fill(base + f, f * 192, (f + 1) * 192);
  return { width: 8, height: 8, frameCount: frames, fps: 8, data };
}

function pair(options: JudgmentRequest['options'] = {}): JudgmentRequest {
  return {
    id: 'r1',
    prompt: 'a red circle moving left on a navy background',
    mode: 'pairwise',
    videos: [new RawFrameSource(video(0), 'a'), new RawFrameSource(video(100), 'b')],
    options,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return isVrGrpoError(e) ? e.code : 'OTHER';
  }
}

describe('judge engine', () => {
  it('shows 4 initial frames from each video in one 1-based index space, with the images the reasoner asked for', async () => {
    const r = new ScriptedReasoner((_, call) => (call === 0 ? TOOL([2, 30]) : ANSWER('2')));
    const v = await new JudgeEngine(r).judge(pair({ trace: true }));
    const first = r.inputs[0];
    expect(first?.videoFrameCounts).toEqual([24, 24]);
    const initial = first?.messages.flatMap((m) => m.images.map((i) => i.index));
    expect(initial).toEqual([1, 9, 16, 24, 25, 33, 40, 48]);
    // Image contents are the right frames of the right video: frame 25 is video 2's first frame (value 100).
    expect(first?.messages.flatMap((m) => m.images).find((i) => i.index === 25)?.rgb[0]).toBe(100);
    const tool = r.inputs[1]?.messages.find((m) => m.role === 'tool');
    expect(tool?.text).toBe('Here are the selected frames: 2, 30.');
    expect(tool?.images.map((i) => [i.index, i.rgb[0]])).toEqual([
      [2, 1],
      [30, 105],
    ]);
    expect(v.answer).toEqual({ TA: 2, MQ: 2, VQ: 2, OA: 2, CF: 1 });
    expect(v.toolCalls).toBe(1);
    expect(v.framesViewed).toEqual([
      [0, 1, 8, 15, 23],
      [0, 5, 8, 15, 23],
    ]);
    expect(v.scores[1]).toEqual({ TA: 1, MQ: 1, VQ: 1, overall: 1 });
    expect(v.turns?.map((t) => t.role)).toEqual(['assistant', 'tool', 'assistant']);
    expect(v.hallucinations).toEqual([]);
    expect(r.released).toBe(1);
  });

  it('answers a 9-frame call and an out-of-range call with error turns, counted as invalid selections', async () => {
    const r = new ScriptedReasoner((_, call) =>
      call === 0 ? TOOL([1, 2, 3, 4, 5, 6, 7, 8, 10]) : call === 1 ? TOOL([0, 49]) : call === 2 ? TOOL([3]) : ANSWER('1'),
    );
    const v = await new JudgeEngine(r).judge(pair({ trace: true }));
    const toolTexts = (v.turns ?? []).filter((t) => t.role === 'tool').map((t) => t.text);
    expect(toolTexts[0]).toContain('you selected 9 frames, but at most 8');
    expect(toolTexts[1]).toContain('out of range; the valid range is [1,48]');
    expect(toolTexts[2]).toBe('Here are the selected frames: 3.');
    expect(v.hallucinations.filter((h) => h.kind === 'invalid_selection')).toHaveLength(2);
    expect(v.toolCalls).toBe(3);
    expect(r.inputs[1]?.messages.at(-1)?.images).toEqual([]);
  });

  it('keeps only the latest p tool results as images (initial frames always), text for older ones', async () => {
    const r = new ScriptedReasoner((_, call) => (call < 3 ? TOOL([call + 2]) : ANSWER('1')));
    await new JudgeEngine(r).judge(pair({ memoryWindow: 1 }));
    const seen = (k: number): number[] => (r.inputs[k]?.messages ?? []).flatMap((m) => m.images.map((i) => i.index));
    const dropped = (k: number): number[] => (r.inputs[k]?.messages ?? []).flatMap((m) => [...m.droppedImages]);
    const initial = [1, 9, 16, 24, 25, 33, 40, 48];
    expect(seen(1)).toEqual([...initial, 2]);
    expect(seen(2)).toEqual([...initial, 3]);
    expect(dropped(2)).toEqual([2]);
    expect(seen(3)).toEqual([...initial, 4]);
    expect(dropped(3)).toEqual([2, 3]);
    expect(r.inputs[3]?.messages.filter((m) => m.role === 'tool').map((m) => m.text)).toHaveLength(3);
    const r2 = new ScriptedReasoner((_, call) => (call < 3 ? TOOL([call + 2]) : ANSWER('1')));
    await new JudgeEngine(r2).judge(pair({ memoryWindow: 2 }));
    expect((r2.inputs[3]?.messages ?? []).flatMap((m) => m.images.map((i) => i.index))).toEqual([...initial, 3, 4]);
  });

  it('forces the last recommended answer when the tool budget is spent', async () => {
    const r = new ScriptedReasoner(() => TOOL([5], 'TA = 2, MQ = 1, VQ = 0, OA = 2, CF = 3'));
    const v = await new JudgeEngine(r).judge(pair({ maxToolCalls: 2 }));
    expect(v.forced).toBe(true);
    expect(v.toolCalls).toBe(2);
    expect(v.answer).toEqual({ TA: 2, MQ: 1, VQ: 0, OA: 2, CF: 3 });
  });

  it('re-asks after unparseable turns, counts format errors, and fails with FORMAT_ERROR when nothing parses', async () => {
    const r = new ScriptedReasoner((_, call) => (call === 0 ? 'video 1 looks better' : ANSWER('1')));
    const v = await new JudgeEngine(r).judge(pair());
    expect(v.formatErrors).toBe(1);
    expect(r.inputs[1]?.messages.at(-1)?.text).toContain('could not be used');
    const never = new ScriptedReasoner(() => 'no tags at all');
    expect(await codeOf(new JudgeEngine(never, { maxFormatRetries: 2 }).judge(pair()))).toBe('FORMAT_ERROR');
    expect(never.inputs).toHaveLength(3);
  });

  it('flags references to frames never shown', async () => {
    const r = new ScriptedReasoner(
      () =>
        '<snapshot>In frame 9 the circle is red, in frame 12 it is blue.</snapshot><think>x</think><answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>',
    );
    const v = await new JudgeEngine(r).judge(pair());
    expect(v.hallucinations).toEqual([{ kind: 'unseen_frame_reference', detail: 'cites frame(s) 12 never shown' }]);
  });

  it('flags an overall answer that contradicts unanimous dimensions', async () => {
    const r = new ScriptedReasoner(() => '<answer> TA = 1, MQ = 1, VQ = 1, OA = 2, CF = 1 </answer>');
    const v = await new JudgeEngine(r).judge(pair());
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['inconsistent_answer']);
  });

  it('judges both orders on request and reports a position-biased judge as an order flip', async () => {
    const biased = new ScriptedReasoner(() => ANSWER('1'));
    const v = await new JudgeEngine(biased).judge(pair({ bothOrders: true }));
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['order_flip']);
    expect(v.answer).toEqual({ TA: 0, MQ: 0, VQ: 0, OA: 0, CF: 3 });
    // A consistent judge: prefers whichever video's first frame is brighter.
    const fair = new ScriptedReasoner((input) => {
      const imgs = input.messages.flatMap((m) => m.images);
      const first = imgs.find((i) => i.index === 1)?.rgb[0] ?? 0;
      const second = imgs.find((i) => i.index === 25)?.rgb[0] ?? 0;
      return ANSWER(first > second ? '1' : '2');
    });
    const w = await new JudgeEngine(fair).judge(pair({ bothOrders: true }));
    expect(w.hallucinations).toEqual([]);
    expect(w.answer?.OA).toBe(2);
    expect(fair.inputs).toHaveLength(2);
  });

  it('audits a sampled fraction with all frames and records disagreement', async () => {
    const r = new ScriptedReasoner((input) => (input.messages.flatMap((m) => m.images).length > 8 ? ANSWER('2') : ANSWER('1')));
    const v = await new JudgeEngine(r, { auditFraction: 1 }).judge(pair());
    expect(v.answer?.OA).toBe(1);
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['audit_disagreement']);
    expect(r.inputs[1]?.messages.flatMap((m) => m.images)).toHaveLength(48);
  });

  it('scores each video in pointwise mode', async () => {
    const r = new ScriptedReasoner((input) => `<answer> TA = ${input.videoFrameCounts[0] === 24 ? '0.9' : '0.1'}, MQ = 0.5, VQ = 0.5, OA = 0.8 </answer>`);
    const v = await new JudgeEngine(r).judge({
      ...pair(),
      mode: 'pointwise',
      videos: [new RawFrameSource(video(0), 'a'), new RawFrameSource(video(0, 16), 'b')],
    });
    expect(v.answer).toBeNull();
    expect(v.scores).toEqual([
      { TA: 0.9, MQ: 0.5, VQ: 0.5, overall: 0.8 },
      { TA: 0.1, MQ: 0.5, VQ: 0.5, overall: 0.8 },
    ]);
    expect(r.inputs[0]?.messages.flatMap((m) => m.images.map((i) => i.index))).toEqual([1, 4, 8, 11, 14, 17, 21, 24]);
  });

  it('spreads initial frames uniformly', () => {
    expect(uniformIndices(24, 4)).toEqual([0, 8, 15, 23]);
    expect(uniformIndices(3, 8)).toEqual([0, 1, 2]);
  });
  it('shows the index-th of several interleaved views (options.initialView): together they show every frame', async () => {
    expect(interleavedIndices(48, 32, { index: 1, of: 2 })).toEqual(Array.from({ length: 24 }, (_, i) => 2 * i + 1));
    // More frames in the view than fit: thinned evenly within the view.
    expect(interleavedIndices(10, 3, { index: 0, of: 2 })).toEqual([0, 4, 8]);
    const seen = new Set<number>();
    for (let index = 0; index < 2; index++) {
      const r = new ScriptedReasoner(() => '<answer> TA = 0.5, MQ = 0.5, VQ = 0.5, OA = 0.5 </answer>');
      await new JudgeEngine(r, { maxImages: 64 }).judge({
        ...pair({ initialFrames: 32, maxToolCalls: 0, initialView: { index, of: 2 } }),
        mode: 'pointwise',
        videos: [new RawFrameSource(video(0, 48), 'a')],
      });
      const images = r.inputs[0]?.messages.flatMap((m) => m.images) ?? [];
      expect(images).toHaveLength(24);
      // Frame f of the video holds the value f: each view shows its own frames, in the clip's own index space.
      for (const im of images) {
        expect(im.rgb[0]).toBe(im.index - 1);
        expect((im.index - 1) % 2).toBe(index);
        seen.add(im.index);
      }
    }
    expect(seen.size).toBe(48);
  });
});
