/**
 * The ONNX exporter and session adapter against a real onnxruntime session: numerics, signature checks, lifecycle —
 * the same contract with the session in its own thread (`thread: true`) and on the calling thread (`thread: false`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { OnnxModel, exportMlpToOnnx, mlpOutputNames, readMlpFromOnnx, type DenseLayer, type MlpSpec } from '../../src/onnx/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dense(rng: Rng, inSize: number, outSize: number): DenseLayer {
  const scale = 1 / Math.sqrt(inSize);
  return { inSize, outSize, weights: rng.normals(inSize * outSize).map((x) => x * scale), bias: rng.normals(outSize).map((x) => 0.1 * x) };
}

function randomSpec(seed: number): MlpSpec {
  const rng = Rng.fromSeed(seed);
  return {
    input: { name: 'crop', size: 12 },
    trunk: [{ ...dense(rng, 12, 16) }, { ...dense(rng, 16, 8) }],
    heads: [
      { name: 'colour', ...dense(rng, 8, 9) },
      { name: 'shape', ...dense(rng, 8, 5), softmax: false },
      { name: 'background', ...dense(rng, 8, 6) },
    ],
    metadata: { purpose: 'test' },
  };
}

/** Plain-JS forward pass in float64. */
function forward(spec: MlpSpec, x: Float32Array, n: number): Record<string, Float64Array> {
  const apply = (layer: DenseLayer, input: Float64Array, relu: boolean): Float64Array => {
    const out = new Float64Array(n * layer.outSize);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < layer.outSize; j++) {
        let acc = layer.bias[j] ?? 0;
        for (let i = 0; i < layer.inSize; i++) acc += (input[r * layer.inSize + i] ?? 0) * (layer.weights[i * layer.outSize + j] ?? 0);
        out[r * layer.outSize + j] = relu ? Math.max(0, acc) : acc;
      }
    }
    return out;
  };
  let h: Float64Array = Float64Array.from(x);
  for (const layer of spec.trunk) h = apply(layer, h, (layer.activation ?? 'relu') === 'relu');
  const out: Record<string, Float64Array> = {};
  for (const head of spec.heads) {
    const logits = apply(head, h, false);
    out[`${head.name}_logits`] = logits;
    const probs = new Float64Array(logits.length);
    for (let r = 0; r < n; r++) {
      const row = logits.subarray(r * head.outSize, (r + 1) * head.outSize);
      const max = Math.max(...row);
      let sum = 0;
      for (let j = 0; j < head.outSize; j++) sum += Math.exp((row[j] ?? 0) - max);
      for (let j = 0; j < head.outSize; j++) probs[r * head.outSize + j] = Math.exp((row[j] ?? 0) - max) / sum;
    }
    if (head.softmax ?? true) out[`${head.name}_probs`] = probs;
  }
  return out;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isVrGrpoError(e) ? e.code : e).toBe(code);
}

