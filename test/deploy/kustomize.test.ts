/**
 * The test helper's build (test/deploy/kustomize.ts) against the real one: where kubectl with its built-in kustomize is
 * on PATH, every kustomization under deploy/k8s builds with `kubectl kustomize`, and the result equals the helper's
 * once the content hashes kustomize appends to generated ConfigMap and Secret names are removed — which also shows
 * that every reference to them was rewritten to the generated name. Without kubectl the comparison is skipped (the
 * other deploy tests do not need it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { build, strategicMerge, type Json } from './kustomize.js';

const K8S = path.join(PROJECT_ROOT, 'deploy', 'k8s');
const DIRS = ['.', 'overlays/embedded', 'overlays/cluster-gpu'];

const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
const hasKustomize = probe.status === 0 && /Kustomize Version/.test(probe.stdout);

describe('test/deploy/kustomize.ts', () => {
  it('merges like kustomize: keyed lists by key in the patch’s order then the base’s others, null deletes, other lists replace', () => {
    const base: Json = {
      volumes: [
        { name: 'a', emptyDir: {} },
        { name: 'b', emptyDir: {} },
      ],
      args: ['x', 'y'],
    };
    const patch: Json = {
      volumes: [
        { name: 'd', emptyDir: {} },
        { name: 'a', emptyDir: null, persistentVolumeClaim: { claimName: 'c' } },
      ],
      args: ['z'],
    };
    expect(strategicMerge(base, patch)).toEqual({
      volumes: [
        { name: 'd', emptyDir: {} },
        { name: 'a', persistentVolumeClaim: { claimName: 'c' } },
        { name: 'b', emptyDir: {} },
      ],
      args: ['z'],
    });
  });

  it('refuses a kustomization field it does not implement', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-kustomize-'));
    try {
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\nreplicas:\n  - name: x\n    count: 2\n');
      expect(() => build(dir)).toThrow(/replicas is not supported/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasKustomize)('test/deploy/kustomize.ts against `kubectl kustomize`', () => {
  let copy = '';
  beforeAll(() => {
    // A copy of deploy/k8s with tokens.env made from each example (a developer's real tokens.env is not copied).
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-kustomize-'));
    fs.cpSync(K8S, copy, { recursive: true, filter: (src) => path.basename(src) !== 'tokens.env' });
    for (const dir of DIRS) {
      const example = path.join(copy, dir, 'tokens.env.example');
      if (fs.existsSync(example)) fs.copyFileSync(example, path.join(copy, dir, 'tokens.env'));
    }
  });
  afterAll(() => {
    if (copy !== '') fs.rmSync(copy, { recursive: true, force: true });
  });

  it.each(DIRS)('deploy/k8s/%s builds, and as the helper builds it', (dir) => {
    const mine = build(path.join(K8S, dir));
    const generated = mine.filter((r) => r.kind === 'ConfigMap' || r.kind === 'Secret').map((r) => r.metadata.name);
    let text = execFileSync('kubectl', ['kustomize', path.join(copy, dir)], { encoding: 'utf8', timeout: 60_000 });
    for (const name of generated) {
      expect(text, `${name} gets a content hash`).toMatch(new RegExp(`\\b${name}-[a-z0-9]{10}\\b`));
      text = text.replace(new RegExp(`\\b${name}-[a-z0-9]{10}\\b`, 'g'), name);
    }
    const real = parseAllDocuments(text).map((doc) => doc.toJS() as unknown);
    const id = (r: unknown): string => {
      const x = r as { kind: string; metadata: { name: string } };
      return `${x.kind}/${x.metadata.name}`;
    };
    expect(real.map(id).sort()).toEqual(mine.map(id).sort());
    for (const r of real) {
      const m = mine.find((x) => id(x) === id(r));
      // JSON round trip: the helper's objects as YAML would print them (no undefined fields).
      if (!isDeepStrictEqual(r, JSON.parse(JSON.stringify(m)))) expect(r, id(r)).toEqual(m);
    }
  });
});
