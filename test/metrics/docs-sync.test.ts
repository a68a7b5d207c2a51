/**
 * docs/metrics.md and the registered metrics agree exactly (name, type, labels) for both processes; the registries
 * hold exactly the defined metrics; and every metric the alert rules and the Grafana dashboard query exists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { CoordinatorMetrics, RewardServerMetrics, type MetricDefinition } from '../../src/metrics/index.js';

interface Row {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
}

const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'metrics.md'), 'utf8');

/** Metric rows (`| \`vrgrpo_…\` | type | labels | meaning |`) of the section under `## heading`. */
function documented(heading: string): Row[] {
  const start = docs.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/metrics.md has no "## ${heading}" section`);
  const end = docs.indexOf('\n## ', start + 1);
  const section = docs.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `(vrgrpo_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|/gm)].map((m) => ({
    name: m[1] ?? '',
    type: m[2] ?? '',
    labels: [...(m[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((l) => l[1] ?? ''),
  }));
}

const asRows = (defs: readonly MetricDefinition[]): Row[] => defs.map((d) => ({ name: d.name, type: d.type, labels: [...d.labelNames] }));

/** Series names a metric exposes (histograms add _bucket, _sum, _count). */
function seriesNames(defs: readonly MetricDefinition[]): Set<string> {
  return new Set(defs.flatMap((d) => (d.type === 'histogram' ? [`${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name])));
}

/** `vrgrpo_…` identifiers in a PromQL expression. */
const metricRefs = (expr: string): string[] => [...expr.matchAll(/\b(vrgrpo_[a-z0-9_]+)/g)].map((m) => m[1] ?? '');

describe('docs/metrics.md', () => {
  const processes = [
    { heading: 'Coordinator', metrics: new CoordinatorMetrics() },
    { heading: 'Reward server', metrics: new RewardServerMetrics() },
  ] as const;

  for (const { heading, metrics } of processes) {
    it(`documents exactly the metrics of the ${heading.toLowerCase()} (name, type, labels)`, () => {
      const rows = documented(heading);
      expect(rows.length).toBeGreaterThan(10);
      const sort = (xs: Row[]): Row[] => [...xs].sort((a, b) => a.name.localeCompare(b.name));
      expect(sort(rows)).toEqual(sort(asRows(metrics.definitions())));
    });

    it(`the ${heading.toLowerCase()} registry holds exactly its defined metrics`, () => {
      const registered = metrics.registry
        .getMetricsAsArray()
        .map((m) => `${m.name} ${String(m.type)}`)
        .sort();
      expect(registered).toEqual(
        metrics
          .definitions()
          .map((d) => `${d.name} ${d.type}`)
          .sort(),
      );
    });
  }

  it('no metric name is used by both processes', () => {
    const a = new Set(new CoordinatorMetrics().definitions().map((d) => d.name));
    expect(new RewardServerMetrics().definitions().filter((d) => a.has(d.name))).toEqual([]);
  });
});

describe('monitoring/ queries only metrics that exist', () => {
  const known = new Set([...seriesNames(new CoordinatorMetrics().definitions()), ...seriesNames(new RewardServerMetrics().definitions())]);

  it('alerts.yml', () => {
    const rules = parse(readFileSync(join(PROJECT_ROOT, 'monitoring', 'alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const refs = rules.groups.flatMap((g) => g.rules.flatMap((r) => metricRefs(r.expr)));
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((r) => !known.has(r))).toEqual([]);
  });

  it('grafana/vr-grpo.json (panels and annotations)', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'monitoring', 'grafana', 'vr-grpo.json'), 'utf8');
    const dashboard = JSON.parse(text) as { panels: { targets?: { expr: string }[] }[]; annotations: { list: { expr?: string }[] } };
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dashboard.annotations.list.flatMap((a) => (a.expr === undefined ? [] : [a.expr])),
    ];
    const refs = exprs.flatMap(metricRefs);
    expect(refs.length).toBeGreaterThan(20);
    expect(refs.filter((r) => !known.has(r))).toEqual([]);
  });
});
