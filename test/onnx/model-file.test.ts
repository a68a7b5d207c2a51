/**
 * Confined model-file reads (src/onnx/model-file.ts) and the off-thread model probe (src/onnx/probe.ts) on real files,
 * FIFOs, symlinks and onnxruntime: escapes are FORBIDDEN_PATH, non-regular or oversized files MODEL_INVALID before a
 * byte is read (a FIFO never blocks the event loop: a timer keeps firing), and the probe measures a model's memory in
 * a child process and refuses one beyond its budget, this process's memory staying flat.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { OnnxModel, exportGraphToOnnx, exportMlpToOnnx, probeModel, readCheckpointFile, readCheckpointFileSync, type MlpSpec } from '../../src/onnx/index.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'vrgrpo-model-file-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const folder = join(base, 'ck');
const outside = join(base, 'outside');
mkdirSync(folder);
mkdirSync(outside);

const spec: MlpSpec = {
  input: { name: 'crop', size: 4 },
  trunk: [],
  heads: [{ name: 'colour', inSize: 4, outSize: 3, weights: new Float32Array(12).fill(0.1), bias: new Float32Array(3) }],
};
const model = exportMlpToOnnx(spec);

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; reason: unknown }> {
  const outcome = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isVrGrpoError(outcome)) throw new Error(`expected a VrGrpoError, got ${String(outcome)}`);
  return { code: outcome.code, reason: outcome.details.reason };
}

function codeOfSync(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (isVrGrpoError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a VrGrpoError');
}

describe('readCheckpointFile', () => {
  writeFileSync(join(folder, 'model.onnx'), model);
  writeFileSync(join(outside, 'x.onnx'), model);
  symlinkSync(join(outside, 'x.onnx'), join(folder, 'out.onnx'));
  symlinkSync('/dev/zero', join(folder, 'zero.onnx'));
  symlinkSync('model.onnx', join(folder, 'inner-link.onnx'));
  execFileSync('mkfifo', [join(folder, 'fifo.onnx')]);
  mkdirSync(join(folder, 'dir.onnx'));
  writeFileSync(join(folder, 'sparse.onnx'), '');
  truncateSync(join(folder, 'sparse.onnx'), 64 * 1024 * 1024);

  it('reads a regular file inside the folder (also through a symlink that stays inside), async and sync', async () => {
    const same = (bytes: Uint8Array): boolean => Buffer.from(bytes).equals(Buffer.from(model));
    expect(same((await readCheckpointFile(folder, 'model.onnx')).bytes)).toBe(true);
    expect(same(readCheckpointFileSync(folder, 'inner-link.onnx').bytes)).toBe(true);
    expect((await readCheckpointFile(folder, 'inner-link.onnx')).path).toBe(join(folder, 'model.onnx'));
  });

  it('refuses escapes with FORBIDDEN_PATH: .., absolute names, symlinks out (also to /dev/zero)', async () => {
    for (const name of ['../outside/x.onnx', join(outside, 'x.onnx'), 'out.onnx', 'zero.onnx', 'a/../../outside/x.onnx']) {
      expect((await codeOf(readCheckpointFile(folder, name))).code, name).toBe('FORBIDDEN_PATH');
      expect(
        codeOfSync(() => readCheckpointFileSync(folder, name)),
        name,
      ).toBe('FORBIDDEN_PATH');
    }
  });

  it('refuses a FIFO, a directory and an oversized file with MODEL_INVALID, without blocking the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    try {
      expect(await codeOf(readCheckpointFile(folder, 'fifo.onnx'))).toEqual({ code: 'MODEL_INVALID', reason: 'not a regular file' });
      expect(codeOfSync(() => readCheckpointFileSync(folder, 'fifo.onnx'))).toBe('MODEL_INVALID');
      expect(await codeOf(readCheckpointFile(folder, 'dir.onnx'))).toEqual({ code: 'MODEL_INVALID', reason: 'not a regular file' });
      expect(await codeOf(readCheckpointFile(folder, 'sparse.onnx', { maxBytes: 1024 * 1024 }))).toEqual({ code: 'MODEL_INVALID', reason: 'too large' });
      expect(await codeOf(readCheckpointFile(folder, 'missing.onnx'))).toEqual({ code: 'MODEL_INVALID', reason: 'missing' });
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it('OnnxModel.create(path) reads confined: a symlink out or a FIFO is refused, a regular file loads', async () => {
    const loaded = await OnnxModel.create(join(folder, 'model.onnx'));
    await loaded.close();
    expect((await codeOf(OnnxModel.create(join(folder, 'out.onnx')))).code).toBe('FORBIDDEN_PATH');
    expect((await codeOf(OnnxModel.create(join(folder, 'fifo.onnx')))).code).toBe('MODEL_INVALID');
    expect((await codeOf(OnnxModel.create(model, undefined, { maxBytes: 100 }))).reason).toBe('too large');
  });
});

describe('probeModel', () => {
  it('loads and runs a model in a child process: its signature and timings; garbage is MODEL_INVALID', async () => {
    const r = await probeModel(model, { batch: 8, runs: 2 });
    expect(r.signature.inputs).toEqual([{ name: 'crop', dims: [-1, 4] }]);
    expect(r.signature.outputs.map((o) => o.name)).toEqual(['colour_logits', 'colour_probs']);
    expect(r.runMs).toHaveLength(2);
    expect((await codeOf(probeModel(new Uint8Array([1, 2, 3, 4])))).code).toBe('MODEL_INVALID');
  });

  it('refuses a model that allocates 200 MB per run with CANARY_FAILED (memory) while the event loop keeps ticking', async () => {
    const greedy = exportGraphToOnnx({
      inputs: [{ name: 'x', dims: ['batch', 4] }],
      outputs: [{ name: 'y', dims: [1, 1] }],
      initializers: [{ name: 'dims', dims: [2], int64: [1, 50_000_000] }],
      nodes: [
        // 5e7 float32 ones (200 MB), summed: whether the runtime computes it per run or folds it at load, it is resident.
        { opType: 'ConstantOfShape', inputs: ['dims'], outputs: ['z'], attributes: [{ name: 'value', floatTensor: { dims: [1], values: [1] } }] },
        { opType: 'ReduceSum', inputs: ['z'], outputs: ['y'], attributes: [{ name: 'keepdims', int: 1 }] },
      ],
    });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 2);
    const rssBefore = process.memoryUsage.rss();
    let outcome: { code: string; reason: unknown };
    try {
      outcome = await codeOf(probeModel(greedy, { maxRssGrowthBytes: 64 * 1024 * 1024, runs: 3 }));
    } finally {
      clearInterval(timer);
    }
    expect(outcome).toEqual({ code: 'CANARY_FAILED', reason: 'memory' });
    expect(ticks).toBeGreaterThan(0);
    // The 200 MB were the child's, not this process's.
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });
});
