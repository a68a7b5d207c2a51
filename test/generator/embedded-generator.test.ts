import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedGenerator, evaluatePolicyGold, loadCheckpoint, samplerOptionsFrom, trainerOptionsFrom } from '../../src/generator/index.js';
import { Media } from '../../src/media/index.js';
import { liveTensorCount } from '../../src/tensor/index.js';
import { useBackend } from './helpers.js';
import { v1Config } from '../world-v1.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-gen-'));
const config = v1Config();
let generator: EmbeddedGenerator;
let media: Media;

beforeAll(async () => {
  await useBackend();
  media = await Media.create();
  generator = await EmbeddedGenerator.create({ config, media });
});
afterAll(async () => {
  await generator.close();
  rmSync(dir, { recursive: true, force: true });
});

const prompts = [
  'a red circle moving left fast on a navy background',
  'a green cross staying still and a white square moving up slowly on a maroon background',
];

describe('embedded generator (shipped base checkpoint)', () => {
  it('releases every tensor it made on close, trainer and Adam state included (a soak builds one per run)', async () => {
    const config = v1Config();
    const before = liveTensorCount();
    for (let i = 0; i < 2; i++) {
      const g = await EmbeddedGenerator.create({ config, trainer: trainerOptionsFrom(config, 10) });
      const r = await g.generate({ prompts: ['a red circle moving left fast on a navy background'], groupSize: 2, seed: i });
      await g.update([{ rolloutId: r.rolloutId, advantages: [1, -1] }]);
      expect(liveTensorCount()).toBeGreaterThan(before);
      await g.close();
      expect(liveTensorCount()).toBe(before);
    }
  });

  it('returns G videos per prompt with trajectories, rendered at the configured size, and MP4s on request', async () => {
    const r = await generator.generate({ prompts, groupSize: 3, seed: 1, mp4Dir: dir });
    expect(r.videos.map((v) => v.id)).toEqual(['p0-m0', 'p0-m1', 'p0-m2', 'p1-m0', 'p1-m1', 'p1-m2']);
    expect(r.trajectory?.count).toBe(6);
    const window = config.generator.sampler.sdeWindow;
    expect(r.trajectory?.steps.map((s) => s.index)).toEqual(
      Array.from({ length: (window.end ?? config.generator.sampler.steps) - window.start }, (_, i) => window.start + i),
    );
    for (const v of r.videos) {
      expect(v.video).toMatchObject({ width: 64, height: 64, frameCount: 24, fps: 8 });
      expect(v.video.data.length).toBe(24 * 64 * 64 * 3);
    }
    const first = r.videos[0]?.mp4Path;
    if (first === null || first === undefined) throw new Error('no mp4 written');
    expect(await media.probe(first)).toMatchObject({ frameCount: 24, width: 64, height: 64 });
  });

  it('is reproducible by seed and differs across seeds', async () => {
    const a = await generator.generate({ prompts, groupSize: 2, seed: 5 });
    const b = await generator.generate({ prompts, groupSize: 2, seed: 5 });
    const c = await generator.generate({ prompts, groupSize: 2, seed: 6 });
    expect(Array.from(a.videos[0]?.latent ?? [])).toEqual(Array.from(b.videos[0]?.latent ?? [1]));
    expect(Array.from(a.videos[0]?.latent ?? [])).not.toEqual(Array.from(c.videos[0]?.latent ?? []));
  });

  it('leaks no tensors across repeated generation', async () => {
    await generator.generate({ prompts, groupSize: 2, seed: 7 });
    const before = liveTensorCount();
    for (let i = 0; i < 3; i++) await generator.generate({ prompts, groupSize: 2, seed: 8 + i });
    expect(liveTensorCount()).toBe(before);
  });

  it('is the mediocre base its manifest reports: held-out gold accuracy in [0.3, 0.6], re-measured', () => {
    const manifest = loadCheckpoint(config.generator.checkpoint).manifest;
    const recorded = (manifest.metadata.heldOut as { accuracy: number }).accuracy;
    const measured = evaluatePolicyGold(generator.policy, config, {
      split: 'heldout',
      prompts: 128,
      seed: 99,
      sampler: samplerOptionsFrom(config),
      useLora: true,
    });
    expect(measured.accuracy).toBeGreaterThanOrEqual(0.3);
    expect(measured.accuracy).toBeLessThanOrEqual(0.6);
    expect(Math.abs(measured.accuracy - recorded)).toBeLessThan(0.06);
  });
});
