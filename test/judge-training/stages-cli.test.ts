/**
 * A tiny run of the three stages through `vr-grpo train-judge` (the real command, in process): the configured generator
 * makes the gold pairs, rm-v2 perceives them, each stage writes a checkpoint with a manifest and metrics.json, and the
 * last one is loaded by the learned backend and served through the judge engine on real frames (VR-Thinker turns) —
 * with the same verdict as the training rollouts produce from cached perception.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTrainJudge } from '../../src/cli/commands/train-judge.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { Perception } from '../../src/judge/backends/embedded/perception/index.js';
import { OnnxPolicy, createLearnedJudge, readLearnedCheckpoint } from '../../src/judge/backends/learned/index.js';
import { PolicyNet } from '../../src/judge-training/policy-net.js';
import { parseTurn } from '../../src/judge/format.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import {
  METRICS_FILE,
  PerceptionCache,
  perceivePairs,
  perceptionRef,
  policyTraces,
  saveStageCheckpoint,
  type StageRunSummary,
} from '../../src/judge-training/index.js';
import { tf } from '../../src/tensor/index.js';
import { RM_V2, worldPairs } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-jt-cli-'));
const config = join(root, 'tiny.yaml');
const dirs = { coldStart: join(root, 'judge-cs'), rft: join(root, 'judge-rft'), grpo: join(root, 'judge-grpo'), looker: join(root, 'judge-looker') };
const previousLogLevel = process.env.VRGRPO_LOG_LEVEL;

beforeAll(() => {
  process.env.VRGRPO_LOG_LEVEL = 'silent';
  writeFileSync(
    config,
    [
      // World v1 (the default is v2): the generator below is the v1 base and the checks use the v1 observation layout.
      'world: { version: 1, frames: 24 }',
      `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
      `judge: { checkpoint: ${JSON.stringify(RM_V2)} }`,
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

/** Runs `vr-grpo train-judge …args` in process; resolves to the JSON summary it printed. */
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

const metricsOf = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, METRICS_FILE), 'utf8')) as Record<string, unknown>;

describe('vr-grpo train-judge: cold-start → rft → grpo', () => {
  it('each stage writes a checkpoint (manifest + metrics.json) naming its parent', async () => {
    const cs = await trainJudge(['cold-start', '--out', dirs.coldStart]);
    expect(cs).toMatchObject({ stage: 'cold-start', version: 'judge-cs', parent: null, trainPairs: 8, validationPairs: 8 });
    const rft = await trainJudge(['rft', '--from', dirs.coldStart, '--out', dirs.rft]);
    expect(rft).toMatchObject({ stage: 'rft', version: 'judge-rft', parent: { version: 'judge-cs', stage: 'cold-start' } });
    const grpo = await trainJudge(['grpo', '--from', dirs.rft, '--out', dirs.grpo]);
    expect(grpo).toMatchObject({ stage: 'grpo', version: 'judge-grpo', parent: { version: 'judge-rft', stage: 'rft' } });

    const manifests = [dirs.coldStart, dirs.rft, dirs.grpo].map((d) => readLearnedCheckpoint(d).manifest);
    expect(manifests.map((m) => m.stage)).toEqual(['cold-start', 'rft', 'grpo']);
    expect(manifests.map((m) => (m.training.parent as { version: string } | null)?.version ?? null)).toEqual([null, 'judge-cs', 'judge-rft']);
    // The parent recorded is the policy the stage started from.
    expect((manifests[2]?.training.parent as { policySha256: string }).policySha256).toBe(manifests[1]?.policy.sha256);
    for (const m of manifests)
      expect(m.metrics).toMatchObject({ trainPairs: 8, validationPairs: 8, validation: { pairwiseAccuracy: expect.any(Number) as number } });

    const csMetrics = metricsOf(dirs.coldStart) as {
      stage: string;
      teacher: { judgments: number; allCorrectShare: number };
      kept: { traces: number; of: number };
    };
    expect(csMetrics.stage).toBe('cold-start');
    expect(csMetrics.kept.of).toBe(8);
    expect(csMetrics.kept.traces).toBeLessThanOrEqual(Math.round(csMetrics.teacher.allCorrectShare * csMetrics.teacher.judgments));
    const rftMetrics = metricsOf(dirs.rft) as { stage: string; kept: { traces: number; of: number } };
    expect(rftMetrics.stage).toBe('rft');
    expect(rftMetrics.kept.of).toBe(16);
    const grpoMetrics = metricsOf(dirs.grpo) as { stage: string; iterations: unknown[]; onPolicyMaxRatioDeviation: number };
    expect(grpoMetrics.stage).toBe('grpo');
    expect(grpoMetrics.iterations).toHaveLength(2);
    expect(grpoMetrics.onPolicyMaxRatioDeviation).toBeLessThan(1e-5);
  });

  it('refuses a missing or mismatched parent', async () => {
    await expect(trainJudge(['rft', '--out', join(root, 'x')])).rejects.toThrow(/--from/);
    const missing = await trainJudge(['rft', '--from', join(root, 'nope'), '--out', join(root, 'x')]).catch((e: unknown) => e);
    expect(isVrGrpoError(missing) && missing.code).toBe('CHECKPOINT_NOT_FOUND');
    const mode = await trainJudge(['grpo', '--from', dirs.rft, '--out', join(root, 'x'), '--answer-mode', 'overall-only']).catch((e: unknown) => e);
    expect(isVrGrpoError(mode) && mode.code).toBe('CHECKPOINT_INVALID');
  });
});

