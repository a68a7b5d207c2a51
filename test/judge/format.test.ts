import { describe, expect, it } from 'vitest';
import { parseTurn, renderTurn } from '../../src/judge/format.js';
import { frameReferences } from '../../src/judge/frame-claims.js';

describe('VR-Thinker text format', () => {
  it('parses the paper format with case and spacing variants', () => {
    const t = parseTurn('<Snapshot>x</Snapshot><Think>y</Think><Answer>TA=1 , MQ = 0,VQ = 2, OA = 1, CF = 3</Answer>', 'pairwise');
    expect(t).toMatchObject({ kind: 'answer', answer: { TA: 1, MQ: 0, VQ: 2, OA: 1, CF: 3 }, overallOnly: false });
    const tool = parseTurn(
      '<snapshot>a</snapshot><think>b</think><Recommend  Answer> TA = 2, MQ = 2, VQ = 0, OA = 2, CF = 2 </Recommend Answer>\n<tool_call>\n  {"name": "select_frames", "arguments": {"target_frames": [12, 16, 20]}}  \n<|im_end|></tool_call>',
      'pairwise',
    );
    expect(tool).toMatchObject({ kind: 'tool_call', recommend: { TA: 2, OA: 2, CF: 2 }, call: { ok: true, targetFrames: [12, 16, 20] } });
  });

  it('parses the released-code format (<synthesis>, <final answer> … \\boxed{n})', () => {
    const t = parseTurn('<synthesis>s</synthesis><think>t</think><final answer>Video 2 is better. \\boxed{2}</final answer>', 'pairwise');
    expect(t).toMatchObject({ kind: 'answer', overallOnly: true, answer: { OA: 2 } });
    expect(parseTurn('<final answer>both fine</final answer>', 'pairwise').kind).toBe('invalid');
  });

  it('parses pointwise answers and rejects values out of range', () => {
    expect(parseTurn('<answer> TA = 0.80, MQ = 0.50, VQ = 1, OA = 0.7 </answer>', 'pointwise')).toMatchObject({ kind: 'pointwise_answer', scores: { TA: 0.8, overall: 0.7 } });
    expect(parseTurn('<answer> TA = 3, MQ = 0.5, VQ = 1, OA = 0.7 </answer>', 'pointwise').kind).toBe('invalid');
    expect(parseTurn('<answer> TA = 3, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>', 'pairwise').kind).toBe('invalid');
  });

  it('reports malformed tool calls as calls that failed, and text without tags as invalid', () => {
    expect(parseTurn('<tool_call>{"name": "select_frames", "arguments": {"target_frames": "1,2"}}</tool_call>', 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: false } });
    expect(parseTurn('<tool_call>{not json</tool_call>', 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: false, reason: 'tool call is not valid JSON' } });
    expect(parseTurn('<tool_call>{"name": "zoom", "arguments": {}}</tool_call>', 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: false } });
    expect(parseTurn('I think video 1 is better.', 'pairwise').kind).toBe('invalid');
  });

  it('renders turns its own parser reads back', () => {
    const a = { TA: 1, MQ: 0, VQ: 2, OA: 1, CF: 2 } as const;
    expect(parseTurn(renderTurn({ snapshot: 's', think: 't', answer: a }), 'pairwise')).toMatchObject({ kind: 'answer', answer: a });
    expect(parseTurn(renderTurn({ snapshot: 's', think: 't', recommend: a, toolFrames: [3, 9] }), 'pairwise')).toMatchObject({ recommend: a, call: { ok: true, targetFrames: [3, 9] } });
  });

  it('finds frame references in reasoning but not in tool calls', () => {
    expect(frameReferences('In frame 3 the circle is left; frames 5, 7 and 9 show it moving; Frames 10-12 blur. <tool_call>{"target_frames":[40]}</tool_call>')).toEqual([3, 5, 7, 9, 10, 11, 12]);
  });
});
