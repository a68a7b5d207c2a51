/** What cold start and rejection sampling learn from: only well-formed traces whose answers are all correct (hand-built traces). */
import { describe, expect, it } from 'vitest';
import { allCorrect, formatValid, keepForImitation, summarise, type GoldPreferences, type Trace } from '../../src/judge-training/index.js';
import { answer, trace } from './fixtures.js';

const gold: GoldPreferences = { TA: 1, MQ: 2, VQ: 0, OA: 1 };
const right = answer(1, 2, 0, 1);

describe('formatValid', () => {
  it('accepts a clean trace and rejects every kind of malformed one', () => {
    expect(formatValid(trace(gold, [right]))).toBe(true);
    expect(formatValid(trace(gold, [answer(1, 1, 0, 2), right]))).toBe(true);
    const bad: Partial<Trace>[] = [
      { failed: true, final: null },
      { final: null },
      { formatErrors: 1 },
      { forced: true },
      { unrepresentable: 1 },
      { hallucinations: [{ kind: 'invalid_selection', detail: 'too many frames' }] },
      { hallucinations: [{ kind: 'unseen_frame_reference', detail: 'frame 40' }] },
      { hallucinations: [{ kind: 'inconsistent_answer', detail: 'OA disagrees' }] },
    ];
    for (const extra of bad) expect(formatValid(trace(gold, [right], extra)), JSON.stringify(extra)).toBe(false);
  });

  it('does not count hallucinations that are not the trace format (an audit or order disagreement)', () => {
    expect(formatValid(trace(gold, [right], { hallucinations: [{ kind: 'audit_disagreement', detail: 'x' }] }))).toBe(true);
    expect(formatValid(trace(gold, [right], { hallucinations: [{ kind: 'order_flip', detail: 'x' }] }))).toBe(true);
  });
});

describe('allCorrect', () => {
  it('needs the overall and every decided per-dimension answer right; a gold tie accepts any answer', () => {
    expect(allCorrect(trace(gold, [right]), 'per-dimension')).toBe(true);
    // VQ is a gold tie: any VQ answer is fine.
    expect(allCorrect(trace(gold, [answer(1, 2, 1, 1)]), 'per-dimension')).toBe(true);
    expect(allCorrect(trace(gold, [answer(1, 2, 0, 2)]), 'per-dimension')).toBe(false); // OA wrong
    expect(allCorrect(trace(gold, [answer(2, 2, 0, 1)]), 'per-dimension')).toBe(false); // TA wrong
    expect(allCorrect(trace(gold, [answer(1, 0, 0, 1)]), 'per-dimension')).toBe(false); // MQ says tie, gold says 2
  });

  it('judges only the final answer (earlier recommendations may be wrong)', () => {
    expect(allCorrect(trace(gold, [answer(2, 1, 1, 2), right]), 'per-dimension')).toBe(true);
    expect(allCorrect(trace(gold, [right, answer(2, 1, 1, 2)]), 'per-dimension')).toBe(false);
  });

  it('overall-only: OA alone decides', () => {
    expect(allCorrect(trace(gold, [answer(2, 1, 2, 1)]), 'overall-only')).toBe(true);
    expect(allCorrect(trace(gold, [answer(1, 2, 0, 2)]), 'overall-only')).toBe(false);
  });

  it('rejects a trace without a verdict, and one with nothing decided to be right about', () => {
    expect(allCorrect(trace(gold, [right], { final: null }), 'per-dimension')).toBe(false);
    expect(allCorrect(trace({ TA: 0, MQ: 0, VQ: 0, OA: 0 }, [right]), 'per-dimension')).toBe(false);
  });
});

describe('keepForImitation', () => {
  it('keeps exactly the well-formed, all-correct traces that have turns to imitate', () => {
    const traces: { t: Trace; keep: boolean }[] = [
      { t: trace(gold, [right]), keep: true },
      { t: trace(gold, [answer(0, 0, 0, 2), right]), keep: true },
      { t: trace(gold, [answer(1, 2, 0, 2)]), keep: false },
      { t: trace(gold, [answer(1, 1, 0, 1)]), keep: false },
      { t: trace(gold, [right], { forced: true }), keep: false },
      { t: trace(gold, [right], { unrepresentable: 2 }), keep: false },
      { t: trace(gold, [right], { hallucinations: [{ kind: 'invalid_selection', detail: 'x' }] }), keep: false },
      { t: trace(gold, [right], { steps: [] }), keep: false },
    ];
    const kept = traces.filter(({ t }) => keepForImitation(t, 'per-dimension'));
    expect(kept).toEqual(traces.filter((x) => x.keep));
    expect(kept).toHaveLength(2);
  });
});

describe('measured accuracy counts only what a verdict gave', () => {
  it('leaves a dimension that no final answer gave as not given (NaN), and scores OA as usual', () => {
    const gold: GoldPreferences = { TA: 1, MQ: 2, VQ: 1, OA: 1 };
    // Overall-only verdicts (a bare \boxed{n}): OA right on one pair, wrong on the other; no TA/MQ/VQ.
    const traces = [trace(gold, [answer(1, 1, 1, 1)], { final: { OA: 1 } }), trace(gold, [answer(2, 2, 2, 2)], { final: { OA: 2 } })];
    const m = summarise(traces, 'overall-only');
    expect(m.pairwiseAccuracy).toBe(0.5);
    expect(m.perDimension.TA).toBeNaN();
    expect(m.perDimension.MQ).toBeNaN();
    // Complete verdicts are scored on every dimension.
    expect(summarise([trace(gold, [answer(1, 2, 2, 1)])]).perDimension).toEqual({ TA: 1, MQ: 1, VQ: 0 });
  });
});
