/**
 * The generator side of world v2 (issue 16): a v2 policy makes 77-number latents that decode to scenes with time and
 * render 48-frame clips; a policy of the wrong world is refused; prompts carry events only in v2; pretraining and the
 * gold evaluation follow the world version.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, defaultConfig, loadConfig, type Config } from '../../src/config/index.js';
import { chooseAnchorPrompts } from '../../src/coordinator/anchor-set.js';
import { WorldPromptSampler } from '../../src/coordinator/prompt-sampler.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import {
  EmbeddedGenerator,
  FlowPolicy,
  architectureFrom,
  evaluatePolicyGold,
  loadCheckpoint,
  pretrainGenerator,
  samplerOptionsFrom,
  saveCheckpoint,
  type PolicyArchitecture,
} from '../../src/generator/index.js';
import {
  LATENT_DIM_V2,
  PromptGenerator,
  TEMPORAL_DATA_DEFAULTS,
  decodeLatent,
  latentDimOf,
  tryParsePrompt,
  worldPromptOptions,
} from '../../src/world/index.js';
import { SDE, SMALL, useBackend } from './helpers.js';

const SMALL_V2: PolicyArchitecture = { ...SMALL, latentDim: LATENT_DIM_V2 };
/** The small policies' sizes, so a config loads their checkpoints. */
const smallGenerator = {
  textFeatures: SMALL.textFeatures,
  textEmbedDim: SMALL.textEmbedDim,
  hiddenDim: SMALL.hiddenDim,
  depth: SMALL.depth,
  timeFeatures: SMALL.timeFeatures,
  lora: { rank: SMALL.loraRank, alpha: SMALL.loraAlpha },
};
const v1Config = (generator: object = {}): Config =>
  defaultConfig({
    world: { version: 1, frames: 24 },
    generator: { checkpoint: join(PROJECT_ROOT, 'models', 'generator-base'), ...smallGenerator, ...generator },
  });
const v2Config = (generator: object = {}): Config => defaultConfig({ world: { version: 2, frames: 48 }, generator: { ...smallGenerator, ...generator } });
const hasEvent = (text: string): boolean => tryParsePrompt(text)?.objects.some((o) => o.event !== undefined) ?? false;

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-world-v2-'));
let v1Policy: FlowPolicy;
let v2Policy: FlowPolicy;

