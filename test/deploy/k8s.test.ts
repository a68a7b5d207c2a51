/**
 * The Kubernetes manifests in deploy/k8s, built per overlay (test/deploy/kustomize.ts): every resource validates
 * against the Kubernetes OpenAPI schemas (kubernetes-models), and the parts that must agree do — in every overlay:
 * probes on the paths and ports the processes serve, Service and NetworkPolicy selectors on real pod labels, every
 * Secret / ConfigMap / PVC a pod names exists, images pinned, the security settings; in the embedded overlay: the
 * reward servers and the coordinator as before the split; in the cluster-gpu overlay: the reward servers' VLM
 * endpoint is the vLLM Service, the coordinator's worker URLs are the StatefulSet's pod DNS names, the shared
 * artifact volume is mounted at one path everywhere, and every config file passes the repo's config loader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, resolveConfig, type Config } from '../../src/config/index.js';
import { DEFAULT_MONITOR_PORT } from '../../src/dashboard/index.js';
import { build, type Resource } from './kustomize.js';

const K8S = path.join(PROJECT_ROOT, 'deploy', 'k8s');
const NAMESPACE = 'vr-grpo';
const ARTIFACTS_PVC = 'vr-grpo-artifacts';
const ARTIFACT_ROOT = '/artifacts';

interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port?: number | string };
}
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly secretKeyRef?: { readonly name: string; readonly key: string };
    readonly configMapKeyRef?: { readonly name: string; readonly key: string };
    readonly fieldRef?: { readonly fieldPath: string };
  };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly startupProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  readonly securityContext?: {
    readonly allowPrivilegeEscalation?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[] };
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}
interface Volume {
  readonly name: string;
  readonly persistentVolumeClaim?: { readonly claimName: string; readonly readOnly?: boolean };
  readonly configMap?: { readonly name: string };
  readonly secret?: { readonly secretName: string };
  readonly emptyDir?: unknown;
  readonly [source: string]: unknown;
}
interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: readonly { readonly key?: string }[];
  readonly terminationGracePeriodSeconds?: number;
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: { readonly runAsNonRoot?: boolean; readonly runAsUser?: number };
}
interface PodTemplate {
  readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: PodSpec;
}
interface ServiceSpec {
  readonly clusterIP?: string;
  readonly selector: Record<string, string>;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly targetPort: number | string }[];
}
interface NetworkPolicySpec {
  readonly podSelector: { readonly matchLabels: Record<string, string> };
  readonly policyTypes: readonly string[];
  readonly ingress: readonly {
    readonly from: readonly { readonly podSelector?: { readonly matchLabels: Record<string, string> } }[];
    readonly ports: readonly { readonly port: number }[];
  }[];
}

/** One model class per (apiVersion, kind) the manifests use: each validates against the Kubernetes OpenAPI schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function validate(resource: unknown): void {
  const r = resource as Resource;
  const Model = MODELS[`${r.apiVersion}/${r.kind}`];
  if (Model === undefined) throw new Error(`no schema model for ${r.apiVersion} ${r.kind}`);
  new Model(resource as never).validate();
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job']);

/** One built overlay and the questions the checks ask of it. */
class Overlay {
  readonly resources: Resource[];
  constructor(readonly dir: string) {
    this.resources = build(path.join(K8S, dir));
  }

  find(kind: string, name: string): Resource {
    const r = this.resources.find((x) => x.kind === kind && x.metadata.name === name);
    if (r === undefined) throw new Error(`no ${kind} ${name} in ${this.dir}`);
    return r;
  }

  has(kind: string, name: string): boolean {
    return this.resources.some((x) => x.kind === kind && x.metadata.name === name);
  }

  get workloads(): Resource[] {
    return this.resources.filter((r) => WORKLOADS.has(r.kind));
  }

  /** The workloads whose pods a selector picks (an empty selector picks none here). */
  selected(selector: Record<string, string>): Resource[] {
    return this.workloads.filter((w) => matches(template(w).metadata.labels, selector));
  }

