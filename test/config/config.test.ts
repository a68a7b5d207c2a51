import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, defaultConfig, loadConfig, resolveConfig } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw, { baseDir: dir, source: 'test.yaml' });
  } catch (e) {
    if (isVrGrpoError(e, 'CONFIG_INVALID')) return (e.details.problems as string[]) ?? [];
    throw e;
  }
  return [];
}

describe('config', () => {
  it('loads the shipped default, fills defaults, resolves paths against the file and freezes everything', () => {
    const c = loadConfig(DEFAULT_CONFIG_PATH);
    expect(c.training.groupSize).toBe(8);
    expect(c.world.frames).toBe(48);
    expect(c.world.version).toBe(2);
    expect(c.reward).toMatchObject({ mode: 'pairwise', plan: 'adaptive', budget: null });
    expect(c.generator.checkpoint).toBe(join(PROJECT_ROOT, 'models', 'generator-base-v2'));
    // The judge bench:judge-training ranks first on world v2 (docs/judge-training.md).
    expect(c.judge.checkpoint).toBe(join(PROJECT_ROOT, 'models', 'judge-v2', 'grpo-no-cot-gain'));
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.generator.sampler.sdeWindow)).toBe(true);
    expect(defaultConfig()).toEqual({ ...c, source: null });
  });

  it('names the field path and the reason for each invalid value', () => {
    expect(problems({ training: { groupSize: 'eight' } })).toEqual(['training.groupSize: expected integer >= 2 and <= 256, got "eight"']);
    expect(problems({ training: { groupSize: 1 } })[0]).toMatch(/^training\.groupSize: expected integer >= 2/);
    expect(problems({ generator: { sampler: { noiseLevel: 0 } } })).toEqual(['generator.sampler.noiseLevel: expected number > 0 and <= 5, got 0']);
    expect(problems({ world: { width: 63 } })).toEqual(['world.width: expected even integer, got 63']);
    expect(problems({ tensor: { backend: 'gpu' } })[0]).toContain('tensor.backend: expected one of "auto"');
    expect(problems({ training: { groupSzie: 4 } })).toEqual(['training.groupSzie: unknown field']);
    expect(problems({ world: 5 })).toEqual(['world: expected a mapping, got 5']);
    expect(problems({ seed: -1, world: { fps: 0 } })).toHaveLength(2);
  });

  it('reports YAML syntax errors and missing files with stable codes', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'training:\n  groupSize: [1,\n');
    let caught: unknown;
    try {
      loadConfig(bad);
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('not valid YAML');
    caught = undefined;
    try {
      loadConfig(join(dir, 'missing.yaml'));
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'CONFIG_NOT_FOUND')).toBe(true);
  });

  it('accepts an empty file as all defaults', () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    expect(loadConfig(empty).training.groupSize).toBe(8);
  });
});
