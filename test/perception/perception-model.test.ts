/** The shipped perception models (rm-v1, rm-v2) through real ONNX sessions: accuracy, version ranking, tfjs parity, errors. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import {
  FEATURE_SIZE,
  Perception,
  analyseFrame,
  readPerceptionDir,
  writeBackgroundRow,
  writeObjectRow,
  type PerceptionManifest,
} from '../../src/judge/backends/embedded/perception/index.js';
import { PerceptionNet } from '../../src/judge-training/perception/net.js';
import { renderSingleFrame } from '../../src/judge-training/perception/training-data.js';
import { exportMlpToOnnx, readMlpFromOnnx } from '../../src/onnx/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { DEFECTS, DEFECT_OFFSET, PromptGenerator, decodeLatent, idealLatent, sampleDataLatent, type Scene } from '../../src/world/index.js';
import { RM_V1, RM_V2, scoreFrame } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrgrpo-perception-'));
let v1: Perception;
let v2: Perception;

beforeAll(async () => {
  [v1, v2] = await Promise.all([Perception.create(RM_V1), Perception.create(RM_V2)]);
});
afterAll(async () => {
  await Promise.all([v1.close(), v2.close()]);
  rmSync(tmp, { recursive: true, force: true });
});

interface Rendered {
  readonly scene: Scene;
  readonly f: number;
  readonly rgb: Uint8Array;
}

/** `n` seeded scenes (one random frame of 24 each) from a latent recipe. */
function scenes(n: number, seed: number, split: 'train' | 'heldout', latentOf: (rng: Rng, g: PromptGenerator) => Float32Array): Rendered[] {
  const rng = Rng.fromSeed(seed);
  const prompts = new PromptGenerator({ seed: seed + 1, split, splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  return Array.from({ length: n }, () => {
    const scene = decodeLatent(latentOf(rng, prompts));
    const f = rng.int(24);
    return { scene, f, rgb: renderSingleFrame(scene, f, 24, rng.nextUint32()).rgb };
  });
}

async function accuracy(p: Perception, items: readonly Rendered[]): Promise<{ colour: number; shape: number; background: number; found: number }> {
  const seen = await p.perceive(
    items.map((it, i) => ({ index: i, rgb: it.rgb })),
    64,
    64,
  );
  const scores = seen.map((fp, i) => {
    const it = items[i];
    if (it === undefined) throw new Error('missing scene');
    return scoreFrame(fp, it.scene, it.f, 24);
  });
  const rate = (k: 'colour' | 'shape' | 'background' | 'found'): number => scores.filter((s) => s[k]).length / scores.length;
  return { colour: rate('colour'), shape: rate('shape'), background: rate('background'), found: rate('found') };
}

const clean = scenes(100, 41, 'heldout', (rng, g) => idealLatent(g.next(), rng));
const defective = scenes(100, 43, 'train', (rng, g) => {
  const latent = sampleDataLatent(g.next(), rng, { attributeNoise: 0, defectProbability: 0, jitter: 0.3 });
  DEFECTS.forEach((_, i) => (latent[DEFECT_OFFSET + i] = rng.bool(0.7) ? rng.uniform(0.7, 1.3) : -1));
  return latent;
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isVrGrpoError(e) ? e.code : e).toBe(code);
}

describe('Perception with the shipped models', () => {
  it('loads both versions with their manifests', () => {
    expect(v1.version).toBe('rm-v1');
    expect(v2.version).toBe('rm-v2');
    expect(v2.manifest.accuracy.colour).toBeGreaterThan(v1.manifest.accuracy.colour);
    expect(v2.manifest.accuracy.shape).toBeGreaterThan(v1.manifest.accuracy.shape);
  });

  it('rm-v2 classifies clean held-out objects with high accuracy (100 seeded scenes)', async () => {
    const acc = await accuracy(v2, clean);
    expect(acc.found).toBeGreaterThanOrEqual(0.95);
    expect(acc.colour).toBeGreaterThanOrEqual(0.9);
    expect(acc.shape).toBeGreaterThanOrEqual(0.9);
    expect(acc.background).toBeGreaterThanOrEqual(0.9);
  });

  it('rm-v1 is measurably worse than rm-v2 on defective scenes', async () => {
    const [a1, a2] = await Promise.all([accuracy(v1, defective), accuracy(v2, defective)]);
    expect(a2.colour + a2.shape).toBeGreaterThan(a1.colour + a1.shape + 0.1);
    expect(a2.shape).toBeGreaterThan(0.85);
  });

  it('returns one perception per frame in one batched call, with valid probabilities', async () => {
    expect(await v2.perceive([], 64, 64)).toEqual([]);
    const frames = clean.slice(0, 5).map((it, i) => ({ index: 10 + 2 * i, rgb: it.rgb }));
    const out = await v2.perceive(frames, 64, 64);
    expect(out.map((p) => p.frameIndex)).toEqual([10, 12, 14, 16, 18]);
    for (const p of out) {
      expect(p.objects.length).toBeLessThanOrEqual(2);
      const areas = p.objects.map((o) => o.area);
      expect(areas).toEqual([...areas].sort((a, b) => b - a));
      expect(p.backgroundProbs).toHaveLength(6);
      expect(p.backgroundProbs.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 4);
      for (const o of p.objects) {
        expect(o.colourProbs).toHaveLength(9);
        expect(o.shapeProbs).toHaveLength(5);
        expect(o.shapeProbs.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 4);
      }
      expect(p.brightness).toBeGreaterThan(0);
      expect(p.brightness).toBeLessThan(1);
    }
    await expectCode(v2.perceive([{ index: 0, rgb: new Uint8Array(12) }], 64, 64), 'INVALID_ARGUMENT');
    await expectCode(v2.perceive([{ index: -1, rgb: clean[0]?.rgb ?? new Uint8Array(0) }], 64, 64), 'INVALID_ARGUMENT');
  });
});

describe('ONNX and tfjs agree', () => {
  /** Object and background rows cut from rendered frames. */
  function rows(count: number): { rows: Float32Array; n: number } {
    const out = new Float32Array(count * 3 * FEATURE_SIZE);
    let n = 0;
    for (const it of clean.slice(0, count)) {
      const a = analyseFrame(it.rgb, 64, 64);
      writeBackgroundRow(a, out, n++ * FEATURE_SIZE);
      for (const b of a.blobs) writeObjectRow(a, b, out, n++ * FEATURE_SIZE);
    }
    return { rows: out.subarray(0, n * FEATURE_SIZE), n };
  }

  function maxDiff(a: Float32Array, b: Float32Array): number {
    expect(a.length).toBe(b.length);
    return a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] ?? NaN))), 0);
  }

  it('on the shipped rm-v2 weights and on a freshly exported network (tolerance 1e-4)', async () => {
    await chooseTensorBackend('auto');
    const { rows: x, n } = rows(20);
    const shipped = PerceptionNet.fromMlpSpec(readMlpFromOnnx(readPerceptionDir(RM_V2).bytes));
    const fresh = PerceptionNet.create({ inputSize: FEATURE_SIZE, hidden: [32, 16] }, 9);
    const freshBytes = exportMlpToOnnx(fresh.toMlpSpec({ version: 'test' }));
    const freshModel = await Perception.load(freshBytes, { ...v2.manifest, version: 'test' });
    try {
      for (const [net, model] of [
        [shipped, v2],
        [fresh, freshModel],
      ] as const) {
        const tfjs = net.predict(x, n);
        const onnx = await model.predictRows(x, n);
        expect(maxDiff(tfjs.colour, onnx.colour)).toBeLessThan(1e-4);
        expect(maxDiff(tfjs.shape, onnx.shape)).toBeLessThan(1e-4);
        expect(maxDiff(tfjs.background, onnx.background)).toBeLessThan(1e-4);
      }
    } finally {
      shipped.dispose();
      fresh.dispose();
      await freshModel.close();
    }
  });
});

