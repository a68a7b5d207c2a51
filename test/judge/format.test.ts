import { describe, expect, it } from 'vitest';
import { parseTurn, renderTurn } from '../../src/judge/format.js';
import { frameReferences } from '../../src/judge/frame-claims.js';

describe('VR-Thinker text format', () => {
  it('parses the paper format with case and spacing variants', () => {
    const t = parseTurn('<Snapshot>x</Snapshot><Think>y</Think><Answer>TA=1 , MQ = 0,VQ = 2, OA = 1, CF = 3</Answer>', 'pairwise');
    expect(t).toMatchObject({ kind: 'answer', answer: { TA: 1, MQ: 0, VQ: 2, OA: 1, CF: 3 } });
    const tool = parseTurn(
      '<snapshot>a</snapshot><think>b</think><Recommend  Answer> TA = 2, MQ = 2, VQ = 0, OA = 2, CF = 2 </Recommend Answer>\n<tool_call>\n  {"name": "select_frames", "arguments": {"target_frames": [12, 16, 20]}}  \n<|im_end|></tool_call>',
      'pairwise',
    );
    expect(tool).toMatchObject({ kind: 'tool_call', recommend: { TA: 2, OA: 2, CF: 2 }, call: { ok: true, targetFrames: [12, 16, 20] } });
  });

  it('parses the released-code format (<synthesis>, <final answer> … \\boxed{n}) as an overall-only answer', () => {
    const t = parseTurn('<synthesis>s</synthesis><think>t</think><final answer>Video 2 is better. \\boxed{2}</final answer>', 'pairwise');
    expect(t).toEqual({ kind: 'answer', answer: { OA: 2 }, text: expect.any(String) as string });
    expect(parseTurn('<final answer>both fine</final answer>', 'pairwise').kind).toBe('invalid');
  });

  // Every final form the released model writes (paper appendix D, the cold-start traces, the released code), with only
  // what it said in the answer: no CF unless given, no per-dimension value copied from OA.
  it.each([
    [
      'paper <Answer> without CF, dimensions in the template order',
      '<Snapshot>s</Snapshot><Think>t</Think><Answer>TA=1, VQ=1, MQ=0, OA=1</Answer>',
      { TA: 1, VQ: 1, MQ: 0, OA: 1 },
    ],
    [
      '<answer> with CF and a spaced closing tag',
      '<snapshot>s</snapshot><think>t</think> <answer> TA = 2, MQ = 0, VQ = 2, OA = 2, CF = 2 </ answer>',
      { TA: 2, MQ: 0, VQ: 2, OA: 2, CF: 2 },
    ],
    [
      'cold-start <final answer> with per-dimension values and no \\boxed',
      '<synthesis>s</synthesis><think>t</think><final answer>\nTA = 0, MQ = 2, VQ = 2, OA = 2\n</final answer>',
      { TA: 0, MQ: 2, VQ: 2, OA: 2 },
    ],
    [
      '<final answer> then a trailing \\boxed{n} (the GRPO ending)',
      '<synthesis>s</synthesis><think>t</think><final answer>TA = 0, MQ = 2, VQ = 2, OA = 2</final answer> \\boxed{2}<|im_end|>',
      { TA: 0, MQ: 2, VQ: 2, OA: 2 },
    ],
    ['<final answer> without OA, the trailing \\boxed{n} gives it', '<final answer>TA = 1, VQ = 0</final answer>\n\\boxed{1}', { TA: 1, VQ: 0, OA: 1 }],
    [
      'a bare \\boxed{n} ending the response, outside any tag',
      '<synthesis>Video 1 flickers.</synthesis><think>Video 2 is steadier.</think>\nSo the answer is \\boxed{2}',
      { OA: 2 },
    ],
    [
      'a tie in a lower-case tag',
      '<snapshot>s</snapshot><think>nearly identical</think><Answer>TA=0, VQ=0, MQ=0, OA=0</Answer>',
      { TA: 0, VQ: 0, MQ: 0, OA: 0 },
    ],
    [
      '<RECOMMEND ANSWER> is not final; the later <Answer> is',
      '<Recommend Answer>TA=1, OA=1, CF=3</Recommend Answer> then <Answer>TA=2, OA=2</Answer>',
      { TA: 2, OA: 2 },
    ],
  ])('final form: %s', (_name, text, expected) => {
    const t = parseTurn(text, 'pairwise');
    expect(t.kind).toBe('answer');
    if (t.kind === 'answer') expect(t.answer).toEqual(expected);
  });

  it('refuses answers that give no overall preference or values out of range', () => {
    expect(parseTurn('<Answer>TA=1, VQ=1, MQ=0</Answer>', 'pairwise')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/no overall preference/) as string,
    });
    expect(parseTurn('<Answer>TA=1, OA=3</Answer>', 'pairwise')).toMatchObject({ kind: 'invalid', reason: 'OA = 3 is not 0, 1 or 2' });
    expect(parseTurn('<Answer>OA=1, CF=0</Answer>', 'pairwise')).toMatchObject({ kind: 'invalid', reason: 'CF = 0 is not 1, 2 or 3' });
    expect(parseTurn('\\boxed{3}', 'pairwise').kind).toBe('invalid');
  });

  it('reads tool calls in every form: with a stray \\boxed after them, and the bare {"target_frames": …} of the prompt example', () => {
    const stray = parseTurn(
      '<synthesis>s</synthesis><think>t</think><recommend answer>TA = 0, MQ = 2, VQ = 2, OA = 2, CF = 2</recommend answer>\n<tool_call>\n{"name": "select_frames", "arguments": {"target_frames": [12, 60]}}\n</tool_call>\\boxed{2}',
      'pairwise',
    );
    expect(stray).toMatchObject({ kind: 'tool_call', recommend: { TA: 0, MQ: 2, VQ: 2, OA: 2, CF: 2 }, call: { ok: true, targetFrames: [12, 60] } });
    expect(parseTurn('<tool_call>{"target_frames": [10, 20, 58, 70]}</tool_call>', 'pairwise')).toMatchObject({
      kind: 'tool_call',
      recommend: null,
      call: { ok: true, targetFrames: [10, 20, 58, 70] },
    });
    // A recommended answer with overall only stays overall only.
    expect(parseTurn('<recommend answer>OA = 1</recommend answer><tool_call>{"target_frames": [3]}</tool_call>', 'pairwise')).toMatchObject({
      recommend: { OA: 1 },
    });
  });

  it('parses pointwise answers and rejects values out of range', () => {
    expect(parseTurn('<answer> TA = 0.80, MQ = 0.50, VQ = 1, OA = 0.7 </answer>', 'pointwise')).toMatchObject({
      kind: 'pointwise_answer',
      scores: { TA: 0.8, overall: 0.7 },
    });
    expect(parseTurn('<answer> TA = 3, MQ = 0.5, VQ = 1, OA = 0.7 </answer>', 'pointwise').kind).toBe('invalid');
    expect(parseTurn('<answer> TA = 3, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>', 'pairwise')).toMatchObject({
      kind: 'invalid',
      reason: 'TA = 3 is not 0, 1 or 2',
    });
  });

  it('reports malformed tool calls as calls that failed, and text without tags as invalid', () => {
    expect(parseTurn('<tool_call>{"name": "select_frames", "arguments": {"target_frames": "1,2"}}</tool_call>', 'pairwise')).toMatchObject({
      kind: 'tool_call',
      call: { ok: false },
    });
    expect(parseTurn('<tool_call>{not json</tool_call>', 'pairwise')).toMatchObject({
      kind: 'tool_call',
      call: { ok: false, reason: 'tool call is not valid JSON' },
    });
    expect(parseTurn('<tool_call>{"name": "zoom", "arguments": {}}</tool_call>', 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: false } });
    expect(parseTurn('I think video 1 is better.', 'pairwise').kind).toBe('invalid');
  });

  it('renders turns its own parser reads back', () => {
    const a = { TA: 1, MQ: 0, VQ: 2, OA: 1, CF: 2 } as const;
    expect(parseTurn(renderTurn({ snapshot: 's', think: 't', answer: a }), 'pairwise')).toMatchObject({ kind: 'answer', answer: a });
    expect(parseTurn(renderTurn({ snapshot: 's', think: 't', recommend: a, toolFrames: [3, 9] }), 'pairwise')).toMatchObject({
      recommend: a,
      call: { ok: true, targetFrames: [3, 9] },
    });
  });

  it('finds frame references in reasoning but not in tool calls', () => {
    expect(
      frameReferences('In frame 3 the circle is left; frames 5, 7 and 9 show it moving; Frames 10-12 blur. <tool_call>{"target_frames":[40]}</tool_call>'),
    ).toEqual([3, 5, 7, 9, 10, 11, 12]);
  });
});
