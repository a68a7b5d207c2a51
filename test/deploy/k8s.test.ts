/**
 * The Kubernetes manifests in deploy/k8s: every resource the kustomization lists validates against the Kubernetes
 * OpenAPI schemas (kubernetes-models), and the parts that must agree do: probes on /healthz, the ports the processes
 * listen on (CLI flags, the coordinator's monitor default), Service and scrape annotations, Secret references, and
 * the coordinator's config (a valid vr-grpo config whose reward servers are the Service).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, resolveConfig } from '../../src/config/index.js';
import { DEFAULT_MONITOR_PORT } from '../../src/dashboard/index.js';

const DIR = path.join(PROJECT_ROOT, 'deploy', 'k8s');

interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port?: number | string };
}
interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } };
  }[];
  readonly ports?: readonly ContainerPort[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly resources?: { readonly requests?: Record<string, string> };
}
interface PodTemplate {
  readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: {
    readonly containers: readonly Container[];
    readonly volumes?: readonly {
      readonly name: string;
      readonly persistentVolumeClaim?: { readonly claimName: string };
      readonly configMap?: { readonly name: string };
    }[];
  };
}

/** One model class per (apiVersion, kind) the manifests use: each validates against the Kubernetes OpenAPI schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function validate(resource: unknown): void {
  const r = resource as Resource;
  const Model = MODELS[`${r.apiVersion}/${r.kind}`];
  if (Model === undefined) throw new Error(`no schema model for ${r.apiVersion} ${r.kind}`);
  new Model(resource as never).validate();
}

const kustomization = parseYaml(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
  secretGenerator: { name: string; envs: string[] }[];
};

function load(): Resource[] {
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Resource;
    }),
  );
}

const resources = load();

function find(kind: string, name: string): Resource {
  const r = resources.find((x) => x.kind === kind && x.metadata.name === name);
  if (r === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return r;
}

function template(r: Resource): PodTemplate {
  return (r.spec as { template: PodTemplate }).template;
}

function container(r: Resource): Container {
  const c = template(r).spec.containers[0];
  if (c === undefined) throw new Error(`${r.metadata.name} has no container`);
  return c;
}

/** The port a probe or Service names (a number, or a container port name). */
function portNumber(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The value of `--flag` in a container's args. */
function flag(c: Container, name: string): string | undefined {
  const args = c.args ?? [];
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

/** Keys of a tokens env file (KEY=value lines). */
function envKeys(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => line.slice(0, line.indexOf('=')));
}

describe('deploy/k8s', () => {
  it('every resource the kustomization lists validates against the Kubernetes schemas', () => {
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/vr-grpo-coordinator-config',
        'Deployment/vr-grpo-reward-server',
        'Job/vr-grpo-train',
        'Namespace/vr-grpo',
        'PersistentVolumeClaim/vr-grpo-runs',
        'PodDisruptionBudget/vr-grpo-reward-server',
        'Service/vr-grpo-coordinator',
        'Service/vr-grpo-reward-server',
      ].sort(),
    );
    for (const r of resources) expect(() => validate(r), `${r.kind}/${r.metadata.name}`).not.toThrow();
    // The generated Secret (from tokens.env; the example stands in for it) validates too.
    const generator = kustomization.secretGenerator[0];
    expect(generator?.name).toBe('vr-grpo-tokens');
    const keys = envKeys(path.join(DIR, 'tokens.env.example'));
    expect(keys).toContain('VRGRPO_TOKEN');
    expect(() =>
      validate({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vr-grpo-tokens' }, stringData: Object.fromEntries(keys.map((k) => [k, 'x'])) }),
    ).not.toThrow();
    expect(kustomization.namespace).toBe('vr-grpo');
  });

  it('the validator rejects a broken manifest (so the check above can fail)', () => {
    const broken = structuredClone(find('Deployment', 'vr-grpo-reward-server')) as unknown as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    };
    const port = broken.spec.template.spec.containers[0]?.ports[0];
    if (port === undefined) throw new Error('no port');
    port.containerPort = 'ninety-four-seventy';
    expect(() => validate(broken)).toThrow(/containerPort/);
    expect(() => validate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'ws', targetPort: 9470 }] } })).toThrow(/port/);
  });

  it('reward servers: probes on /healthz, one port everywhere (CLI --port, container, Service, scrape annotation), token from the Secret, resource requests', () => {
    const deployment = find('Deployment', 'vr-grpo-reward-server');
    const service = find('Service', 'vr-grpo-reward-server');
    const c = container(deployment);
    expect(c.args?.[0]).toBe('serve-reward');
    const port = Number(flag(c, '--port'));
    expect(Number.isInteger(port) && port > 0).toBe(true);
    expect(flag(c, '--host')).toBe('0.0.0.0');
    expect(c.ports?.map((p) => p.containerPort)).toEqual([port]);
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      expect(probe?.httpGet?.path).toBe('/healthz');
      expect(portNumber(c, probe?.httpGet?.port)).toBe(port);
    }
    const servicePorts = (service.spec as { ports: { port: number; targetPort: number | string }[]; selector: Record<string, string> }).ports;
    expect(servicePorts.map((p) => portNumber(c, p.targetPort))).toEqual([port]);
    expect(servicePorts.map((p) => p.port)).toEqual([port]);
    const annotations = template(deployment).metadata.annotations ?? {};
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
    // The Service and the PodDisruptionBudget select the Deployment's pods.
    const labels = template(deployment).metadata.labels;
    const selectors = [
      (service.spec as { selector: Record<string, string> }).selector,
      (deployment.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
      (find('PodDisruptionBudget', 'vr-grpo-reward-server').spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
    ];
    for (const selector of selectors) expect(labels).toMatchObject(selector);
    expect((deployment.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(c.env?.find((e) => e.name === 'VRGRPO_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'vr-grpo-tokens', key: 'VRGRPO_TOKEN' });
    expect(c.resources?.requests).toMatchObject({ cpu: expect.any(String) as string, memory: expect.any(String) as string });
  });

  it('coordinator: a Job with the runs PVC, metrics on the monitor default port, and a config that pools the reward-server Service', () => {
    const job = find('Job', 'vr-grpo-train');
    const c = container(job);
    const pod = template(job);
    expect(c.ports?.map((p) => p.containerPort)).toEqual([DEFAULT_MONITOR_PORT]);
    expect(pod.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(DEFAULT_MONITOR_PORT),
      'prometheus.io/path': '/metrics',
    });
    expect(c.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(portNumber(c, c.readinessProbe?.httpGet?.port)).toBe(DEFAULT_MONITOR_PORT);
    const service = find('Service', 'vr-grpo-coordinator');
    expect((service.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([DEFAULT_MONITOR_PORT]);
    expect(pod.metadata.labels).toMatchObject((service.spec as { selector: Record<string, string> }).selector);

    // The run folder lives on the PVC; the command starts or resumes `vr-grpo train` in it.
    const volumes = pod.spec.volumes ?? [];
    expect(volumes.find((v) => v.persistentVolumeClaim !== undefined)?.persistentVolumeClaim?.claimName).toBe(
      find('PersistentVolumeClaim', 'vr-grpo-runs').metadata.name,
    );
    const script = (c.args ?? []).join(' ');
    const runDir = c.env?.find((e) => e.name === 'RUN_DIR')?.value ?? '';
    expect(runDir.startsWith('/runs/')).toBe(true);
    expect(script).toContain('train --config /config/train.yaml --resume "$RUN_DIR"');
    expect(script).toContain('train --config /config/train.yaml --run-dir "$RUN_DIR"');
    expect(c.env?.find((e) => e.name === 'VRGRPO_TOKEN')?.valueFrom?.secretKeyRef?.name).toBe('vr-grpo-tokens');

    // The config in the ConfigMap is a valid vr-grpo config whose reward servers are the reward-server Service.
    const configMap = find('ConfigMap', 'vr-grpo-coordinator-config');
    expect(volumes.find((v) => v.configMap !== undefined)?.configMap?.name).toBe(configMap.metadata.name);
    const text = (configMap.data as Record<string, string>)['train.yaml'] ?? '';
    const config = resolveConfig(parseYaml(text), { baseDir: '/config', source: '/config/train.yaml' });
    const rewardPort = Number(flag(container(find('Deployment', 'vr-grpo-reward-server')), '--port'));
    expect(config.reward.servers.length).toBeGreaterThanOrEqual(2);
    expect(new Set(config.reward.servers).size).toBe(config.reward.servers.length); // distinct, so the pool keeps them apart
    for (const url of config.reward.servers) {
      const u = new URL(url);
      expect(u.protocol).toBe('ws:');
      expect(u.hostname).toBe('vr-grpo-reward-server');
      expect(Number(u.port)).toBe(rewardPort);
    }
    // The HTTP port answers the kubelet and Prometheus from outside the pod (the default binds loopback only); bound to
    // 0.0.0.0, any Host header passes (allowedHosts null) and browsers' origins are the page's own.
    expect(config.monitoring.http).toEqual({ enabled: true, host: '0.0.0.0', port: DEFAULT_MONITOR_PORT, allowedHosts: null, allowedOrigins: [] });
    expect(config.generator.checkpoint).toBe('/app/models/generator-base-v2');
    expect(config.judge.checkpoint).toBe('/app/models/judge-v2/grpo-no-cot-gain');
    // Those model folders exist in the image (deploy/Dockerfile copies models/ to /app/models).
    expect(fs.existsSync(path.join(PROJECT_ROOT, 'models', 'generator-base-v2'))).toBe(true);
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'deploy', 'Dockerfile'), 'utf8')).toMatch(/WORKDIR \/app[\s\S]*COPY models \.\/models/);
  });
});