/**
 * Serves the checkpoint at `dir` on real frames of a few held-out pairs and checks every verdict: VR-Thinker turns that
 * parse, no format errors or invalid selections, and the same answer, tool calls and frames as the training rollouts
 * give from cached perception. Returns the tool calls made.
 */
async function checkServed(dir: string, version: string): Promise<number> {
  const pairs = worldPairs(4, 41, 'heldout');
  const judge = await createLearnedJudge({ modelDir: dir });
  const perception = await Perception.create(RM_V2);
  const ck = readLearnedCheckpoint(dir);
  const policy = await OnnxPolicy.create(ck.policyBytes);
  let calls = 0;
  try {
    expect(judge.rmVersion()).toBe(version);
    const perceived = await perceivePairs(perception, pairs);
    for (const [i, pair] of pairs.entries()) {
      const v = await judge.judge(
        {
          id: `served-${i}`,
          prompt: pair.prompt,
          mode: 'pairwise',
          videos: [new RawFrameSource(pair.a, 'a'), new RawFrameSource(pair.b, 'b')],
          options: { trace: true },
        },
        {},
      );
      expect(v.rmVersion).toBe(version);
      expect(v.answer).not.toBeNull();
      const assistant = (v.turns ?? []).filter((t) => t.role === 'assistant');
      expect(assistant.length).toBe(v.toolCalls + 1);
      for (const t of assistant) {
        expect(t.text).toMatch(/^<snapshot>[\s\S]+<\/snapshot>\n<think>[\s\S]+<\/think>\n/);
        expect(parseTurn(t.text, 'pairwise').kind).not.toBe('invalid');
      }
      for (const t of assistant.slice(0, -1))
        expect(t.text).toMatch(/<recommend answer> TA = \d, MQ = \d, VQ = \d, OA = \d, CF = \d <\/recommend answer>\n<tool_call>/);
      const last = parseTurn(assistant.at(-1)?.text ?? '', 'pairwise');
      expect(last.kind === 'answer' && last.answer).toEqual(v.answer);
      expect(v.formatErrors).toBe(0);
      expect(v.hallucinations.filter((h) => h.kind === 'unseen_frame_reference' || h.kind === 'invalid_selection')).toEqual([]);
      calls += v.toolCalls;

      // The same pair perceived once and judged from cached perception, as every training stage judges.
      const cache = new PerceptionCache(ck.manifest.perception.version);
      const [t] = await policyTraces(policy, cache, perceived.slice(i, i + 1), {
        answerMode: ck.manifest.actions.answerMode,
        decoding: { kind: 'greedy' },
        maxOwnToolCalls: ck.manifest.actions.maxOwnToolCalls,
      });
      expect(t?.final).toEqual(v.answer);
      expect(t?.toolCalls).toBe(v.toolCalls);
      expect(t?.framesViewed).toBe(v.framesViewed.reduce((s, f) => s + f.length, 0));
    }
  } finally {
    await Promise.allSettled([policy.close(), perception.close(), judge.close()]);
  }
  return calls;
}

describe('checkpoints served by the learned backend through the judge engine', () => {
  it('the trained GRPO checkpoint judges real frames in VR-Thinker format, as its training rollouts do from cached perception', async () => {
    await checkServed(dirs.grpo, 'judge-grpo');
  });

  it('so does a policy that looks closer (tool calls, frames beyond the initial ones, the memory window)', async () => {
    const net = PolicyNet.create({ hidden: [16] }, 3);
    try {
      net.vars.get('head_act.bias')?.assign(tf.tensor1d([4, 0]));
      saveStageCheckpoint(dirs.looker, {
        stage: 'cold-start',
        version: 'judge-looker',
        net,
        answerMode: 'per-dimension',
        maxToolCalls: 3,
        perception: perceptionRef(RM_V2),
        parent: null,
        training: {},
        summary: {},
        metrics: {},
      });
    } finally {
      net.dispose();
    }
    expect(await checkServed(dirs.looker, 'judge-looker')).toBeGreaterThanOrEqual(8);
  });
});
