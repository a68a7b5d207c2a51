/** The accuracy report as a plain-text table (what `vr-grpo eval-judge` prints). */
import type { PairwiseDimension } from '../../protocol/index.js';
import type { AccuracyReport, Ratio } from './accuracy.js';

const DIMENSION_NAMES: Readonly<Record<PairwiseDimension, string>> = { OA: 'overall', VQ: 'VQ', MQ: 'MQ', TA: 'TA' };

export interface ReportHeading {
  /** Benchmark name as printed, e.g. `VideoGen-RewardBench`. */
  readonly bench: string;
  /** The annotation file read. */
  readonly file: string;
  /** Judge description, e.g. `embedded rm-v2` or `ws://host:9000 (vlm:vr-thinker)`. */
  readonly judge: string;
  readonly seconds: number;
}

/** `80.5% (805/1000)`, or `—` when nothing was scored. */
export function formatRatio(r: Ratio): string {
  return r.accuracy === null ? '—' : `${(100 * r.accuracy).toFixed(1)}% (${r.correct}/${r.total})`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  // First column left-aligned (names), the others right-aligned (numbers).
  return rows.map((row) =>
    row
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The report as lines: a heading, the failure count by code, one row per dimension, and a legend. */
export function formatReport(report: AccuracyReport, heading: ReportHeading): string[] {
  const failures = Object.entries(report.failures.byCode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const lines = [
    `${heading.bench} · ${heading.file} · judge ${heading.judge} · ${heading.seconds.toFixed(1)} s`,
    `pairs ${report.pairs} · verdicts ${report.verdicts} · failures ${report.failures.total}${failures === '' ? '' : ` (${failures})`}`,
    '',
  ];
  const header = ['dimension', 'labelled', 'gold ties', 'judged', 'not given', 'failed', 'w/ ties', 'w/o ties', 'judge ties†'];
  const rows = report.dimensions.map((d) =>
    d.labelled === 0
      ? [DIMENSION_NAMES[d.dimension], '0', '—', '—', '—', '—', 'no labels', 'no labels', '—']
      : [
          DIMENSION_NAMES[d.dimension],
          String(d.labelled),
          String(d.goldTies),
          String(d.judged),
          String(d.notGiven),
          String(d.failed),
          formatRatio(d.withTies),
          formatRatio(d.withoutTies),
          String(d.cells.judgeTieOnly),
        ],
  );
  lines.push(...table([header, ...rows]));
  lines.push(
    '',
    'w/ ties: 3-way accuracy over judged pairs (a tie is right only against a tied label).',
    'w/o ties: pairs labelled as ties dropped; a judge tie there counts as wrong.',
    '† judge ties: judged pairs where the judge said tie and the label prefers a video.',
    'not given: verdicts without this dimension (not scored); failed: judge failures (not scored).',
  );
  return lines;
}
