/**
 * The unseen-frame check counts only claims about what a frame shows: precision and recall on the hand-labelled
 * VR-Thinker-style turns in fixtures/hallucination-traces.ts, and targeted cases for each kind of non-claim.
 * The checker before this change (every "frame N" counted) scored precision 0.12 and recall 0.93 on this set.
 */
import { describe, expect, it } from 'vitest';
import { frameReferences } from '../../src/judge/frame-claims.js';
import { unseenReferences } from '../../src/judge/hallucinations.js';
import { HALLUCINATION_TRACES, scoreChecker } from './fixtures/hallucination-traces.js';

/** The engine's initial view of two 48-frame videos (video 2 is frames 49-96). */
const INITIAL: ReadonlySet<number> = new Set([1, 17, 32, 48, 49, 65, 80, 96]);

/** The gate on precision and recall; the checker reaches 1.0 on the set, so this leaves room for new hard items. */
const GATE = 0.95;

describe('unseen frame references: precision on labelled traces', () => {
  it('the labelled set is large, consistent and has both claims and non-claims', () => {
    expect(HALLUCINATION_TRACES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(HALLUCINATION_TRACES.map((t) => t.id)).size).toBe(HALLUCINATION_TRACES.length);
    for (const t of HALLUCINATION_TRACES) {
      // An expected frame is one never shown.
      expect(
        t.expected.filter((f) => t.shown.includes(f)),
        t.id,
      ).toEqual([]);
    }
    expect(HALLUCINATION_TRACES.filter((t) => t.expected.length > 0).length).toBeGreaterThanOrEqual(20);
    expect(HALLUCINATION_TRACES.filter((t) => t.expected.length === 0).length).toBeGreaterThanOrEqual(20);
  });

  it(`flags content claims about unseen frames with precision and recall >= ${GATE} (per frame number)`, () => {
    const s = scoreChecker(unseenReferences);
    const report = `tp ${s.tp}, fp ${s.fp}, fn ${s.fn}; first differing items: ${JSON.stringify(s.misses.slice(0, 10))}`;
    expect(s.expected, 'labelled unseen claims').toBeGreaterThanOrEqual(60);
    expect(s.precision, report).toBeGreaterThanOrEqual(GATE);
    expect(s.recall, report).toBeGreaterThanOrEqual(GATE);
  });

  it('the gate is not vacuous: a checker that flags every "frame N" fails it, and so does one that flags nothing', () => {
    const everyMention = (text: string, shown: ReadonlySet<number>): ReturnType<typeof unseenReferences> => {
      const frames = [...text.matchAll(/\bframes?\s*#?\s*(\d+)/gi)].map((m) => Number(m[1])).filter((f) => !shown.has(f));
      return frames.length === 0 ? [] : [{ kind: 'unseen_frame_reference', detail: `cites frame(s) ${frames.join(', ')} never shown` }];
    };
    expect(scoreChecker(everyMention).precision).toBeLessThan(GATE);
    expect(scoreChecker(() => []).recall).toBe(0);
  });
});

describe('unseen frame references: what counts as a claim', () => {
  it('ignores plans, requests and tool calls', () => {
    for (const text of [
      '<think>I will look at frames 30 and 78.</think>',
      "<think>I'll check frame 60 next.</think>",
      '<think>Let me select frames 12-24 to check the shape.</think>',
      '<think>I need to check frame 60 next.</think>',
      '<think>I am going to zoom into frame 88.</think>',
      '<think>Inspect frames 70-72.</think>',
      '<think>ok</think><tool_call>{"name": "select_frames", "arguments": {"target_frames": [40], "why": "frame 40 is red"}}</tool_call>',
      '<think>ok</think><tool_call>{"name": "select_frames", "arguments": {"target_frames": [40], "why": "frame 40 is red"}}',
    ]) {
      expect(unseenReferences(text, INITIAL), text).toEqual([]);
    }
  });

  it('ignores questions, hypotheses and statements about the index layout or the tool', () => {
    for (const text of [
      '<think>What happens in frame 40?</think>',
      '<think>Between frame 10 and 20 there may be a change.</think>',
      '<think>If frame 85 shows the ball, video 2 is fine.</think>',
      '<think>Frames 1-48 are video 1 and frames 49-96 are video 2.</think>',
      '<think>Frames 49-96 belong to video 2.</think>',
      '<think>The frame index runs from 1 to 96; frame 60 is in video 2.</think>',
      '<snapshot>Video 1 (frames 1-48) shows a red circle.</snapshot>',
      '<think>I have not seen frame 40 yet.</think>',
      '<snapshot>The ball leaves the frame 3 seconds in.</snapshot>',
    ]) {
      expect(unseenReferences(text, INITIAL), text).toEqual([]);
    }
  });

  it('flags content claims wherever the frame number sits, in every tag variant', () => {
    const cases: readonly (readonly [string, readonly number[]])[] = [
      ['<snapshot>In frame 30 the ball turns red.</snapshot>', [30]],
      ['<Snapshot>Frame 12 shows a blurry circle.</Snapshot>', [12]],
      ['<synthesis>Frames 3-5 are sharp.</synthesis>', [3, 4, 5]],
      ['<Think>The colour changes at frame 40.</Think>', [40]],
      ['<think>The ball turns red (frame 30).</think>', [30]],
      ['<think>Frames 3, 5, and 9 are blurred; frames 4–6 flicker.</think>', [3, 4, 5, 6, 9]],
      ['<think>Frame #7 is smeared and the 12th frame is dark.</think>', [7, 12]],
      ['<think>I can see that frame 50 is noisy.</think>', [50]],
    ];
    for (const [text, frames] of cases) {
      expect(unseenReferences(text, INITIAL), text).toEqual([{ kind: 'unseen_frame_reference', detail: `cites frame(s) ${frames.join(', ')} never shown` }]);
    }
  });

  it('separates the claim from the plan when one sentence holds both', () => {
    expect(frameReferences('<think>Frame 12 looks blurry, so I will check frames 13 and 14.</think>')).toEqual([12]);
    expect(frameReferences('<think>I will look at frame 60 because frame 55 shows the ball turning blue.</think>')).toEqual([55]);
    expect(frameReferences('<think>Frames 49-96 belong to video 2; frame 70 shows the ball at the edge.</think>')).toEqual([70]);
    expect(frameReferences('<think>Frame 20 is smeared — is frame 21 too?</think>')).toEqual([20]);
  });

  it('does not flag a claim about a frame that was shown, nor text inside an answer', () => {
    expect(unseenReferences('<snapshot>In frame 17 the ball is red; frame 65 shows it blue.</snapshot>', INITIAL)).toEqual([]);
    expect(unseenReferences('<synthesis>ok</synthesis><final answer>Frame 41 confirms it. \\boxed{2}</final answer>', INITIAL)).toEqual([]);
    expect(unseenReferences('<think>ok</think><answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>', INITIAL)).toEqual([]);
  });
});