  /** The text of the file a container sees at `file`, through its volume mount to a ConfigMap. */
  configFile(workload: Resource, c: Container, file: string): string {
    const mount = c.volumeMounts?.find((m) => path.dirname(file) === m.mountPath);
    const volume = template(workload).spec.volumes?.find((v) => v.name === mount?.name);
    const configMap = volume?.configMap?.name;
    if (configMap === undefined) throw new Error(`${workload.metadata.name}: ${file} is not on a ConfigMap volume`);
    const text = (this.find('ConfigMap', configMap).data as Record<string, string>)[path.basename(file)];
    if (text === undefined) throw new Error(`ConfigMap ${configMap} has no ${path.basename(file)}`);
    return text;
  }
}

const matches = (labels: Record<string, string>, selector: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function template(r: Resource): PodTemplate {
  return (r.spec as { template: PodTemplate }).template;
}

function containers(r: Resource): Container[] {
  const spec = template(r).spec;
  return [...spec.containers, ...(spec.initContainers ?? [])];
}

function container(r: Resource, name?: string): Container {
  const c = name === undefined ? template(r).spec.containers[0] : template(r).spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${r.metadata.name} has no container ${name ?? ''}`);
  return c;
}

/** The port a probe or Service names (a number, or a container port name). */
function portNumber(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The value of `--flag` in a container's args (`--flag value` or `--flag=value`). */
function flag(c: Container, name: string): string | undefined {
  const args = c.args ?? [];
  const at = args.indexOf(name);
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function env(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

/** Where a container mounts a volume backed by `claimName`. */
function claimMounts(w: Resource, claimName: string): { container: string; mountPath: string; readOnly: boolean }[] {
  const volumes = (template(w).spec.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName === claimName).map((v) => v.name);
  return containers(w).flatMap((c) =>
    (c.volumeMounts ?? []).filter((m) => volumes.includes(m.name)).map((m) => ({ container: c.name, mountPath: m.mountPath, readOnly: m.readOnly === true })),
  );
}

/** An image reference without registry, path and tag: `registry:5000/team/vr-grpo:0.1.0` → `vr-grpo`. */
function imageName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  return (withoutDigest.split('/').pop() ?? '').replace(/:[^:]*$/, '');
}

/** The health path each process serves, by image: vr-grpo and the generator worker answer /healthz, vLLM /health. */
function healthPath(image: string): string {
  const name = imageName(image);
  if (name === 'vllm-openai') return '/health';
  if (name === 'vr-grpo' || name === 'vr-grpo-generator-worker') return '/healthz';
  throw new Error(`no known health path for image ${image}`);
}

function loadConfig(text: string, source: string): Config {
  return resolveConfig(parseYaml(text), { baseDir: path.dirname(source), source });
}

const OVERLAYS = ['overlays/embedded', 'overlays/cluster-gpu'] as const;
const built = Object.fromEntries(OVERLAYS.map((dir) => [dir, new Overlay(dir)])) as Record<(typeof OVERLAYS)[number], Overlay>;

describe.each(OVERLAYS)('deploy/k8s/%s: schemas and references', (dir) => {
  const o = built[dir];
  const kustomization = parseYaml(fs.readFileSync(path.join(K8S, dir, 'kustomization.yaml'), 'utf8')) as {
    secretGenerator: { name: string; envs: string[] }[];
  };

  it('every resource validates against the Kubernetes schemas, once, in the namespace', () => {
    expect(o.resources.length).toBeGreaterThan(5);
    for (const r of o.resources) expect(() => validate(r), `${r.kind}/${r.metadata.name}`).not.toThrow();
    const ids = o.resources.map((r) => `${r.kind}/${r.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of o.resources) {
      if (r.kind === 'Namespace') expect(r.metadata.name).toBe(NAMESPACE);
      else expect(r.metadata.namespace, `${r.kind}/${r.metadata.name}`).toBe(NAMESPACE);
      expect(r.metadata.labels?.['app.kubernetes.io/part-of'], `${r.kind}/${r.metadata.name}`).toBe('vr-grpo');
    }
    // The tokens Secret comes from the example env file; tokens.env itself is never committed.
    expect(kustomization.secretGenerator.map((g) => g.name)).toEqual(['vr-grpo-tokens']);
    for (const env of kustomization.secretGenerator.flatMap((g) => g.envs)) {
      expect(fs.existsSync(path.join(K8S, dir, `${env}.example`))).toBe(true);
    }
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'deploy', '.gitignore'), 'utf8')).toMatch(/^k8s\/\*\*\/tokens\.env$/m);
  });

  it('every Secret, ConfigMap and PVC a pod names exists, with the keys it reads; each volume has one source and is mounted', () => {
    for (const w of o.workloads) {
      const spec = template(w).spec;
      const claimTemplates = ((w.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []).map((t) => t.metadata.name);
      const volumeNames = new Set([...(spec.volumes ?? []).map((v) => v.name), ...claimTemplates]);
      for (const v of spec.volumes ?? []) {
        const sources = Object.keys(v).filter((k) => k !== 'name');
        expect(sources, `${w.metadata.name} volume ${v.name}`).toHaveLength(1);
        if (v.persistentVolumeClaim !== undefined) expect(o.has('PersistentVolumeClaim', v.persistentVolumeClaim.claimName), v.name).toBe(true);
        if (v.configMap !== undefined) expect(o.has('ConfigMap', v.configMap.name), v.name).toBe(true);
        if (v.secret !== undefined) expect(o.has('Secret', v.secret.secretName), v.name).toBe(true);
      }
      for (const c of containers(w)) {
        for (const m of c.volumeMounts ?? []) expect(volumeNames.has(m.name), `${w.metadata.name}/${c.name} mounts ${m.name}`).toBe(true);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref !== undefined) expect(Object.keys(o.find('Secret', ref.name).data as object), `${c.name} env ${e.name}`).toContain(ref.key);
          const cm = e.valueFrom?.configMapKeyRef;
          if (cm !== undefined) expect(Object.keys(o.find('ConfigMap', cm.name).data as object), `${c.name} env ${e.name}`).toContain(cm.key);
        }
      }
    }
  });

  it('every probe asks the path the process serves on a port the container declares', () => {
    for (const w of o.workloads) {
      for (const c of containers(w)) {
        for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
          if (probe === undefined) continue;
          expect(probe.httpGet?.path, `${w.metadata.name}/${c.name}`).toBe(healthPath(c.image));
          expect(portNumber(c, probe.httpGet?.port), `${w.metadata.name}/${c.name}`).toBeDefined();
        }
      }
      // Every long-running server has a readiness probe (a Job's coordinator too: its dashboard answers /healthz).
      expect(container(w).readinessProbe, w.metadata.name).toBeDefined();
    }
  });

  it('every Service and NetworkPolicy selects the pods of exactly one workload, on ports they declare', () => {
    for (const s of o.resources.filter((r) => r.kind === 'Service')) {
      const spec = s.spec as ServiceSpec;
      const [w, ...more] = o.selected(spec.selector);
      expect(w, `Service ${s.metadata.name}`).toBeDefined();
      expect(more, `Service ${s.metadata.name}`).toHaveLength(0);
      if (w === undefined) continue;
      for (const p of spec.ports) expect(portNumber(container(w), p.targetPort), `Service ${s.metadata.name}`).toBe(p.port);
    }
    for (const p of o.resources.filter((r) => r.kind === 'NetworkPolicy')) {
      const spec = p.spec as NetworkPolicySpec;
      const [target] = o.selected(spec.podSelector.matchLabels);
      expect(o.selected(spec.podSelector.matchLabels), `NetworkPolicy ${p.metadata.name}`).toHaveLength(1);
      if (target === undefined) continue;
      for (const rule of spec.ingress) {
        for (const from of rule.from) expect(o.selected(from.podSelector?.matchLabels ?? {}), `NetworkPolicy ${p.metadata.name} from`).toHaveLength(1);
        for (const port of rule.ports) expect(container(target).ports?.map((x) => x.containerPort)).toContain(port.port);
      }
    }
    for (const pdb of o.resources.filter((r) => r.kind === 'PodDisruptionBudget')) {
      expect(o.selected((pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)).toHaveLength(1);
    }
  });

  it('pods run as non-root with a read-only root filesystem, no privilege escalation, memory limits and pinned images', () => {
    for (const w of o.workloads) {
      const spec = template(w).spec;
      expect(spec.securityContext?.runAsNonRoot, w.metadata.name).toBe(true);
      expect(spec.automountServiceAccountToken, w.metadata.name).toBe(false);
      for (const c of containers(w)) {
        const where = `${w.metadata.name}/${c.name}`;
        expect(c.securityContext, where).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources?.limits?.memory, where).toBeDefined();
        expect(c.resources?.requests?.memory, where).toBeDefined();
        // Pinned: a tag other than latest after the last path segment, or a digest.
        expect(c.image, where).toMatch(/(\/|^)[a-z0-9._-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/);
        expect(c.image, where).not.toMatch(/:latest$/);
        // A GPU is requested and limited alike (extended resources cannot overcommit), on GPU nodes only.
        const gpus = c.resources?.limits?.['nvidia.com/gpu'];
        expect(c.resources?.requests?.['nvidia.com/gpu'], where).toBe(gpus);
        if (gpus !== undefined) {
          expect(spec.nodeSelector, where).toBeDefined();
          expect(
            spec.tolerations?.map((t) => t.key),
            where,
          ).toContain('nvidia.com/gpu');
        }
      }
    }
  });
});