beforeAll(async () => {
  await useBackend();
  v1Policy = FlowPolicy.create(SMALL, 3);
  v2Policy = FlowPolicy.create(SMALL_V2, 4);
  saveCheckpoint(join(dir, 'v1'), { policy: v1Policy, base: true, lora: false });
  saveCheckpoint(join(dir, 'v2'), { policy: v2Policy, base: true, lora: false });
});
afterAll(() => {
  v1Policy.dispose();
  v2Policy.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('world v2 generator', () => {
  it('samples 77-number latents that decode to scenes with events and local defects, rendered as 48-frame clips', async () => {
    const config = v2Config();
    const generator = await EmbeddedGenerator.create({ config, policy: v2Policy });
    try {
      const prompts = [
        'a red circle moving left slowly, then turning blue halfway on a navy background',
        'a white cross staying still, appearing early on a black background',
      ];
      const r = await generator.generate({ prompts, groupSize: 2, seed: 1, sampler: SDE });
      expect(r.videos).toHaveLength(4);
      for (const v of r.videos) {
        expect(v.latent?.length).toBe(77);
        const scene = decodeLatent(v.latent ?? [], config.world.width, config.world.height);
        expect(scene.temporal?.events).toHaveLength(2);
        expect(Array.isArray(scene.temporal?.localDefects)).toBe(true);
        expect(v.video).toMatchObject({ width: 64, height: 64, frameCount: 48, fps: 8 });
        expect(v.video.data.length).toBe(48 * 64 * 64 * 3);
      }
      expect(r.trajectory?.latentDim).toBe(77);
    } finally {
      await generator.close();
    }
  });

  it('loads a v2 checkpoint with a v2 config, and builds v2 architectures from it', async () => {
    const config = v2Config({ checkpoint: join(dir, 'v2') });
    expect(architectureFrom(config).latentDim).toBe(77);
    expect(architectureFrom(v1Config()).latentDim).toBe(35);
    const generator = await EmbeddedGenerator.create({ config });
    try {
      expect(generator.policy.architecture.latentDim).toBe(77);
    } finally {
      await generator.close();
    }
  });

  it.each([
    ['a v1 checkpoint in a v2 world', () => v2Config({ checkpoint: join(dir, 'v1') }), 35, 77, 'set world.version: 1'],
    ['a v2 checkpoint in a v1 world', () => v1Config({ checkpoint: join(dir, 'v2') }), 77, 35, 'set world.version: 2'],
  ] as const)('refuses %s with CONFIG_INVALID naming both latent lengths and the fix', async (_, makeConfig, have, need, fix) => {
    const error: unknown = await EmbeddedGenerator.create({ config: makeConfig() }).then(
      async (g) => {
        await g.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(isVrGrpoError(error, 'CONFIG_INVALID')).toBe(true);
    const message = error instanceof Error ? error.message : '';
    expect(message).toContain(`latentDim ${have}`);
    expect(message).toContain(`needs latentDim ${need}`);
    expect(message).toContain(fix);
    expect(message).toContain('generator.checkpoint');
  });

  it('refuses a given policy of the other world too', async () => {
    await expect(EmbeddedGenerator.create({ config: v2Config(), policy: v1Policy })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(EmbeddedGenerator.create({ config: v1Config(), policy: v2Policy })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('world v2 prompts', () => {
  it('worldPromptOptions gives no events in v1 (the v1 stream unchanged) and events in v2', () => {
    const v1 = worldPromptOptions(v1Config().world, 'train', 5);
    const v2 = worldPromptOptions(v2Config().world, 'train', 5);
    expect(v1.eventProbability).toBe(0);
    expect(v2.eventProbability).toBe(0.6);
    const w = v1Config().world;
    const before = new PromptGenerator({
      seed: 5,
      split: 'train',
      splitSeed: w.splitSeed,
      heldOutFraction: w.heldOutFraction,
      secondObjectProbability: w.secondObjectProbability,
    }).take(200);
    const v1Specs = new PromptGenerator(v1).take(200);
    expect(v1Specs).toEqual(before);
    expect(v1Specs.some((s) => s.objects.some((o) => o.event !== undefined))).toBe(false);
    const withEvents = new PromptGenerator(v2).take(200).filter((s) => s.objects.some((o) => o.event !== undefined)).length;
    expect(withEvents).toBeGreaterThan(80);
  });

  it('the coordinator samples (and chooses anchors) with events only in v2', () => {
    const v1 = new WorldPromptSampler(v1Config().world, 9).next(100);
    const v2 = new WorldPromptSampler(v2Config().world, 9).next(100);
    expect(v1.filter((p) => hasEvent(p.text))).toHaveLength(0);
    expect(v2.filter((p) => hasEvent(p.text)).length).toBeGreaterThan(40);
    expect(chooseAnchorPrompts(v1Config(), 30).some(hasEvent)).toBe(false);
    expect(chooseAnchorPrompts(v2Config(), 30).some(hasEvent)).toBe(true);
  });
});

describe('world v2 gold evaluation and pretraining', () => {
  it('reports event and eventTime only where they were checked (v2), never as 0 for unchecked attributes', () => {
    const options = { split: 'heldout' as const, prompts: 24, seed: 2, sampler: SDE, useLora: false };
    const v1 = evaluatePolicyGold(v1Policy, v1Config(), options);
    expect(Object.keys(v1.perAttribute)).not.toContain('event');
    expect(Object.keys(v1.perAttribute)).not.toContain('eventTime');
    expect(v1.perAttribute.colour).toBeTypeOf('number');
    const v2 = evaluatePolicyGold(v2Policy, v2Config(), options);
    expect(v2.perAttribute.event).toBeTypeOf('number');
    expect(v2.perAttribute.eventTime).toBeTypeOf('number');
  });

  it('pretrains a v2 policy on v2 data (config defaults are the world’s temporal imperfections)', async () => {
    const config = defaultConfig({
      world: { version: 2, frames: 48 },
      generator: smallGenerator,
      pretrain: { steps: 3, batchSize: 16, evalPrompts: 16 },
    });
    expect(config.pretrain.data).toMatchObject(TEMPORAL_DATA_DEFAULTS);
    const result = await pretrainGenerator(config);
    try {
      expect(result.policy.architecture.latentDim).toBe(latentDimOf(2));
      expect(result.lossCurve.at(-1)?.loss).toBeGreaterThan(0);
      expect(result.heldOut.perAttribute.event).toBeTypeOf('number');
      expect(result.train.perAttribute.eventTime).toBeTypeOf('number');
    } finally {
      result.policy.dispose();
    }
  });

  it('the shipped v2 base (models/generator-base-v2) is the mediocre base its manifest reports, weak at event times', async () => {
    const config = loadConfig(resolve(PROJECT_ROOT, 'configs', 'world-v2.yaml'));
    const generator = await EmbeddedGenerator.create({ config });
    try {
      expect(generator.policy.architecture.latentDim).toBe(77);
      const recorded = loadCheckpoint(config.generator.checkpoint).manifest.metadata.heldOut as { accuracy: number };
      const measured = evaluatePolicyGold(generator.policy, config, {
        split: 'heldout',
        prompts: 128,
        seed: 99,
        sampler: samplerOptionsFrom(config),
        useLora: true,
      });
      expect(measured.accuracy).toBeGreaterThanOrEqual(0.3);
      expect(measured.accuracy).toBeLessThanOrEqual(0.65);
      expect(Math.abs(measured.accuracy - recorded.accuracy)).toBeLessThan(0.06);
      expect(measured.perAttribute.eventTime).toBeLessThan(0.6);
    } finally {
      await generator.close();
    }
  });

  it('configs/world-v2.yaml is world v2 at 48 frames with the v2 base, and never pretrains over the v1 base', () => {
    const config = loadConfig(resolve(PROJECT_ROOT, 'configs', 'world-v2.yaml'));
    expect(config.world).toMatchObject({ version: 2, frames: 48 });
    expect(config.generator.checkpoint).toBe(resolve(PROJECT_ROOT, 'models', 'generator-base-v2'));
    expect(config.pretrain.out).toBe(resolve(PROJECT_ROOT, 'models', 'generator-base-v2'));
  });
});
