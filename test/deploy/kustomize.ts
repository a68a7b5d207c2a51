/**
 * A small kustomize build for the tests (there is no kustomize binary here): the subset of kustomization.yaml that
 * deploy/k8s uses — resources (files and nested kustomizations), strategic-merge patches of plain shape,
 * configMapGenerator (files), secretGenerator (env files), images, namespace and labels. Any other field throws, so a
 * manifest change the helper does not understand fails the tests instead of being checked against a wrong build.
 *
 * Differences from kustomize, on purpose: generated ConfigMaps and Secrets keep their plain names (kustomize appends a
 * content hash and rewrites every reference to it, so checking references by plain name checks the same thing), and
 * a secretGenerator env file that is missing (tokens.env is never committed) is read from its `.example`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [key: string]: unknown;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Generator {
  readonly name: string;
  readonly behavior?: 'create' | 'replace' | 'merge';
  readonly files?: readonly string[];
  readonly envs?: readonly string[];
}

interface Kustomization {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly labels?: readonly { readonly pairs: Record<string, string>; readonly includeSelectors?: boolean }[];
  readonly resources?: readonly string[];
  readonly patches?: readonly { readonly path: string }[];
  readonly configMapGenerator?: readonly Generator[];
  readonly secretGenerator?: readonly Generator[];
  readonly generatorOptions?: Record<string, unknown>;
  readonly images?: readonly { readonly name: string; readonly newName?: string; readonly newTag?: string }[];
}

const KNOWN_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'patches',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'images',
]);

/** Kinds without a namespace among those deploy/k8s uses. */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** Lists merged element by element in a strategic-merge patch, and the field that identifies an element. */
const MERGE_KEYS: Record<string, readonly string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  volumeMounts: ['mountPath'],
  ports: ['containerPort', 'port'],
};

const isObject = (x: unknown): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x);

function parseDocs(file: string): Resource[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Resource | null;
    return value === null ? [] : [value];
  });
}

/** A strategic merge of `patch` into `base`: maps merge, null deletes, keyed lists merge by key, other lists replace. */
export function strategicMerge(base: Json, patch: Json, field = ''): Json {
  if (isObject(base) && isObject(patch)) {
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in base ? strategicMerge(base[key] ?? null, value, key) : value;
    }
    return out;
  }
  const keys = MERGE_KEYS[field];
  if (keys !== undefined && Array.isArray(base) && Array.isArray(patch)) {
    const keyOf = (item: Json): string => {
      if (!isObject(item)) throw new Error(`${field}: a keyed list holds a non-object`);
      const key = keys.find((k) => typeof item[k] === 'string' || typeof item[k] === 'number');
      if (key === undefined) throw new Error(`${field}: an element without ${keys.join(' or ')}`);
      return `${key}=${JSON.stringify(item[key])}`;
    };
    // The order kustomize gives: the patch's elements (merged into the base's of the same key), then the base's others.
    const merged = patch.map((p) => {
      const b = base.find((x) => keyOf(x) === keyOf(p));
      return b === undefined ? p : strategicMerge(b, p, field);
    });
    return [...merged, ...base.filter((b) => !patch.some((p) => keyOf(p) === keyOf(b)))];
  }
  return patch;
}

function generatorData(dir: string, generator: Generator, kind: 'ConfigMap' | 'Secret'): Record<string, string> {
  const data: Record<string, string> = {};
  for (const file of generator.files ?? []) {
    if (file.includes('=')) throw new Error(`${generator.name}: "key=path" file entries are not supported by this helper`);
    data[path.basename(file)] = fs.readFileSync(path.join(dir, file), 'utf8');
  }
  for (const env of generator.envs ?? []) {
    const file = path.join(dir, env);
    const text = fs.readFileSync(fs.existsSync(file) ? file : `${file}.example`, 'utf8');
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m?.[1] !== undefined) data[m[1]] = m[2] ?? '';
    }
  }
  if (kind === 'Secret') for (const [k, v] of Object.entries(data)) data[k] = Buffer.from(v).toString('base64');
  return data;
}