describe('deploy/k8s: layout', () => {
  it('deploy/k8s itself builds the embedded overlay, so `kubectl apply -k deploy/k8s` deploys what it did before', () => {
    expect(build(K8S)).toEqual(built['overlays/embedded'].resources);
  });

  it('the validator rejects a broken manifest (so the checks above can fail)', () => {
    const broken = structuredClone(built['overlays/cluster-gpu'].find('StatefulSet', 'gen')) as unknown as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    };
    const port = broken.spec.template.spec.containers[0]?.ports[0];
    if (port === undefined) throw new Error('no port');
    port.containerPort = 'eighty-seven-ninety';
    expect(() => validate(broken)).toThrow(/containerPort/);
    expect(() => validate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'ws', targetPort: 9470 }] } })).toThrow(/port/);
    expect(() =>
      validate({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: { podSelector: {}, policyTypes: ['Sideways'] } }),
    ).toThrow();
  });
});

describe('deploy/k8s/overlays/embedded', () => {
  const o = built['overlays/embedded'];

  it('holds the reward servers and the coordinator, nothing on a GPU', () => {
    expect(o.resources.map((r) => `${r.kind}/${r.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/vr-grpo-coordinator-config',
        'Deployment/vr-grpo-reward-server',
        'Job/vr-grpo-train',
        'Namespace/vr-grpo',
        'PersistentVolumeClaim/vr-grpo-runs',
        'PodDisruptionBudget/vr-grpo-reward-server',
        'Secret/vr-grpo-tokens',
        'Service/vr-grpo-coordinator',
        'Service/vr-grpo-reward-server',
      ].sort(),
    );
    expect(Object.keys(o.find('Secret', 'vr-grpo-tokens').data as object)).toEqual(['VRGRPO_TOKEN']);
  });

  it('reward servers: one port everywhere (CLI --port, container, Service, scrape annotation), token from the Secret, resource requests', () => {
    const deployment = o.find('Deployment', 'vr-grpo-reward-server');
    const service = o.find('Service', 'vr-grpo-reward-server');
    const c = container(deployment);
    expect(c.args?.[0]).toBe('serve-reward');
    const port = Number(flag(c, '--port'));
    expect(Number.isInteger(port) && port > 0).toBe(true);
    expect(flag(c, '--host')).toBe('0.0.0.0');
    expect(c.ports?.map((p) => p.containerPort)).toEqual([port]);
    expect((service.spec as ServiceSpec).ports.map((p) => p.port)).toEqual([port]);
    expect(template(deployment).metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
    });
    expect((deployment.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(env(c, 'VRGRPO_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'vr-grpo-tokens', key: 'VRGRPO_TOKEN' });
    expect(c.resources?.requests).toMatchObject({ cpu: expect.any(String) as string, memory: expect.any(String) as string });
    // The drain (rewardServer.drainTimeoutMs, default 30 s) ends before the kubelet kills the pod.
    expect(template(deployment).spec.terminationGracePeriodSeconds).toBeGreaterThan(30);
  });

  it('coordinator: a Job with the runs PVC, metrics on the monitor default port, and a config that pools the reward-server Service', () => {
    const job = o.find('Job', 'vr-grpo-train');
    const c = container(job);
    const pod = template(job);
    expect(c.ports?.map((p) => p.containerPort)).toEqual([DEFAULT_MONITOR_PORT]);
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/port': String(DEFAULT_MONITOR_PORT), 'prometheus.io/path': '/metrics' });
    expect(portNumber(c, c.readinessProbe?.httpGet?.port)).toBe(DEFAULT_MONITOR_PORT);
    expect((o.find('Service', 'vr-grpo-coordinator').spec as ServiceSpec).ports.map((p) => p.port)).toEqual([DEFAULT_MONITOR_PORT]);
    expect(claimMounts(job, 'vr-grpo-runs')).toEqual([{ container: 'coordinator', mountPath: '/runs', readOnly: false }]);
    const script = (c.args ?? []).join(' ');
    expect(env(c, 'RUN_DIR')?.value?.startsWith('/runs/')).toBe(true);
    expect(script).toContain('train --config /config/train.yaml --resume "$RUN_DIR"');
    expect(script).toContain('train --config /config/train.yaml --run-dir "$RUN_DIR"');
    expect(env(c, 'VRGRPO_TOKEN')?.valueFrom?.secretKeyRef?.name).toBe('vr-grpo-tokens');

    const config = loadConfig(o.configFile(job, c, '/config/train.yaml'), '/config/train.yaml');
    const rewardPort = Number(flag(container(o.find('Deployment', 'vr-grpo-reward-server')), '--port'));
    expect(config.reward.servers.length).toBeGreaterThanOrEqual(2);
    expect(new Set(config.reward.servers).size).toBe(config.reward.servers.length); // distinct, so the pool keeps them apart
    for (const url of config.reward.servers) {
      const u = new URL(url);
      expect([u.protocol, u.hostname, Number(u.port)]).toEqual(['ws:', 'vr-grpo-reward-server', rewardPort]);
    }
    // Bound to 0.0.0.0, the kubelet and Prometheus reach it; any Host header passes (allowedHosts null).
    expect(config.monitoring.http).toEqual({ enabled: true, host: '0.0.0.0', port: DEFAULT_MONITOR_PORT, allowedHosts: null, allowedOrigins: [] });
    expect(config.generator.worker.url).toBeNull(); // the in-process policy
    expect(config.generator.checkpoint).toBe('/app/models/generator-base-v2');
    expect(config.judge.checkpoint).toBe('/app/models/judge-v2/grpo-no-cot-gain');
    // Those model folders exist in the image (deploy/Dockerfile copies models/ to /app/models).
    expect(fs.existsSync(path.join(PROJECT_ROOT, 'models', 'generator-base-v2'))).toBe(true);
    expect(fs.existsSync(path.join(PROJECT_ROOT, 'models', 'judge-v2', 'grpo-no-cot-gain'))).toBe(true);
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'deploy', 'Dockerfile'), 'utf8')).toMatch(/WORKDIR \/app[\s\S]*COPY models \.\/models/);
  });
});

describe('deploy/k8s/overlays/cluster-gpu', () => {
  const o = built['overlays/cluster-gpu'];
  const rewardDeployment = o.find('Deployment', 'vr-grpo-reward-server');
  const reward = container(rewardDeployment);
  const vllmDeployment = o.find('Deployment', 'vr-thinker-vllm');
  const vllm = container(vllmDeployment, 'vllm');
  const workers = o.find('StatefulSet', 'gen');
  const worker = container(workers, 'worker');
  const job = o.find('Job', 'vr-grpo-train');
  const coordinator = container(job, 'coordinator');
  const rewardConfigPath = flag(reward, '--config') ?? '(no --config)';
  const rewardConfig = loadConfig(o.configFile(rewardDeployment, reward, rewardConfigPath), rewardConfigPath);
  // The coordinator's command (from the base) starts or resumes `train --config /config/train.yaml`.
  const trainText = o.configFile(job, coordinator, '/config/train.yaml');

  it('adds vLLM, the generator workers, the shared artifact volume and the network policies to the base', () => {
    const ids = o.resources.map((r) => `${r.kind}/${r.metadata.name}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'ConfigMap/vr-grpo-reward-config',
        'Deployment/vr-thinker-vllm',
        'Service/vr-thinker-vllm',
        'PersistentVolumeClaim/vr-thinker-weights',
        'StatefulSet/gen',
        'Service/gen',
        'PersistentVolumeClaim/vr-grpo-artifacts',
        'NetworkPolicy/vr-grpo-generator-worker',
        'NetworkPolicy/vr-thinker-vllm',
      ]),
    );
    expect(Object.keys(o.find('Secret', 'vr-grpo-tokens').data as object).sort()).toEqual(['VRGRPO_GENERATOR_TOKEN', 'VRGRPO_TOKEN', 'VRGRPO_VLM_API_KEY']);
  });

  it('the artifact volume is one ReadWriteMany claim, mounted at the same path in workers, reward servers and coordinator', () => {
    expect((o.find('PersistentVolumeClaim', ARTIFACTS_PVC).spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteMany']);
    const mounts = Object.fromEntries(o.workloads.map((w) => [w.metadata.name, claimMounts(w, ARTIFACTS_PVC)]));
    expect(mounts).toEqual({
      'vr-grpo-reward-server': [{ container: 'reward-server', mountPath: ARTIFACT_ROOT, readOnly: true }],
      'vr-thinker-vllm': [],
      gen: [{ container: 'worker', mountPath: ARTIFACT_ROOT, readOnly: false }],
      'vr-grpo-train': [{ container: 'coordinator', mountPath: ARTIFACT_ROOT, readOnly: false }],
    });
    // Only the workers write: the reward servers' volume is read-only at the claim too.
    const rewardVolume = template(rewardDeployment).spec.volumes?.find((v) => v.persistentVolumeClaim?.claimName === ARTIFACTS_PVC);
    expect(rewardVolume?.persistentVolumeClaim?.readOnly).toBe(true);
    // The processes are told the same root.
    expect(flag(reward, '--artifact-root')).toBe(ARTIFACT_ROOT);
    expect(rewardConfig.rewardServer.artifactRoot).toBe(ARTIFACT_ROOT);
    expect(flag(worker, '--artifact-root')).toBe(ARTIFACT_ROOT);
  });

  it('vLLM serves VR-Thinker from the weights volume on one GPU, with the flags docs/vlm.md asks for', () => {
    expect(vllm.command).toEqual(['vllm', 'serve']);
    expect(vllm.image).toMatch(/(\/|^)vllm-openai:v\d+\.\d+\.\d+$/);
    const modelDir = vllm.args?.[0] ?? '';
    const weights = claimMounts(vllmDeployment, 'vr-thinker-weights');
    expect(weights).toContainEqual({ container: 'vllm', mountPath: path.dirname(modelDir), readOnly: true });
    // The init container fills the same folder from the model card's repository.
    const init = template(vllmDeployment).spec.initContainers?.find((c) => c.name === 'fetch-weights');
    expect(init === undefined ? undefined : env(init, 'MODEL_DIR')?.value).toBe(modelDir);
    expect(init === undefined ? undefined : env(init, 'MODEL_ID')?.value).toBe('qunwang13/vr-thinker');
    expect(weights).toContainEqual({ container: 'fetch-weights', mountPath: path.dirname(modelDir), readOnly: false });
    expect(flag(vllm, '--host')).toBe('0.0.0.0');
    expect(flag(vllm, '--dtype')).toBe('bfloat16');
    expect(flag(vllm, '--generation-config')).toBe('vllm');
    expect(vllm.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(vllm.readinessProbe?.httpGet?.path).toBe('/health');
    expect(portNumber(vllm, vllm.readinessProbe?.httpGet?.port)).toBe(Number(flag(vllm, '--port')));
    expect(env(vllm, 'VLLM_API_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'vr-grpo-tokens', key: 'VRGRPO_VLM_API_KEY' });
  });

  it('reward servers: the VLM backend, pointed at the vLLM Service by name and port, with the model name, context and media limits vLLM serves', () => {
    expect(reward.args?.[0]).toBe('serve-reward');
    expect(rewardConfig.judge.backend).toBe('vlm');
    const vlm = rewardConfig.judge.vlm;
    const url = new URL(vlm.baseUrl ?? '');
    const service = o.find('Service', url.hostname);
    const servicePort = (service.spec as ServiceSpec).ports.find((p) => p.port === Number(url.port));
    expect(servicePort, `${url.hostname}:${url.port}`).toBeDefined();
    expect(o.selected((service.spec as ServiceSpec).selector)).toEqual([vllmDeployment]);
    expect(portNumber(vllm, servicePort?.targetPort)).toBe(Number(flag(vllm, '--port')));
    expect([url.protocol, url.pathname]).toEqual(['http:', '/v1']);
    expect(vlm.model).toBe(flag(vllm, '--served-model-name'));
    expect(vlm.maxModelLen).toBe(Number(flag(vllm, '--max-model-len')));
    // Media per request: one video of initial frames, and the window's selected frames as images.
    const limits = JSON.parse(flag(vllm, '--limit-mm-per-prompt') ?? '{}') as { image: number; video: number };
    expect(limits.video).toBeGreaterThanOrEqual(1);
    expect(limits.image).toBeGreaterThanOrEqual(rewardConfig.judge.memoryWindow * rewardConfig.judge.maxFramesPerCall);
    // vLLM's resize bounds contain the reward server's, so frames are not resampled twice.
    const pixels = JSON.parse(flag(vllm, '--mm-processor-kwargs') ?? '{}') as { min_pixels: number; max_pixels: number };
    expect(pixels.min_pixels).toBeLessThanOrEqual(Math.min(vlm.initialMinPixels, vlm.selectedMinPixels));
    expect(pixels.max_pixels).toBeGreaterThanOrEqual(Math.max(vlm.initialMaxPixels, vlm.selectedMaxPixels));
    // The API key: null in the config = VRGRPO_VLM_API_KEY, from the same Secret key vLLM gets.
    expect(vlm.apiKey).toBeNull();
    expect(env(reward, 'VRGRPO_VLM_API_KEY')?.valueFrom?.secretKeyRef).toEqual(env(vllm, 'VLLM_API_KEY')?.valueFrom?.secretKeyRef);
    // The config and the flags say the same; the drain ends before the kubelet kills the pod.
    expect(rewardConfig.rewardServer.port).toBe(Number(flag(reward, '--port')));
    expect(rewardConfig.rewardServer.host).toBe(flag(reward, '--host'));
    expect(template(rewardDeployment).spec.terminationGracePeriodSeconds).toBeGreaterThan(rewardConfig.rewardServer.drainTimeoutMs / 1000);
    // The embedded judge's ONNX work is gone: no GPU, no embedded checkpoint needed.
    expect(reward.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
  });

  it('generator workers: the PyTorch reference worker as a StatefulSet behind a headless Service, token from the Secret, state per pod', () => {
    expect(worker.command).toEqual(['python3', '-m', 'vrgrpo_worker']);
    expect(worker.args).toEqual(['--host', '0.0.0.0', '--port', '8790', '--artifact-root', ARTIFACT_ROOT, '--state-root', '/state/$(POD_NAME)']);
    expect(env(worker, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env(worker, 'VRGRPO_GENERATOR_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'vr-grpo-tokens', key: 'VRGRPO_GENERATOR_TOKEN' });
    const spec = workers.spec as { serviceName: string; replicas: number; volumeClaimTemplates: { metadata: { name: string } }[] };
    const headless = o.find('Service', spec.serviceName);
    expect((headless.spec as ServiceSpec).clusterIP).toBe('None');
    expect(o.selected((headless.spec as ServiceSpec).selector)).toEqual([workers]);
    // --state-root lies on the per-pod claim.
    const stateMount = worker.volumeMounts?.find((m) => m.name === spec.volumeClaimTemplates[0]?.metadata.name);
    expect(flag(worker, '--state-root')?.startsWith(`${stateMount?.mountPath ?? '?'}/`)).toBe(true);
    expect(worker.resources?.limits?.['nvidia.com/gpu']).toBe('1');
  });

  it('coordinator: its worker URLs are the StatefulSet pods’ DNS names on the worker port, and its config passes the loader', () => {
    expect((coordinator.args ?? []).join(' ')).toContain('train --config /config/train.yaml');
    const raw = parseYaml(trainText) as { generator: { worker: Record<string, unknown> } };
    const spec = workers.spec as { serviceName: string; replicas: number };
    const headlessPort = (o.find('Service', spec.serviceName).spec as ServiceSpec).ports[0];
    const urls = raw.generator.worker.urls as string[];
    // One URL per replica, each <statefulset>-<ordinal>.<headless service>[.<namespace>…]:<port>.
    expect(urls.map((u) => new URL(u).hostname.split('.').slice(0, 2).join('.')).sort()).toEqual(
      Array.from({ length: spec.replicas }, (_, i) => `${workers.metadata.name}-${i}.${spec.serviceName}`).sort(),
    );
    for (const u of urls) {
      const url = new URL(u);
      expect(url.protocol).toBe('ws:');
      expect(['', NAMESPACE, `${NAMESPACE}.svc`, `${NAMESPACE}.svc.cluster.local`]).toContain(url.hostname.split('.').slice(2).join('.'));
      expect(Number(url.port)).toBe(headlessPort?.port);
      expect(portNumber(worker, headlessPort?.targetPort)).toBe(Number(flag(worker, '--port')));
    }
    const config = loadConfig(JSON.stringify(raw), '/config/train.yaml');
    // The loader keeps what the manifest says: the workers by their pods' names, videos by reference.
    expect(config.generator.worker.urls).toEqual(urls);
    expect(config.generator.worker.delivery).toBe('reference');
    // A rollout of promptsPerStep × groupSize real clips takes minutes: far above the 5-minute default.
    expect(config.generator.worker.timeoutMs).toBeGreaterThanOrEqual(30 * 60_000);
    expect(config.generator.worker.onFailure).toBe('retry');
    // Reward servers: the Service, pooled over distinct connections, with time for whole VLM conversations.
    const rewardPort = Number(flag(reward, '--port'));
    expect(new Set(config.reward.servers).size).toBe(config.reward.servers.length);
    for (const url of config.reward.servers) expect(new URL(url).host).toBe(`vr-grpo-reward-server:${rewardPort}`);
    expect(config.reward.requestTimeoutMs).toBeGreaterThan(rewardConfig.judge.vlm.timeoutMs);
    expect(config.reward.mode).toBe('pairwise');
    expect(config.monitoring.http.port).toBe(DEFAULT_MONITOR_PORT);
    // The tokens it sends.
    expect(env(coordinator, 'VRGRPO_TOKEN')?.valueFrom?.secretKeyRef?.name).toBe('vr-grpo-tokens');
    expect(env(coordinator, 'VRGRPO_GENERATOR_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'vr-grpo-tokens', key: 'VRGRPO_GENERATOR_TOKEN' });
    // The init container waits for exactly those workers and the reward-server Service, on their health paths.
    const wait = template(job).spec.initContainers?.find((c) => c.name === 'wait-for-backends');
    const waitFor = (wait === undefined ? '' : (env(wait, 'WAIT_FOR')?.value ?? '')).split(/\s+/).filter(Boolean);
    expect(waitFor.sort()).toEqual(
      [
        ...urls.map((u) => `http://${new URL(u).host}${healthPath(worker.image)}`),
        `http://vr-grpo-reward-server:${rewardPort}${healthPath(reward.image)}`,
      ].sort(),
    );
  });

  it('network policies: only the coordinator reaches the workers, only the reward servers reach vLLM', () => {
    const policy = (target: Resource): NetworkPolicySpec => {
      const found = o.resources.filter(
        (r) => r.kind === 'NetworkPolicy' && matches(template(target).metadata.labels, (r.spec as NetworkPolicySpec).podSelector.matchLabels),
      );
      expect(found).toHaveLength(1);
      return found[0]?.spec as NetworkPolicySpec;
    };
    const allowed = (spec: NetworkPolicySpec): { from: string[]; ports: number[] } => ({
      from: spec.ingress.flatMap((rule) => rule.from.flatMap((f) => o.selected(f.podSelector?.matchLabels ?? {}).map((w) => w.metadata.name))),
      ports: spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)),
    });
    const workerPolicy = policy(workers);
    expect(workerPolicy.policyTypes).toEqual(['Ingress']);
    expect(allowed(workerPolicy)).toEqual({ from: ['vr-grpo-train'], ports: [Number(flag(worker, '--port'))] });
    const vllmPolicy = policy(vllmDeployment);
    expect(allowed(vllmPolicy)).toEqual({ from: ['vr-grpo-reward-server'], ports: [Number(flag(vllm, '--port'))] });
  });
});
