/**
 * The accuracy maths on hand-built verdict sets: 3-way accuracy with ties, accuracy without ties (gold ties dropped,
 * a judge tie against a preference wrong), failures and missing dimensions never scored, and the printed table.
 */
import { describe, expect, it } from 'vitest';
import { cellOf, computeAccuracy, formatRatio, formatReport, type PairOutcome, type ScoredPair } from '../../src/judge/benchmarks/index.js';
import type { Preference, VerdictAnswer } from '../../src/protocol/index.js';

const said = (answer: VerdictAnswer): PairOutcome => ({ kind: 'verdict', answer });
const oa = (gold: Preference, judge: Preference): ScoredPair => ({ gold: { OA: gold }, outcome: said({ OA: judge }) });

describe('accuracy with and without ties', () => {
  it("puts each (gold, judge) pair in VideoAlign's cell", () => {
    expect(cellOf(1, 1)).toBe('agree');
    expect(cellOf(2, 2)).toBe('agree');
    expect(cellOf(1, 2)).toBe('disagree');
    expect(cellOf(0, 1)).toBe('goldTieOnly');
    expect(cellOf(2, 0)).toBe('judgeTieOnly');
    expect(cellOf(0, 0)).toBe('bothTie');
  });

  it('counts tie-vs-tie as right with ties, drops gold ties without ties, and a judge tie against a preference is wrong in both', () => {
    // 3 agree, 1 disagree, 1 judge tie on a preference, 2 gold ties (one matched by a judge tie), 1 gold tie the judge broke.
    const pairs = [oa(1, 1), oa(2, 2), oa(1, 1), oa(2, 1), oa(1, 0), oa(0, 0), oa(0, 2)];
    const r = computeAccuracy(pairs);
    const overall = r.dimensions[0];
    expect(overall?.dimension).toBe('OA');
    expect(overall?.cells).toEqual({ agree: 3, disagree: 1, goldTieOnly: 1, judgeTieOnly: 1, bothTie: 1 });
    expect(overall).toMatchObject({ labelled: 7, goldTies: 2, judged: 7, notGiven: 0, failed: 0 });
    expect(overall?.withTies).toEqual({ correct: 4, total: 7, accuracy: 4 / 7 });
    // Gold ties (2) dropped; the judge's tie on a preferred pair stays in the denominator.
    expect(overall?.withoutTies).toEqual({ correct: 3, total: 5, accuracy: 3 / 5 });
  });

  it('leaves failed judgments out of both accuracies and counts them by code', () => {
    const pairs: ScoredPair[] = [
      oa(1, 1),
      oa(2, 1),
      { gold: { OA: 1 }, outcome: { kind: 'failed', code: 'FORMAT_ERROR' } },
      { gold: { OA: 0 }, outcome: { kind: 'failed', code: 'BACKEND_TIMEOUT' } },
      { gold: { OA: 2 }, outcome: { kind: 'failed', code: 'FORMAT_ERROR' } },
    ];
    const r = computeAccuracy(pairs);
    expect(r).toMatchObject({ pairs: 5, verdicts: 2, failures: { total: 3, byCode: { FORMAT_ERROR: 2, BACKEND_TIMEOUT: 1 } } });
    expect(r.dimensions[0]).toMatchObject({ labelled: 5, judged: 2, failed: 3, withTies: { correct: 1, total: 2 }, withoutTies: { correct: 1, total: 2 } });
  });

  it('counts a dimension the verdict does not give as not given (neither right nor wrong), and a dimension without gold not at all', () => {
    const pairs: ScoredPair[] = [
      // A full released-format answer: TA=1, VQ=1, MQ=0, OA=1.
      { gold: { OA: 1, TA: 1, VQ: 2, MQ: 0 }, outcome: said({ TA: 1, VQ: 1, MQ: 0, OA: 1 }) },
      // A bare \boxed{2}: overall only.
      { gold: { OA: 2, TA: 2, VQ: 2, MQ: 1 }, outcome: said({ OA: 2 }) },
      // A GenAI-Bench-like pair: overall gold only.
      { gold: { OA: 1 }, outcome: said({ TA: 1, VQ: 1, MQ: 1, OA: 1, CF: 2 }) },
    ];
    const r = computeAccuracy(pairs);
    const byDim = Object.fromEntries(r.dimensions.map((d) => [d.dimension, d]));
    expect(r.dimensions.map((d) => d.dimension)).toEqual(['OA', 'VQ', 'MQ', 'TA']);
    expect(byDim.OA).toMatchObject({ labelled: 3, judged: 3, notGiven: 0, withTies: { correct: 3, total: 3 }, withoutTies: { correct: 3, total: 3 } });
    expect(byDim.TA).toMatchObject({ labelled: 2, judged: 1, notGiven: 1, withTies: { correct: 1, total: 1 }, withoutTies: { correct: 1, total: 1 } });
    expect(byDim.VQ).toMatchObject({ labelled: 2, judged: 1, notGiven: 1, withTies: { correct: 0, total: 1 }, withoutTies: { correct: 0, total: 1 } });
    // MQ: gold tie vs judge tie on pair 1 (right with ties; dropped without), not given on pair 2.
    expect(byDim.MQ).toMatchObject({
      labelled: 2,
      goldTies: 1,
      judged: 1,
      notGiven: 1,
      withTies: { correct: 1, total: 1, accuracy: 1 },
      withoutTies: { correct: 0, total: 0, accuracy: null },
    });
  });

  it('reports null accuracies, not zeros, when nothing was scored', () => {
    const r = computeAccuracy([{ gold: { OA: 1 }, outcome: { kind: 'failed', code: 'JUDGE_FAILED' } }]);
    expect(r.dimensions[0]?.withTies.accuracy).toBeNull();
    expect(r.dimensions[0]?.withoutTies.accuracy).toBeNull();
    expect(r.dimensions[1]).toMatchObject({ labelled: 0, judged: 0 });
    expect(computeAccuracy([])).toMatchObject({ pairs: 0, verdicts: 0, failures: { total: 0 } });
  });
});

describe('the printed report', () => {
  it('prints one row per dimension with both accuracies, the failures by code, and "no labels" for dimensions without gold', () => {
    const r = computeAccuracy([oa(1, 1), oa(2, 0), oa(0, 0), { gold: { OA: 1 }, outcome: { kind: 'failed', code: 'FORMAT_ERROR' } }]);
    const lines = formatReport(r, { bench: 'GenAI-Bench (video generation)', file: '/data/video_generation.jsonl', judge: 'embedded rm-v2', seconds: 1.25 });
    expect(lines[0]).toBe('GenAI-Bench (video generation) · /data/video_generation.jsonl · judge embedded rm-v2 · 1.3 s');
    expect(lines[1]).toBe('pairs 4 · verdicts 3 · failures 1 (FORMAT_ERROR 1)');
    const overall = lines.find((l) => l.startsWith('overall'));
    expect(overall?.split(/\s{2,}/)).toEqual(['overall', '4', '1', '3', '0', '1', '66.7% (2/3)', '50.0% (1/2)', '1']);
    expect(lines.find((l) => l.startsWith('TA'))).toContain('no labels');
    expect(formatRatio({ correct: 0, total: 0, accuracy: null })).toBe('—');
  });
});
