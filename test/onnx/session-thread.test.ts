/**
 * OnnxModel's session thread against a real onnxruntime session: `thread: 'auto'` (the default) picks it by model size,
 * a heavy run leaves the main event loop free, close() waits for a run in flight, a crashed thread rejects what was
 * pending with INFERENCE_FAILED and closes the model, and feeds move (zero-copy) only when asked.
 */
import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { ONNX_THREAD_MIN_BYTES, OnnxModel, exportMlpToOnnx, type DenseLayer, type FloatTensor } from '../../src/onnx/index.js';
import { SessionThread } from '../../src/onnx/session-thread.js';

/** Largest gap between main-thread interval ticks tolerated while a run is in flight (a stall bound, not a timing). */
const MAX_TICK_GAP_MS = 1000;

function layer(inSize: number, outSize: number): DenseLayer {
  return { inSize, outSize, weights: new Float32Array(inSize * outSize).fill(1 / inSize), bias: new Float32Array(outSize) };
}

/**
 * A chain of 512×512 MatMuls (over 8 MiB of weights, so 'auto' gives it a thread): on a 4096-row batch, a few hundred
 * ms of one core per run (about 40 ms per layer on this machine).
 */
const WIDTH = 512;
const HEAVY_ROWS = 4096;
const heavyBytes = exportMlpToOnnx({
  input: { name: 'x', size: WIDTH },
  trunk: Array.from({ length: 8 }, () => layer(WIDTH, WIDTH)),
  heads: [{ name: 'y', ...layer(WIDTH, 4), softmax: false }],
});
const smallBytes = exportMlpToOnnx({ input: { name: 'x', size: 4 }, trunk: [layer(4, 3)], heads: [{ name: 'y', ...layer(3, 2), softmax: false }] });

function heavyFeed(): Record<string, FloatTensor> {
  return { x: { data: new Float32Array(HEAVY_ROWS * WIDTH).fill(1), dims: [HEAVY_ROWS, WIDTH] } };
}

async function rejectionCode(p: Promise<unknown>): Promise<unknown> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  return isVrGrpoError(e) ? e.code : e;
}

describe('OnnxModel session thread', () => {
  it("'auto' (the default) gives a model of at least ONNX_THREAD_MIN_BYTES a thread, and a smaller one none", async () => {
    expect(heavyBytes.length).toBeGreaterThanOrEqual(ONNX_THREAD_MIN_BYTES);
    expect(smallBytes.length).toBeLessThan(ONNX_THREAD_MIN_BYTES);
    const models = [
      await OnnxModel.create(heavyBytes),
      await OnnxModel.create(heavyBytes, undefined, { thread: 'auto' }),
      await OnnxModel.create(smallBytes),
      await OnnxModel.create(smallBytes, undefined, { thread: 'auto' }),
    ];
    try {
      expect(models.map((m) => m.threaded)).toEqual([true, true, false, false]);
      expect(models.map((m) => m['backend'] instanceof SessionThread)).toEqual([true, true, false, false]);
    } finally {
      await Promise.all(models.map((m) => m.close()));
    }
  });

  it('runs off the main thread: a main-thread interval keeps ticking through a heavy run', async () => {
    const model = await OnnxModel.create(heavyBytes, undefined, { thread: true });
    let ticks = 0;
    let maxGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks += 1;
    }, 10);
    try {
      const out = await model.run(heavyFeed());
      expect(out.y_logits?.dims).toEqual([HEAVY_ROWS, 4]);
      // Each layer averages its input: ones stay ones, so every logit is 1 (ReLU keeps them).
      expect(out.y_logits?.data[0]).toBeCloseTo(1, 4);
    } finally {
      clearInterval(timer);
      await model.close();
    }
    // On the calling thread the whole run would be one gap and at most one tick.
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(maxGap).toBeLessThan(MAX_TICK_GAP_MS);
  });

  it('close() waits for a run in flight, then the model refuses runs', async () => {
    const model = await OnnxModel.create(heavyBytes, undefined, { thread: true });
    const running = model.run(heavyFeed());
    const closed = model.close();
    expect(model.status).toBe('CLOSING');
    const out = await running;
    expect(out.y_logits?.dims).toEqual([HEAVY_ROWS, 4]);
    await Promise.all([closed, model.close()]);
    expect(model.status).toBe('CLOSED');
    expect(await rejectionCode(model.run(heavyFeed()))).toBe('INFERENCE_FAILED');
  });

  it('a crashed thread rejects pending runs with INFERENCE_FAILED and closes the model', async () => {
    const model = await OnnxModel.create(smallBytes, undefined, { thread: true });
    const thread = model['backend'];
    if (!(thread instanceof SessionThread)) throw new Error('expected a session thread');
    thread.simulateCrash();
    const pending = model.run({ x: { data: new Float32Array(4), dims: [1, 4] } });
    expect(await rejectionCode(pending)).toBe('INFERENCE_FAILED');
    expect(thread.state).toBe('CRASHED');
    expect(model.status).toBe('CLOSED');
    expect(await rejectionCode(model.run({ x: { data: new Float32Array(4), dims: [1, 4] } }))).toBe('INFERENCE_FAILED');
    await model.close();
    await model.close();
    expect(model.status).toBe('CLOSED');
  });

  it('copies feeds by default, moves them with transferInputs, and never moves a view of a larger buffer', async () => {
    const model = await OnnxModel.create(smallBytes, undefined, { thread: true });
    try {
      const kept = new Float32Array([1, 2, 3, 4]);
      const a = await model.run({ x: { data: kept, dims: [1, 4] } });
      expect(kept.length).toBe(4);

      const moved = new Float32Array([1, 2, 3, 4]);
      const b = await model.run({ x: { data: moved, dims: [1, 4] } }, { transferInputs: true });
      expect(moved.length).toBe(0); // detached: the buffer went to the session thread
      expect(b.y_logits?.data).toEqual(a.y_logits?.data);

      const big = new Float32Array(8).fill(1);
      const view = big.subarray(4, 8);
      await model.run({ x: { data: view, dims: [1, 4] } }, { transferInputs: true });
      expect(big.length).toBe(8);
      expect(view.length).toBe(4);
    } finally {
      await model.close();
    }
  });

  it('with thread: false the session runs on the calling thread and feeds stay put', async () => {
    const model = await OnnxModel.create(smallBytes, undefined, { thread: false });
    try {
      expect(model.threaded).toBe(false);
      expect(model['backend']).not.toBeInstanceOf(SessionThread);
      const data = new Float32Array([1, 2, 3, 4]);
      await model.run({ x: { data, dims: [1, 4] } }, { transferInputs: true });
      expect(data.length).toBe(4);
    } finally {
      await model.close();
    }
  });
});
