/**
 * The learned judge on world v2 (`temporal` layout): the training pairs are 48-frame clips with events and temporally
 * local defects, the observation is built from the timeline evidence (events, their moments, local defects, which
 * eighths of the clip were seen and where findings are), slots are eighths of the clip in both videos, and a tiny
 * cold-start → rft → grpo run through `vr-grpo train-judge` on a world-v2 config writes checkpoints the learned backend
 * serves on real frames through the judge engine — with the same verdicts as the cached training rollouts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTrainJudge } from '../../src/cli/commands/train-judge.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { Perception } from '../../src/judge/backends/embedded/perception/index.js';
import {
  FEATURE_SIZE,
  OnnxPolicy,
  TEMPORAL_FEATURE_NAMES,
  createLearnedJudge,
  framesToSlotsIn,
  judgeLayout,
  readLearnedCheckpoint,
  temporalSlotFrames,
  temporalSlotOfFrame,
} from '../../src/judge/backends/learned/index.js';
import { parseTurn } from '../../src/judge/format.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import { PolicyNet } from '../../src/judge-training/policy-net.js';
import {
  PerceptionCache,
  buildDataPairs,
  perceivePairs,
  perceptionRef,
  policyTraces,
  saveStageCheckpoint,
  teacherTraces,
  type DataPairOptions,
  type PerceivedPair,
  type StageRunSummary,
} from '../../src/judge-training/index.js';
import { TEMPORAL_DATA_DEFAULTS, tryParsePrompt } from '../../src/world/index.js';

const RM_V3 = join(PROJECT_ROOT, 'models', 'rm-v3');
const root = mkdtempSync(join(tmpdir(), 'vrgrpo-jt-v2-'));
const config = join(root, 'tiny-v2.yaml');
const dirs = { coldStart: join(root, 'v2-cs'), rft: join(root, 'v2-rft'), grpo: join(root, 'v2-grpo') };
const previousLogLevel = process.env.VRGRPO_LOG_LEVEL;
const DATA = { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3, ...TEMPORAL_DATA_DEFAULTS };
const pairOptions = (split: 'train' | 'heldout', count: number, seed: number): DataPairOptions => ({
  split,
  count,
  seed,
  world: { splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25, eventProbability: 0.6 },
  frames: 48,
  data: DATA,
  decidedOverall: true,
});

beforeAll(() => {
  process.env.VRGRPO_LOG_LEVEL = 'silent';
  writeFileSync(
    config,
    [
      'world: { version: 2, frames: 48, eventProbability: 0.6 }',
      `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base-v2'))} }`,
      `judge: { checkpoint: ${JSON.stringify(RM_V3)} }`,
      'pretrain:',
      `  data: ${JSON.stringify(DATA)}`,
      'judgeTraining:',
      '  trainPairs: 8',
      '  validationPairs: 8',
      '  cacheDir: cache',
      '  hidden: [16]',
      '  coldStart: { epochs: 2, batchSize: 16 }',
      '  rft: { samplesPerPair: 2, epochs: 2, batchSize: 16 }',
      '  grpo: { iterations: 2, pairsPerIteration: 4, groupSize: 4, evalEvery: 0 }',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  if (previousLogLevel === undefined) delete process.env.VRGRPO_LOG_LEVEL;
  else process.env.VRGRPO_LOG_LEVEL = previousLogLevel;
  rmSync(root, { recursive: true, force: true });
});

async function trainJudge(args: readonly string[]): Promise<StageRunSummary> {
  const program = new Command('vr-grpo').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerTrainJudge(program);
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    await program.parseAsync(['train-judge', ...args, '--config', config], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(printed.join('')) as StageRunSummary;
}

describe('world v2 training data and observation', () => {
  it('pairs are 48-frame clips with events in their prompts and pairs decided by local evidence', () => {
    const pairs = buildDataPairs(pairOptions('train', 20, 5));
    expect(pairs).toHaveLength(20);
    expect(pairs.every((p) => p.a.frameCount === 48 && p.b.frameCount === 48 && p.gold.OA !== 0)).toBe(true);
    expect(pairs.filter((p) => tryParsePrompt(p.prompt)?.objects.some((o) => o.event !== undefined) === true).length).toBeGreaterThan(5);
    expect(pairs.every((p) => typeof p.local === 'boolean')).toBe(true);
    expect(pairs.some((p) => p.local === true)).toBe(true);
    // Deterministic from the seed.
    expect(buildDataPairs(pairOptions('train', 3, 5)).map((p) => p.prompt)).toEqual(pairs.slice(0, 3).map((p) => p.prompt));
  });

  it('slots are eighths of the clip, one sweep frame per video; teacher frames project onto them', () => {
    const counts = [48, 48];
    expect(temporalSlotFrames(2, counts, new Set([1, 17, 32, 48, 49, 65, 80, 96]))).toEqual([13, 61]);
    expect(temporalSlotOfFrame(13, counts)).toBe(2);
    expect(temporalSlotOfFrame(48 + 47, counts)).toBe(7);
    expect(framesToSlotsIn('temporal', [1, 60, 96], counts)).toEqual([true, true, false, false, false, false, false, true]);
    expect(judgeLayout('temporal').featureSize).toBe(TEMPORAL_FEATURE_NAMES.length);
    expect(judgeLayout('v1').featureSize).toBe(FEATURE_SIZE);
  });

  it('the observation sees the timeline: changes, local defects, asked windows and where findings lie', async () => {
    const perception = await Perception.create(RM_V3);
    let perceived: PerceivedPair[];
    try {
      perceived = await perceivePairs(perception, buildDataPairs(pairOptions('train', 10, 6)));
    } finally {
      await perception.close();
    }
    expect(perceived.every((p) => typeof p.local === 'boolean')).toBe(true);
    const ref = perceptionRef(RM_V3);
    const traces = await teacherTraces(new PerceptionCache(ref.version), perceived, {
      answerMode: 'per-dimension',
      layout: 'temporal',
      judge: { maxToolCalls: 3 },
    });
    const steps = traces.flatMap((t) => t.steps);
    expect(steps.length).toBeGreaterThan(10);
    expect(steps.every((s) => s.features.length === TEMPORAL_FEATURE_NAMES.length)).toBe(true);
    const at = (name: string): number => TEMPORAL_FEATURE_NAMES.indexOf(name);
    const any = (names: readonly string[]): boolean => steps.some((s) => names.some((n) => (s.features[at(n)] ?? 0) !== 0));
    expect(any(['v1.obj1.changeSeen', 'v2.obj1.changeSeen'])).toBe(true);
    expect(
      any([
        'v1.defect.burst',
        'v1.defect.dropout',
        'v1.defect.flicker',
        'v1.defect.freeze',
        'v1.defect.skip',
        'v2.defect.burst',
        'v2.defect.dropout',
        'v2.defect.flicker',
        'v2.defect.freeze',
        'v2.defect.skip',
      ]),
    ).toBe(true);
    expect(any(Array.from({ length: 8 }, (_, s) => `window.eighth${s + 1}`))).toBe(true);
    expect(any(Array.from({ length: 8 }, (_, s) => `v1.eighth${s + 1}.finding`))).toBe(true);
    // The teacher reasons about time (the planner looks closer) and its tool turns become slot actions.
    expect(traces.some((t) => t.toolCalls > 0)).toBe(true);
    expect(steps.some((s) => s.action.kind === 'select' && s.action.slots.some(Boolean))).toBe(true);
  });
});

describe('vr-grpo train-judge on a world-v2 config', () => {
  it('trains cold-start → rft → grpo in the temporal layout; the checkpoint judges v2 pairs through the engine', async () => {
    await trainJudge(['cold-start', '--out', dirs.coldStart]);
    await trainJudge(['rft', '--from', dirs.coldStart, '--out', dirs.rft]);
    const grpo = await trainJudge(['grpo', '--from', dirs.rft, '--out', dirs.grpo]);
    expect(grpo).toMatchObject({ stage: 'grpo', trainPairs: 8, validationPairs: 8 });
    const ck = readLearnedCheckpoint(dirs.grpo);
    expect(ck.manifest.actions).toMatchObject({ layout: 'temporal', segmentsPerVideo: 8, framesPerSlot: 2 });
    expect(ck.manifest.policy.features).toEqual(TEMPORAL_FEATURE_NAMES);
    expect(ck.manifest.perception.version).toBe(perceptionRef(RM_V3).version);

    const pairs = buildDataPairs(pairOptions('heldout', 3, 41));
    const judge = await createLearnedJudge({ modelDir: dirs.grpo });
    const perception = await Perception.create(RM_V3);
    const policy = await OnnxPolicy.create(ck.policyBytes);
    try {
      const perceived = await perceivePairs(perception, pairs);
      for (const [i, pair] of pairs.entries()) {
        const v = await judge.judge(
          {
            id: `v2-${i}`,
            prompt: pair.prompt,
            mode: 'pairwise',
            videos: [new RawFrameSource(pair.a, 'a'), new RawFrameSource(pair.b, 'b')],
            options: { trace: true },
          },
          {},
        );
        expect(v.rmVersion).toBe('v2-grpo');
        expect(v.answer).not.toBeNull();
        expect(v.formatErrors).toBe(0);
        expect(v.hallucinations.filter((h) => h.kind === 'unseen_frame_reference' || h.kind === 'invalid_selection')).toEqual([]);
        const assistant = (v.turns ?? []).filter((t) => t.role === 'assistant');
        for (const t of assistant) expect(parseTurn(t.text, 'pairwise').kind).not.toBe('invalid');
        const [t] = await policyTraces(policy, new PerceptionCache(ck.manifest.perception.version), perceived.slice(i, i + 1), {
          answerMode: 'per-dimension',
          layout: 'temporal',
          decoding: { kind: 'greedy' },
          maxOwnToolCalls: ck.manifest.actions.maxOwnToolCalls,
        });
        expect(t?.final).toEqual(v.answer);
        expect(t?.framesViewed).toBe(v.framesViewed.reduce((s, f) => s + f.length, 0));
      }
    } finally {
      await Promise.allSettled([policy.close(), perception.close(), judge.close()]);
    }
  });

  it('refuses a world-v1 parent for world-v2 data', async () => {
    const v1 = mkdtempSync(join(root, 'v1-'));
    const net = PolicyNet.create({ hidden: [8] }, 1);
    try {
      saveStageCheckpoint(v1, {
        stage: 'cold-start',
        version: 'v1-cs',
        net,
        answerMode: 'per-dimension',
        maxToolCalls: 3,
        perception: perceptionRef(RM_V3),
        parent: null,
        training: {},
        summary: {},
        metrics: {},
      });
    } finally {
      net.dispose();
    }
    const err = await trainJudge(['rft', '--from', v1, '--out', join(root, 'x')]).catch((e: unknown) => e);
    expect(isVrGrpoError(err) && err.code).toBe('CHECKPOINT_INVALID');
  });
});
