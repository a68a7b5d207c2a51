import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { loadCheckpoint, policyFromCheckpoint, sampleLatents, saveCheckpoint } from '../../src/generator/index.js';
import { Adam, tf } from '../../src/tensor/index.js';
import { SDE, SMALL, features, policyWithAdapters, useBackend } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-ckpt-'));
beforeAll(useBackend);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return isVrGrpoError(e) ? e.code : 'OTHER';
  }
}

describe('policy checkpoints', () => {
  it('round-trips base + adapters + Adam state, and the loaded policy samples identically', () => {
    const policy = policyWithAdapters(11);
    const adam = new Adam(policy.lora, { learningRate: 0.01 });
    try {
      const grads: Record<string, tf.Tensor> = {};
      for (const [name, v] of policy.lora) grads[name] = tf.onesLike(v);
      adam.apply(grads);
      for (const g of Object.values(grads)) g.dispose();
      const manifest = saveCheckpoint(join(dir, 'full'), { policy, base: true, lora: true, optimizer: adam.state(), metadata: { step: 3 } });
      expect(manifest.optimizer?.step).toBe(1);
      const loaded = loadCheckpoint(join(dir, 'full'));
      expect(loaded.manifest.metadata).toEqual({ step: 3 });
      expect(loaded.optimizer?.step).toBe(1);
      expect(Array.from(loaded.optimizer?.m['h0.loraB'] ?? [])).toEqual(Array.from(adam.state().m['h0.loraB'] ?? [1]));
      const copy = policyFromCheckpoint(loaded, { hiddenDim: SMALL.hiddenDim });
      try {
        const input = features(['a red circle moving left fast on a navy background'], 2);
        const a = sampleLatents(policy, input, Rng.fromSeed(1), SDE, true).latents;
        const b = sampleLatents(copy, input, Rng.fromSeed(1), SDE, true).latents;
        expect(Array.from(b)).toEqual(Array.from(a));
      } finally {
        copy.dispose();
      }
    } finally {
      adam.dispose();
      policy.dispose();
    }
  });

  it('saves adapters alone against a referenced base, and refuses a changed base', () => {
    const policy = policyWithAdapters(12);
    try {
      saveCheckpoint(join(dir, 'base'), { policy, base: true, lora: false });
      saveCheckpoint(join(dir, 'adapters'), { policy, base: { ref: join(dir, 'base') }, lora: true });
      const adapters = loadCheckpoint(join(dir, 'adapters'));
      expect(adapters.manifest.tensors.every((t) => t.group === 'lora')).toBe(true);
      expect(adapters.base.size).toBeGreaterThan(0);
      const other = policyWithAdapters(13);
      try {
        saveCheckpoint(join(dir, 'base'), { policy: other, base: true, lora: false });
      } finally {
        other.dispose();
      }
      expect(codeOf(() => loadCheckpoint(join(dir, 'adapters')))).toBe('CHECKPOINT_INVALID');
    } finally {
      policy.dispose();
    }
  });

  it('rejects missing, corrupt and mismatched checkpoints with stable codes', () => {
    const policy = policyWithAdapters(14);
    try {
      saveCheckpoint(join(dir, 'c'), { policy, base: true, lora: true });
    } finally {
      policy.dispose();
    }
    expect(codeOf(() => loadCheckpoint(join(dir, 'nope')))).toBe('CHECKPOINT_NOT_FOUND');
    expect(codeOf(() => policyFromCheckpoint(loadCheckpoint(join(dir, 'c')), { hiddenDim: 999 }))).toBe('CHECKPOINT_INVALID');
    const weights = join(dir, 'c', 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    writeFileSync(weights, bytes);
    expect(codeOf(() => loadCheckpoint(join(dir, 'c')))).toBe('CHECKPOINT_INVALID');
    writeFileSync(join(dir, 'c', 'manifest.json'), '{"format": "something else"}');
    expect(codeOf(() => loadCheckpoint(join(dir, 'c')))).toBe('CHECKPOINT_INVALID');
    writeFileSync(join(dir, 'c', 'manifest.json'), 'not json');
    expect(codeOf(() => loadCheckpoint(join(dir, 'c')))).toBe('CHECKPOINT_INVALID');
  });
});