describe('model folder errors', () => {
  const manifestText = readFileSync(join(RM_V2, 'manifest.json'), 'utf8');
  const manifest = JSON.parse(manifestText) as PerceptionManifest;
  let k = 0;
  /** A copy of rm-v2 with `edit` applied. */
  function variant(edit: (dir: string) => void): string {
    const dir = join(tmp, `m${k++}`);
    mkdirSync(dir);
    copyFileSync(join(RM_V2, 'model.onnx'), join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'manifest.json'), manifestText);
    edit(dir);
    return dir;
  }

  it('missing folder or manifest → CHECKPOINT_NOT_FOUND', async () => {
    await expectCode(Perception.create(join(tmp, 'nope')), 'CHECKPOINT_NOT_FOUND');
    await expectCode(Perception.create(variant((d) => rmSync(join(d, 'manifest.json')))), 'CHECKPOINT_NOT_FOUND');
  });

  it('bad manifest, missing/altered/corrupt model, or a foreign layout → MODEL_INVALID', async () => {
    await expectCode(Perception.create(variant((d) => writeFileSync(join(d, 'manifest.json'), '{ not json'))), 'MODEL_INVALID');
    await expectCode(
      Perception.create(variant((d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...manifest, format: 'other' })))),
      'MODEL_INVALID',
    );
    await expectCode(Perception.create(variant((d) => rmSync(join(d, 'model.onnx')))), 'MODEL_INVALID');
    await expectCode(Perception.create(variant((d) => writeFileSync(join(d, 'model.onnx'), 'garbage'))), 'MODEL_INVALID');
    const corrupt = new Uint8Array(readFileSync(join(RM_V2, 'model.onnx'))).slice(0, 5000);
    corrupt.fill(0xff, 0, 64);
    const { sha256Hex } = await import('../../src/judge/backends/embedded/perception/manifest.js');
    await expectCode(
      Perception.create(
        variant((d) => {
          writeFileSync(join(d, 'model.onnx'), corrupt);
          writeFileSync(
            join(d, 'manifest.json'),
            JSON.stringify({ ...manifest, model: { ...manifest.model, bytes: corrupt.length, sha256: sha256Hex(corrupt) } }),
          );
        }),
      ),
      'MODEL_INVALID',
    );
    await expectCode(
      Perception.create(
        variant((d) => writeFileSync(join(d, 'manifest.json'), JSON.stringify({ ...manifest, input: { ...manifest.input, featureSize: 99 } }))),
      ),
      'MODEL_INVALID',
    );
  });

  it('close is idempotent and a closed model refuses work', async () => {
    const p = await Perception.create(RM_V1);
    await Promise.all([p.close(), p.close()]);
    await expectCode(
      p.perceive(
        clean.slice(0, 1).map((it) => ({ index: 0, rgb: it.rgb })),
        64,
        64,
      ),
      'INFERENCE_FAILED',
    );
  });
});
