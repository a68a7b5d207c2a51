/**
 * The shipped monitoring under a real Prometheus (Debian's `prometheus`): quiet on a healthy run, loud on a planted
 * fault. Prometheus runs on monitoring/prometheus.yml, alerts.yml and reward-servers.yml as shipped, with only the
 * coordinator's target (the run's free port) and the scrape/evaluation intervals (1 s) changed, against a short real
 * `vr-grpo train` with drift windows short enough that the policy-reward PSI moves: no alert may be pending or firing
 * at any poll, and no drift detector trips (PSI and Page-Hinkley run on the anchor set, which an unchanged reward model
 * scores the same every pass; the policy-reward PSI is a gauge). Then a `vr-grpo serve-reward` is listed in reward-servers.yml, scraped up, killed,
 * and VrGrpoRewardServerDown fires (its `for:` shortened to 2 s in the test's copy of the rules, nothing else).
 * Without prometheus this file is skipped with a printed reason, except under CI=true, where it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { CliChildren, dashboardUrl, listeningUrl, until, type CliChild } from '../cli/child.js';
import { PROMETHEUS_HINT, SKIP_PROMETHEUS, findPrometheus, prometheusPath } from '../metrics/helpers.js';

const MONITORING = join(PROJECT_ROOT, 'monitoring');
const STEPS = 10;

if (SKIP_PROMETHEUS) {
  const found = findPrometheus();
  console.warn(`test/monitoring/prometheus-quiet.test.ts skipped: ${'missing' in found ? found.missing : ''}; ${PROMETHEUS_HINT} (CI=true fails instead).`);
}

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-prom-quiet-'));
const promDir = join(dir, 'prometheus');
mkdirSync(promDir);
const children = new CliChildren();
let prometheus: { readonly child: ChildProcess; readonly output: () => string; readonly exited: Promise<void> } | null = null;

afterAll(async () => {
  const p = prometheus;
  if (p !== null && p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    await p.exited;
    clearTimeout(timer);
  }
  await children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

// A short world-v1 run (pointwise judging: a few seconds a step on 2 busy cores), one local reward server, drift windows
// of 2 steps so the policy-reward PSI and Page-Hinkley gauges move within the run (before issue 21 they tripped), and
// anchor passes every 3 steps.
const configFile = join(dir, 'train.yaml');
writeFileSync(
  configFile,
  [
    'world: { version: 1, frames: 24 }',
    `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
    `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))} }`,
    'reward: { mode: pointwise, localServers: 1 }',
    `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 5, evalPrompts: 16, checkpointEvery: ${STEPS}, videosEvery: 0, tracesEvery: 0 }`,
    'monitoring:',
    '  drift: { referenceSteps: 2, recentSteps: 2, pageHinkley: { minSamples: 2 }, anchors: { every: 3, prompts: 2, groupSize: 2 } }',
    '',
  ].join('\n'),
);

interface PromConfig {
  global: { scrape_interval: string; evaluation_interval: string };
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; file_sd_configs?: { files: string[] }[] }[];
}
interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string; for?: string }[] }[];
}
interface Alert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
}
interface RuleState {
  readonly name: string;
  readonly type: string;
  readonly health: string;
  readonly lastError?: string;
  readonly duration: number;
  readonly lastEvaluation: string;
}

/** The shipped config with only the coordinator's target and the intervals changed (everything else byte-for-byte). */
function writePrometheusConfig(coordinator: string): void {
  const shipped = parse(readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8')) as PromConfig;
  const config = structuredClone(shipped);
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  const job = config.scrape_configs.find((c) => c.job_name === 'vr-grpo-coordinator');
  expect(job?.static_configs?.[0]?.targets).toEqual(['127.0.0.1:9464']);
  if (job?.static_configs?.[0] !== undefined) job.static_configs[0].targets = [coordinator];
  expect(config.rule_files).toEqual(['alerts.yml']);
  // The reward servers come from the shipped targets file, empty: `npm start` runs none on a fixed port.
  expect(config.scrape_configs.find((c) => c.job_name === 'vr-grpo-reward-server')?.file_sd_configs).toEqual([{ files: ['reward-servers.yml'] }]);
  writeFileSync(join(promDir, 'prometheus.yml'), stringify(config));
  copyFileSync(join(MONITORING, 'alerts.yml'), join(promDir, 'alerts.yml'));
  copyFileSync(join(MONITORING, 'reward-servers.yml'), join(promDir, 'reward-servers.yml'));
  expect(parse(readFileSync(join(promDir, 'reward-servers.yml'), 'utf8'))).toEqual([]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts prometheus on the test's config and resolves with its base URL once /-/ready answers (bounded). */
async function startPrometheus(bin: string): Promise<string> {
  const port = await freePort();
  const child = spawn(
    bin,
    [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { cwd: promDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  prometheus = { child, output: () => out, exited };
  const url = `http://127.0.0.1:${port}`;
  await until('prometheus ready', 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited:\n${out}`);
    const r = await fetch(`${url}/-/ready`).catch(() => null);
    return r?.ok === true ? true : null;
  });
  return url;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}
const alerts = (prom: string): Promise<Alert[]> => api<{ alerts: Alert[] }>(`${prom}/api/v1/alerts`).then((d) => d.alerts);
const rules = (prom: string): Promise<RuleState[]> =>
  api<{ groups: { rules: RuleState[] }[] }>(`${prom}/api/v1/rules?type=alert`).then((d) => d.groups.flatMap((g) => g.rules));
async function query(prom: string, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  return api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${prom}/api/v1/query?query=${encodeURIComponent(promql)}`).then(
    (d) => d.result,
  );
}
const describeAlerts = (list: readonly Alert[]): string[] => list.map((a) => `${a.labels.alertname ?? '?'} ${JSON.stringify(a.labels)} ${a.state}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const shippedAlertNames = (): string[] =>
  (parse(readFileSync(join(MONITORING, 'alerts.yml'), 'utf8')) as RuleFile).groups.flatMap((g) =>
    g.rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])),
  );

describe('finding prometheus', () => {
  it('takes PROMETHEUS_PATH, else the first prometheus on PATH; a missing one says how to get it', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const fake = join(bin, 'prometheus');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect(findPrometheus({ PATH: `/nonexistent:${bin}` })).toEqual({ path: fake });
    expect(findPrometheus({ PATH: '/nonexistent', PROMETHEUS_PATH: fake })).toEqual({ path: fake });
    const missing = findPrometheus({ PATH: '/nonexistent' });
    expect(missing).toEqual({ missing: 'prometheus is not on PATH and PROMETHEUS_PATH is not set' });
    expect(() => prometheusPath(missing)).toThrow(/apt-get install prometheus.*PROMETHEUS_PATH/s);
    // A path the user named that does not work is reported, never replaced by one from PATH.
    expect(findPrometheus({ PATH: bin, PROMETHEUS_PATH: join(bin, 'nope') })).toEqual({ missing: `PROMETHEUS_PATH=${join(bin, 'nope')} does not exist` });
  });
});

describe.skipIf(SKIP_PROMETHEUS)('the shipped Prometheus config and rules against a real run', () => {
  let prom = '';
  let rewardServer: (CliChild & { readonly target: string }) | null = null;

  it('a healthy run fires no alert, pending or firing, and trips no drift detector while its policy-reward PSI moves', async () => {
    // Missing prometheus (CI=true: not skipped) fails here, naming how to get it.
    const bin = prometheusPath();
    // The reward server of the planted fault starts now, so its start-up overlaps the run.
    const serve = children.start(['serve-reward', '--port', '0'], {}, 150_000);
    // Prometheus is up before the run starts (on a port chosen for it), so a short run cannot end unscraped.
    const metricsPort = await freePort();
    writePrometheusConfig(`127.0.0.1:${metricsPort}`);
    prom = await startPrometheus(bin);
    const run = children.start(['train', '--config', configFile, '--run-dir', join(dir, 'run'), '--metrics-port', String(metricsPort)], {}, 150_000);
    const dashboard = await until('the dashboard URL', 60_000, () => {
      if (run.child.exitCode !== null) throw new Error(`train exited before printing its dashboard URL:\n${run.output()}`);
      return dashboardUrl(run.output());
    });
    expect(new URL(dashboard).port).toBe(String(metricsPort));

    // Poll every 250 ms until the run has ended and 5 more evaluations have passed (at most 480 polls, 100 s).
    const seen = new Set<string>();
    let coordinatorUp = false;
    let endedAt: number | null = null;
    const deadline = performance.now() + 100_000;
    for (let i = 0; i < 480 && performance.now() < deadline; i++) {
      for (const a of describeAlerts(await alerts(prom))) seen.add(a);
      if (!coordinatorUp) coordinatorUp = (await query(prom, 'up{job="vr-grpo-coordinator"} == 1')).length === 1;
      if (endedAt === null && run.child.exitCode !== null) endedAt = performance.now();
      if (endedAt !== null && performance.now() - endedAt > 5_000) break;
      await sleep(250);
    }
    expect(endedAt, `the run did not end in time:\n${run.output()}`).not.toBeNull();
    expect(await run.exited, run.output()).toBe(0);
    const targets = coordinatorUp ? null : await api<unknown>(`${prom}/api/v1/targets`);
    expect(coordinatorUp, `the coordinator was never scraped up; targets: ${JSON.stringify(targets)}`).toBe(true);
    expect([...seen]).toEqual([]);

    // Prometheus saw the run train. Not every step: a scrape times out at the 1 s interval while the coordinator is
    // busy, and the run exits right after its last step (a CI run's last successful scrape showed step 7 of 10), so the
    // bound is half the run.
    const lastStep = await query(prom, 'max_over_time(vrgrpo_step{job="vr-grpo-coordinator"}[10m])');
    expect(Number(lastStep[0]?.value[1])).toBeGreaterThanOrEqual(STEPS / 2);
    // No detector tripped (the counter is exported from the start, at 0 per detector) ...
    const trips = await query(prom, 'sum by (detector) (max_over_time(vrgrpo_drift_trips_total[10m]))');
    expect(trips.map((r) => r.metric.detector)).toEqual(
      expect.arrayContaining(['psi', 'page_hinkley', 'anchor_psi', 'anchor_page_hinkley', 'anchor_kendall_tau', 'anchor_mean_shift']),
    );
    expect(trips.filter((r) => Number(r.value[1]) !== 0).map((r) => r.metric.detector)).toEqual([]);
    // ... while the policy-reward PSI gauge was exported and moved: the rewards changed, only nothing paged or tripped.
    const psiRange = await query(
      prom,
      'max_over_time(vrgrpo_drift_psi{dimension="combined"}[10m]) - min_over_time(vrgrpo_drift_psi{dimension="combined"}[10m])',
    );
    expect(Number(psiRange[0]?.value[1])).toBeGreaterThan(0);
    // The run's own record agrees: no `drift` event, and the anchor passes after the first measured PSI 0.
    const events = readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { event: string; psi?: Record<string, number> });
    expect(events.filter((e) => e.event === 'drift')).toEqual([]);
    const anchors = events.filter((e) => e.event === 'anchors');
    expect(anchors.length).toBeGreaterThanOrEqual(2);
    for (const a of anchors) expect(Object.values(a.psi ?? { missing: NaN }).every((v) => v === 0)).toBe(true);
    // Every shipped rule was loaded and evaluated without an error.
    const loaded = await rules(prom);
    expect(loaded.map((r) => r.name).sort()).toEqual(shippedAlertNames().sort());
    for (const r of loaded) {
      expect(r.health, `${r.name}: ${r.lastError ?? ''}`).toBe('ok');
      expect(Date.parse(r.lastEvaluation)).toBeGreaterThan(Date.now() - 10_000);
    }

    const listening = await until('the reward server to listen', 60_000, () => {
      if (serve.child.exitCode !== null) throw new Error(`serve-reward exited:\n${serve.output()}`);
      return listeningUrl(serve.output());
    });
    rewardServer = { ...serve, target: new URL(listening).host };
  }, 150_000);

  it('a killed reward server listed in reward-servers.yml fires VrGrpoRewardServerDown', async () => {
    const server = rewardServer;
    expect(server, 'the first test did not start the reward server').not.toBeNull();
    if (server === null || prom === '') return;
    // List it (written whole, then renamed, as file discovery wants) and wait until Prometheus scrapes it up.
    const targets = join(promDir, 'reward-servers.next.yml');
    writeFileSync(targets, stringify([{ targets: [server.target] }]));
    renameSync(targets, join(promDir, 'reward-servers.yml'));
    await until('the reward server scraped up', 30_000, async () =>
      (await query(prom, `up{job="vr-grpo-reward-server", instance="${server.target}"} == 1`)).length === 1 ? true : null,
    );
    await sleep(2_000);
    expect(describeAlerts(await alerts(prom)), 'a reward server that is up does not page').toEqual([]);

    // The test's copy of the rules: VrGrpoRewardServerDown waits 2 s instead of 1 min; every other rule as shipped.
    const ruleFile = parse(readFileSync(join(MONITORING, 'alerts.yml'), 'utf8')) as RuleFile;
    const down = ruleFile.groups.flatMap((g) => g.rules).find((r) => r.alert === 'VrGrpoRewardServerDown');
    expect(down?.for).toBe('1m');
    if (down !== undefined) down.for = '2s';
    writeFileSync(join(promDir, 'alerts.yml'), stringify(ruleFile));
    prometheus?.child.kill('SIGHUP');
    await until('the rules reloaded', 20_000, async () => ((await rules(prom)).find((r) => r.name === 'VrGrpoRewardServerDown')?.duration === 2 ? true : null));

    server.child.kill('SIGKILL');
    await server.exited;
    const firing = await until('VrGrpoRewardServerDown firing', 30_000, async () => {
      const list = await alerts(prom);
      return list.some((a) => a.labels.alertname === 'VrGrpoRewardServerDown' && a.state === 'firing') ? list : null;
    });
    expect(firing.map((a) => ({ ...a.labels }))).toEqual([
      { alertname: 'VrGrpoRewardServerDown', severity: 'critical', job: 'vr-grpo-reward-server', instance: server.target },
    ]);
  }, 60_000);
});
