/**
 * The monitoring files under real promtool: the Prometheus config and alert rules are valid, every alert rule has unit
 * tests that expect it to fire and not to fire, and `promtool test rules` passes them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { SKIP_PROMTOOL, findPromtool, isCi, promtoolPath, runPromtool } from './helpers.js';

const MONITORING = join(PROJECT_ROOT, 'monitoring');
const scratch = mkdtempSync(join(tmpdir(), 'vrgrpo-promtool-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const alertNames = (): string[] =>
  (parse(readFileSync(join(MONITORING, 'alerts.yml'), 'utf8')) as RuleFile).groups.flatMap((g) =>
    g.rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])),
  );

describe('alert rule tests cover every rule', () => {
  it('each alert of alerts.yml is expected to fire in some test and not to fire in another', () => {
    const tests = parse(readFileSync(join(MONITORING, 'alerts.test.yml'), 'utf8')) as RuleTests;
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const names = alertNames();
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const name of names) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} has a firing case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} has a not-firing case`,
      ).toBe(true);
    }
    // No test names an alert that does not exist.
    expect(cases.map((c) => c.alertname).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('has the alerts the issue asks for', () => {
    expect(alertNames()).toEqual(
      expect.arrayContaining([
        'VrGrpoRewardDrift',
        'VrGrpoHallucinationRateHigh',
        'VrGrpoRewardHackingSuspected',
        'VrGrpoRewardServerDown',
        'VrGrpoTrainerStalled',
        'VrGrpoJudgmentFailureRateHigh',
        // Issue 21: the oracle-free signals.
        'VrGrpoJudgeGapWidening',
        'VrGrpoFullViewDisagreement',
        'VrGrpoPastOveroptimisationPeak',
        'VrGrpoJudgeInconsistent',
        'VrGrpoGuardActed',
      ]),
    );
  });
});

describe('finding promtool', () => {
  const bin = mkdtempSync(join(tmpdir(), 'vrgrpo-fake-path-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('takes PROMTOOL_PATH, else the first promtool on PATH; a missing one says how to get it', () => {
    const fake = join(bin, 'promtool');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect(findPromtool({ PATH: `/nonexistent:${bin}` })).toEqual({ path: fake });
    expect(findPromtool({ PATH: '/nonexistent', PROMTOOL_PATH: fake })).toEqual({ path: fake });
    const missing = findPromtool({ PATH: '/nonexistent' });
    expect(missing).toEqual({ missing: 'promtool is not on PATH and PROMTOOL_PATH is not set' });
    expect(() => promtoolPath(missing)).toThrow(/apt-get install prometheus.*PROMTOOL_PATH/s);
    // A path the user named that does not work is reported, never replaced by one from PATH.
    expect(findPromtool({ PATH: bin, PROMTOOL_PATH: join(bin, 'nope') })).toEqual({ missing: `PROMTOOL_PATH=${join(bin, 'nope')} does not exist` });
  });

  it('knows a CI run by CI=true (and not by CI=false or an empty CI)', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});

describe.skipIf(SKIP_PROMTOOL)('promtool', () => {
  it('is installed (.ci/run installs it; a CI run without it fails here)', () => {
    expect(promtoolPath()).toMatch(/promtool$/);
  });

  it('check config: monitoring/prometheus.yml and the rule file it loads are valid', async () => {
    const r = await runPromtool(['check', 'config', join(MONITORING, 'prometheus.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alertNames().length} rules found`);
  });

  it('check rules: monitoring/alerts.yml is valid, and a broken rule file is refused', async () => {
    const ok = await runPromtool(['check', 'rules', join(MONITORING, 'alerts.yml')]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = join(scratch, 'bad.yml');
    writeFileSync(bad, 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(vrgrpo_judgments_total[5m]) >\n');
    const refused = await runPromtool(['check', 'rules', bad]);
    expect(refused.code).not.toBe(0);
  });

  it('every query of the Grafana dashboard parses as PromQL (as recording rules under check rules)', async () => {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana', 'vr-grpo.json'), 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
      annotations: { list: { expr?: string }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dashboard.annotations.list.flatMap((a) => (a.expr === undefined ? [] : [a.expr])),
    ];
    expect(exprs.length).toBeGreaterThan(20);
    const rules = exprs.map((e, i) => `      - record: grafana:query_${i}\n        expr: ${JSON.stringify(e.replaceAll('$__rate_interval', '5m'))}`);
    const file = join(scratch, 'grafana-queries.yml');
    writeFileSync(file, `groups:\n  - name: grafana\n    rules:\n${rules.join('\n')}\n`);
    const r = await runPromtool(['check', 'rules', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('test rules: every alert unit test in monitoring/alerts.test.yml passes', async () => {
    const r = await runPromtool(['test', 'rules', 'alerts.test.yml'], { cwd: MONITORING });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('test rules fails when an expectation is wrong (the harness can fail)', async () => {
    const tests = readFileSync(join(MONITORING, 'alerts.test.yml'), 'utf8').replace('alerts.yml', join(MONITORING, 'alerts.yml'));
    // Expect the reward-server-down alert one evaluation too early.
    const wrong = tests.replace(
      /- eval_time: 2m\n(\s+)alertname: VrGrpoRewardServerDown\n\s+exp_alerts: \[\]/,
      '- eval_time: 2m\n$1alertname: VrGrpoRewardServerDown\n$1exp_alerts:\n$1  - exp_labels: { severity: critical, job: vr-grpo-reward-server, instance: "rm1:9470" }',
    );
    expect(wrong).not.toBe(tests);
    const file = join(scratch, 'wrong.test.yml');
    writeFileSync(file, wrong);
    const r = await runPromtool(['test', 'rules', file]);
    expect(r.code).not.toBe(0);
  });
});