for (const thread of [true, false]) {
  describe(`exportMlpToOnnx + OnnxModel (thread: ${thread})`, () => {
    const opts = { thread };
    it('matches a plain JS forward pass within 1e-5', async () => {
      const spec = randomSpec(3);
      const bytes = exportMlpToOnnx(spec);
      const model = await OnnxModel.create(
        bytes,
        {
          inputs: [{ name: 'crop', dims: [-1, 12] }],
          outputs: [
            { name: 'colour_probs', dims: [-1, 9] },
            { name: 'shape_logits', dims: [-1, 5] },
          ],
        },
        opts,
      );
      try {
        expect(model.threaded).toBe(thread);
        expect(model.inputNames).toEqual(['crop']);
        expect(model.outputNames).toEqual(mlpOutputNames(spec));
        expect(model.outputNames).toEqual(['colour_logits', 'colour_probs', 'shape_logits', 'background_logits', 'background_probs']);
        const n = 7;
        const x = Rng.fromSeed(4).normals(n * 12);
        const got = await model.run({ crop: { data: x, dims: [n, 12] } });
        const want = forward(spec, x, n);
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
        for (const [name, values] of Object.entries(want)) {
          const t = got[name];
          if (t === undefined) throw new Error(`missing ${name}`);
          expect(t.dims[0]).toBe(n);
          let maxErr = 0;
          values.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - (t.data[i] ?? NaN)))));
          expect(maxErr).toBeLessThan(1e-5);
        }
        // A batch of one gives the same rows.
        const one = await model.run({ crop: { data: x.slice(0, 12), dims: [1, 12] } });
        expect(one.colour_probs?.data.slice(0, 9)).toEqual(got.colour_probs?.data.slice(0, 9));
      } finally {
        await model.close();
      }
    });

    it('loads from a file path and closes idempotently; runs after close fail with INFERENCE_FAILED', async () => {
      const file = join(dir, `m-${thread}.onnx`);
      writeFileSync(file, exportMlpToOnnx(randomSpec(5)));
      const model = await OnnxModel.create(file, undefined, opts);
      expect(model.signature.inputs).toEqual([{ name: 'crop', dims: [-1, 12] }]);
      await Promise.all([model.close(), model.close()]);
      await model.close();
      expect(model.status).toBe('CLOSED');
      await expectCode(model.run({ crop: { data: new Float32Array(12), dims: [1, 12] } }), 'INFERENCE_FAILED');
    });

    it('rejects corrupt bytes, missing files and wrong signatures with MODEL_INVALID', async () => {
      const bytes = exportMlpToOnnx(randomSpec(6));
      const corrupt = bytes.slice(0, Math.floor(bytes.length / 2));
      corrupt.fill(0x7f, 10, 60);
      await expectCode(OnnxModel.create(corrupt, undefined, opts), 'MODEL_INVALID');
      await expectCode(OnnxModel.create(new Uint8Array([1, 2, 3, 4, 5]), undefined, opts), 'MODEL_INVALID');
      await expectCode(OnnxModel.create(join(dir, 'nope.onnx'), undefined, opts), 'MODEL_INVALID');
      const wrongDims = { inputs: [{ name: 'crop', dims: [-1, 13] }], outputs: [] };
      await expectCode(OnnxModel.create(bytes, wrongDims, opts), 'MODEL_INVALID');
      const wrongName = { inputs: [{ name: 'image', dims: [-1, 12] }], outputs: [] };
      await expectCode(OnnxModel.create(bytes, wrongName, opts), 'MODEL_INVALID');
      const missingOutput = { inputs: [{ name: 'crop', dims: [-1, 12] }], outputs: [{ name: 'shape_probs', dims: [-1, 5] }] };
      await expectCode(OnnxModel.create(bytes, missingOutput, opts), 'MODEL_INVALID');
    });

    it('rejects malformed feeds with INVALID_ARGUMENT and bad specs at export', async () => {
      const spec = randomSpec(7);
      const model = await OnnxModel.create(exportMlpToOnnx(spec), undefined, opts);
      try {
        await expectCode(model.run({ crop: { data: new Float32Array(11), dims: [1, 12] } }), 'INVALID_ARGUMENT');
        await expectCode(model.run({ crop: { data: new Float32Array(13), dims: [1, 13] } }), 'INVALID_ARGUMENT');
        await expectCode(model.run({}), 'INVALID_ARGUMENT');
      } finally {
        await model.close();
      }
      const [first] = spec.trunk;
      if (first === undefined) throw new Error('no trunk');
      expect(() => exportMlpToOnnx({ ...spec, trunk: [{ ...first, bias: new Float32Array(3) }] })).toThrow(/bias/);
      expect(() => exportMlpToOnnx({ ...spec, heads: [] })).toThrow(/head/);
      expect(() => exportMlpToOnnx({ ...spec, input: { name: 'crop', size: 11 } })).toThrow(/expects/);
    });
  });
}

describe('exportMlpToOnnx', () => {
  it('reads back what it wrote (weights, heads, metadata)', () => {
    const spec = randomSpec(8);
    const back = readMlpFromOnnx(exportMlpToOnnx(spec));
    expect(back.input).toEqual(spec.input);
    expect(back.trunk.map((l) => [l.inSize, l.outSize, l.activation])).toEqual([
      [12, 16, 'relu'],
      [16, 8, 'relu'],
    ]);
    expect(back.heads.map((h) => [h.name, h.outSize, h.softmax])).toEqual([
      ['colour', 9, true],
      ['shape', 5, false],
      ['background', 6, true],
    ]);
    expect(back.trunk[1]?.weights).toEqual(spec.trunk[1]?.weights);
    expect(back.heads[2]?.bias).toEqual(spec.heads[2]?.bias);
    expect(back.metadata).toEqual({ purpose: 'test' });
    expect(() => readMlpFromOnnx(new Uint8Array([9, 9, 9]))).toThrow();
  });
});