function applyGenerators(dir: string, generators: readonly Generator[], kind: 'ConfigMap' | 'Secret', resources: Resource[]): void {
  for (const generator of generators) {
    const data = generatorData(dir, generator, kind);
    const at = resources.findIndex((r) => r.kind === kind && r.metadata.name === generator.name);
    const behavior = generator.behavior ?? 'create';
    if (behavior === 'create') {
      if (at >= 0) throw new Error(`${kind} ${generator.name} exists already: use behavior merge or replace`);
      resources.push({ apiVersion: 'v1', kind, metadata: { name: generator.name }, ...(kind === 'Secret' ? { type: 'Opaque' } : {}), data });
      continue;
    }
    const existing = resources[at];
    if (existing === undefined) throw new Error(`${kind} ${generator.name}: behavior ${behavior} needs one from a base`);
    const before = behavior === 'merge' ? (existing.data as Record<string, string>) : {};
    resources[at] = { ...existing, data: { ...before, ...data } };
  }
}

/** Every container list of a workload's pod template (or of a Pod). */
function podSpecs(r: Resource): JsonObject[] {
  const spec = r.spec as JsonObject | undefined;
  const template = spec?.template;
  if (isObject(template) && isObject(template.spec)) return [template.spec];
  return r.kind === 'Pod' && spec !== undefined ? [spec] : [];
}

function setImages(resources: Resource[], images: NonNullable<Kustomization['images']>): Resource[] {
  return resources.map((r) => {
    const copy = structuredClone(r);
    for (const spec of podSpecs(copy)) {
      for (const list of [spec.containers, spec.initContainers]) {
        if (!Array.isArray(list)) continue;
        for (const c of list) {
          if (!isObject(c) || typeof c.image !== 'string') continue;
          const name = c.image.split('@')[0]?.replace(/:[^/:]+$/, '');
          const rule = images.find((i) => i.name === name);
          if (rule !== undefined) c.image = `${rule.newName ?? rule.name}${rule.newTag === undefined ? '' : `:${rule.newTag}`}`;
        }
      }
    }
    return copy;
  });
}

/** Builds the kustomization in `dir`, as `kubectl kustomize dir` would (within the subset above). */
export function build(dir: string): Resource[] {
  const k = parseYaml(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const field of Object.keys(k)) if (!KNOWN_FIELDS.has(field)) throw new Error(`${dir}: kustomization field ${field} is not supported by this helper`);
  let resources: Resource[] = [];
  for (const entry of k.resources ?? []) {
    const target = path.join(dir, entry);
    resources.push(...(fs.statSync(target).isDirectory() ? build(target) : parseDocs(target)));
  }
  applyGenerators(dir, k.configMapGenerator ?? [], 'ConfigMap', resources);
  applyGenerators(dir, k.secretGenerator ?? [], 'Secret', resources);
  for (const { path: file } of k.patches ?? []) {
    for (const patch of parseDocs(path.join(dir, file))) {
      const at = resources.findIndex((r) => r.kind === patch.kind && r.apiVersion === patch.apiVersion && r.metadata.name === patch.metadata.name);
      if (at < 0) throw new Error(`${file}: no ${patch.kind} ${patch.metadata.name} to patch`);
      resources[at] = strategicMerge(resources[at] as unknown as Json, patch as unknown as Json) as unknown as Resource;
    }
  }
  if (k.images !== undefined) resources = setImages(resources, k.images);
  const namespace = k.namespace;
  const labels = Object.assign({}, ...(k.labels ?? []).map((l) => l.pairs)) as Record<string, string>;
  if ((k.labels ?? []).some((l) => l.includeSelectors === true)) throw new Error(`${dir}: labels with includeSelectors are not supported by this helper`);
  return resources.map((r) => ({
    ...r,
    metadata: {
      ...r.metadata,
      ...(namespace !== undefined && !CLUSTER_SCOPED.has(r.kind) ? { namespace } : {}),
      ...(Object.keys(labels).length > 0 ? { labels: { ...r.metadata.labels, ...labels } } : {}),
    },
  }));
}
