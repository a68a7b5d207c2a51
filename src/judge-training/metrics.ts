/**
 * What a set of judge traces measures against gold: pairwise (overall) accuracy and per-dimension accuracy on the pairs
 * whose gold preference is decided (ties excluded, as VR-Thinker reports "w/o ties"), frames viewed, tool calls, the
 * share of traces that looked closer, well-formed and all-correct shares, and the accuracy of the first answer a trace
 * gave (its first recommendation) — which shows whether later turns improved it.
 */
import type { PairwiseDimension } from '../protocol/index.js';
import { allCorrect, formatValid } from './filters.js';
import { explored, type Trace } from './trace.js';
import type { AnswerMode } from '../judge/backends/learned/index.js';

export interface JudgeMetrics {
  readonly judgments: number;
  readonly failures: number;
  /** Overall (OA) accuracy on pairs with a decided gold overall preference. */
  readonly pairwiseAccuracy: number;
  readonly perDimension: Readonly<Record<'TA' | 'MQ' | 'VQ', number>>;
  /** Mean of the three per-dimension accuracies. */
  readonly perDimensionMean: number;
  readonly nonTie: Readonly<Record<PairwiseDimension, number>>;
  readonly meanFramesViewed: number;
  readonly meanToolCalls: number;
  readonly exploredShare: number;
  readonly formatValidShare: number;
  readonly allCorrectShare: number;
  /** OA accuracy of each trace's first answer (its first recommendation when it looked closer). */
  readonly firstAnswerAccuracy: number;
  /**
   * World v2 only (pairs that carry `local`): OA accuracy on the decided pairs only evidence local in time decides
   * (`local`) and on the others (`global`), with their counts.
   */
  readonly split?: { readonly local: number; readonly localPairs: number; readonly global: number; readonly globalPairs: number };
}

const r4 = (x: number): number => Math.round(x * 10000) / 10000;

export function summarise(traces: readonly Trace[], mode: AnswerMode = 'per-dimension'): JudgeMetrics {
  const ok = traces.filter((t) => t.final !== null);
  /** Accuracy on dimension d over the decided pairs whose verdict gave d (NaN when none did: "not given"). */
  const acc = (d: PairwiseDimension): { acc: number; n: number } => {
    const scored = ok.filter((t) => t.gold[d] !== 0 && t.final?.[d] !== undefined);
    return { acc: scored.length === 0 ? NaN : scored.filter((t) => t.final?.[d] === t.gold[d]).length / scored.length, n: scored.length };
  };
  const [TA, MQ, VQ, OA] = (['TA', 'MQ', 'VQ', 'OA'] as const).map(acc) as [
    ReturnType<typeof acc>,
    ReturnType<typeof acc>,
    ReturnType<typeof acc>,
    ReturnType<typeof acc>,
  ];
  const firstScored = ok.filter((t) => t.gold.OA !== 0 && t.answers.length > 0);
  const n = Math.max(1, ok.length);
  const decided = ok.filter((t) => t.gold.OA !== 0 && t.final?.OA !== undefined && t.local !== undefined);
  const oaOf = (ts: readonly Trace[]): number => (ts.length === 0 ? NaN : r4(ts.filter((t) => t.final?.OA === t.gold.OA).length / ts.length));
  const local = decided.filter((t) => t.local === true);
  const global = decided.filter((t) => t.local === false);
  const split = traces.some((t) => t.local !== undefined)
    ? { split: { local: oaOf(local), localPairs: local.length, global: oaOf(global), globalPairs: global.length } }
    : {};
  return {
    judgments: traces.length,
    failures: traces.length - ok.length,
    pairwiseAccuracy: r4(OA.acc),
    perDimension: { TA: r4(TA.acc), MQ: r4(MQ.acc), VQ: r4(VQ.acc) },
    perDimensionMean: r4((TA.acc + MQ.acc + VQ.acc) / 3),
    nonTie: { TA: TA.n, MQ: MQ.n, VQ: VQ.n, OA: OA.n },
    meanFramesViewed: r4(ok.reduce((s, t) => s + t.framesViewed, 0) / n),
    meanToolCalls: r4(ok.reduce((s, t) => s + t.toolCalls, 0) / n),
    exploredShare: r4(ok.filter(explored).length / n),
    formatValidShare: r4(traces.filter(formatValid).length / Math.max(1, traces.length)),
    allCorrectShare: r4(ok.filter((t) => allCorrect(t, mode)).length / n),
    firstAnswerAccuracy: r4(firstScored.length === 0 ? NaN : firstScored.filter((t) => t.answers[0]?.OA === t.gold.OA).length / firstScored.length),
    ...split,
  };
}
