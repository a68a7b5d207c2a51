import { describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { DEFAULT_LOADERS, chooseTensorBackend, tf, type BackendLoader, type TensorBackendName } from '../../src/tensor/index.js';

const failing: BackendLoader = () => Promise.reject(new Error('Cannot find package'));

describe('tensor backend choice', () => {
  it('auto falls through node-gpu → node → wasm and logs the choice once', async () => {
    const lines: string[] = [];
    const loaders: Record<TensorBackendName, BackendLoader> = { ...DEFAULT_LOADERS, 'node-gpu': failing, node: failing };
    const choice = await chooseTensorBackend('auto', { loaders, log: (l) => lines.push(l) });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('wasm');
  });

  it('falls back to cpu when wasm cannot load either', async () => {
    const loaders: Record<TensorBackendName, BackendLoader> = { ...DEFAULT_LOADERS, 'node-gpu': failing, node: failing, wasm: failing };
    const choice = await chooseTensorBackend('auto', { loaders });
    expect(choice.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('an explicit backend that cannot load is an error, not a silent fallback', async () => {
    let caught: unknown;
    try {
      await chooseTensorBackend('node-gpu', { loaders: { ...DEFAULT_LOADERS, 'node-gpu': failing } });
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'TENSOR_BACKEND_UNAVAILABLE')).toBe(true);
  });

  it('with the real loaders on this machine picks a working backend', async () => {
    const choice = await chooseTensorBackend('auto');
    expect(['node-gpu', 'node', 'wasm']).toContain(choice.name);
    expect(tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0])).toBe(5);
  });
});
