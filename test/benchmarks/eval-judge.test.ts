/**
 * `eval-judge` end to end on small benchmark folders in the released formats (world videos encoded to MP4 by the real
 * ffmpeg adapter): the embedded judge in-process, the VLM backend replayed by a real chat-completions server on
 * loopback answering in VR-Thinker's released forms, and the `vr-grpo eval-judge` command as a child process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, PROJECT_ROOT, loadConfig } from '../../src/config/index.js';
import { createVlmJudge } from '../../src/judge/backends/vlm/index.js';
import {
  computeAccuracy,
  evaluateBenchmark,
  formatReport,
  loadBenchmark,
  resolvePairs,
  servicePairJudge,
  type Evaluation,
  type PairJudge,
} from '../../src/judge/benchmarks/index.js';
import type { JudgeService } from '../../src/judge/judge-service.js';
import { Media } from '../../src/media/index.js';
import { embeddedServiceFactory } from '../../src/reward-server/index.js';
import { ScriptedChatServer, text, type ChatScript } from '../judge/scripted-chat-server.js';
import { videoGenRows, worldPairs, writeGenAiJsonl, writePairVideos, writeVideoGenCsv, type CsvRow, type WorldPair } from './fixtures.js';

const RM_V2 = join(PROJECT_ROOT, 'models', 'rm-v2');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vrgrpo-eval-judge-')));
const data = join(base, 'bench');

let media: Media;
let pairs: WorldPair[];
let paths: { a: string; b: string }[];

beforeAll(async () => {
  media = await Media.create();
  pairs = worldPairs(6, 11);
  mkdirSync(data, { recursive: true });
  paths = await writePairVideos(media, data, pairs);
  writeFileSync(join(data, 'videos', 'corrupt.mp4'), Buffer.from('not an mp4 at all '.repeat(40)));
  const rows: CsvRow[] = [
    ...videoGenRows(pairs, paths),
    // A video that does not decode and one that is missing: failures, never scores.
    { pathA: 'videos/corrupt.mp4', pathB: paths[0]?.b ?? '', prompt: pairs[0]?.prompt ?? '', labels: { Overall: 'A', VQ: 'A', MQ: 'A', TA: 'A' } },
    { pathA: paths[1]?.a ?? '', pathB: 'videos/gone.mp4', prompt: pairs[1]?.prompt ?? '', labels: { Overall: 'B', VQ: 'B', MQ: 'B', TA: 'B' } },
  ];
  writeVideoGenCsv(join(data, 'videogen-rewardbench.csv'), rows);
}, 60_000);

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A judge wrapper that records the most pairs in flight at once. */
function counting(judge: PairJudge): { judge: PairJudge; max: () => number } {
  let now = 0;
  let max = 0;
  return {
    max: () => max,
    judge: async (pair, files, signal) => {
      now += 1;
      max = Math.max(max, now);
      try {
        return await judge(pair, files, signal);
      } finally {
        now -= 1;
      }
    },
  };
}

/** The embedded judge as `vr-grpo eval-judge` builds it from configs/world-v1.yaml (rm-v2, the config's judge section). */
function embeddedJudge(): Promise<JudgeService> {
  return embeddedServiceFactory({ judge: loadConfig(DEFAULT_CONFIG_PATH).judge })({ kind: 'path', path: RM_V2 }, { signal: new AbortController().signal });
}

/** The VideoGen-RewardBench folder judged in-process by the embedded judge. */
async function embeddedVideoGen(service: JudgeService, judge: (j: PairJudge) => PairJudge = (j) => j): Promise<Evaluation> {
  const loaded = loadBenchmark({ bench: 'videogen-rewardbench', dataDir: data });
  return evaluateBenchmark(resolvePairs(data, loaded.pairs), { judge: judge(servicePairJudge(service, media)), concurrency: 2 });
}

describe('eval-judge with the embedded judge in-process', () => {
  let service: JudgeService;
  beforeAll(async () => {
    service = await embeddedJudge();
  }, 60_000);
  afterAll(async () => {
    await service.close();
  });

  it('VideoGen-RewardBench CSV: scores every verdict per dimension, counts the corrupt and the missing video as failures, bounds concurrency', async () => {
    let max = (): number => 0;
    const videogen = await embeddedVideoGen(service, (j) => {
      const c = counting(j);
      max = c.max;
      return c.judge;
    });
    const r = videogen.report;
    expect(max()).toBe(2);
    expect(r).toMatchObject({ pairs: 8, verdicts: 6, failures: { total: 2, byCode: { VIDEO_DECODE_FAILED: 2 } } });
    expect(videogen.results.map((x) => x.id)).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((line) => `videogen-rewardbench:${line}`));
    expect(videogen.results[7]?.message).toContain('gone.mp4 does not exist');
    // The embedded judge always answers every dimension, so nothing is "not given".
    for (const d of r.dimensions) expect(d).toMatchObject({ labelled: 8, judged: 6, failed: 2, notGiven: 0 });
    // The report is exactly the accuracy of the verdicts that came back.
    expect(computeAccuracy(videogen.results.map((x) => ({ gold: x.gold, outcome: x.outcome })))).toEqual(r);
    const overall = r.dimensions[0];
    // Clear pairs: the embedded judge gets most of them.
    expect(overall?.withoutTies.accuracy).toBeGreaterThanOrEqual(0.6);
  });

  it('GenAI-Bench JSONL: overall votes only (URL videos found by file name under --video-dir), the other dimensions unlabelled', async () => {
    // Same videos, same folder layout; left videos are given as Hugging Face URLs, found by name in videos/model-a.
    const votes = pairs.map((p, i) => (i === 0 ? 'bothbad_vote' : p.gold.OA === 1 ? 'leftvote' : 'rightvote'));
    writeGenAiJsonl(join(data, 'video_generation.jsonl'), pairs, paths, votes);
    const loaded = loadBenchmark({ bench: 'genai-bench', dataDir: data, urlDir: 'videos/model-a' });
    expect(loaded.pairs[0]?.videoA).toBe(paths[0]?.a);
    const ev = await evaluateBenchmark(resolvePairs(data, loaded.pairs), { judge: servicePairJudge(service, media), concurrency: 3 });
    expect(ev.report).toMatchObject({ pairs: 6, verdicts: 6, failures: { total: 0 } });
    const [oa, ...others] = ev.report.dimensions;
    expect(oa).toMatchObject({ labelled: 6, goldTies: 1, judged: 6 });
    // The bothbad vote is a tie: dropped without ties.
    expect(oa?.withoutTies.total).toBe(5);
    for (const d of others) expect(d).toMatchObject({ labelled: 0, judged: 0 });
    expect(loaded.pairs.map((p) => [p.videoA, p.videoB])).toEqual(paths.map((p) => [p.a, p.b]));
  });
});

/** Replies by pair (marked in the prompt): the released forms, the paper form with a tie, a refusal, and no answer. */
const REPLIES: Readonly<Record<string, string | number>> = {
  '[p1]': '<think>Video 1 follows the caption; motion is equally smooth.</think>\n<Answer>TA=1, VQ=1, MQ=0, OA=1</Answer>',
  '[p2]': 'Video 2 is sharper and better aligned overall.\n\\boxed{2}',
  '[p3]': '<snapshot>Both show the object.</snapshot><think>Hard to separate.</think><answer> TA = 2, MQ = 2, VQ = 0, OA = 0, CF = 2 </answer>',
  '[p4]': 400,
  '[p5]': 'I cannot decide which video is better.',
};

const replay: ChatScript = (body) => {
  const all = JSON.stringify(body.messages);
  const key = Object.keys(REPLIES).find((k) => all.includes(k));
  const reply = key === undefined ? undefined : REPLIES[key];
  if (typeof reply === 'number') return { kind: 'status', status: reply, body: JSON.stringify({ error: { message: 'too many images in this request' } }) };
  return text(reply ?? 'no scripted reply');
};

describe('eval-judge with the VLM backend replayed by a scripted chat server', () => {
  let server: ScriptedChatServer;
  beforeAll(async () => {
    server = await ScriptedChatServer.start(replay);
  });
  afterAll(async () => {
    await server.close();
  });

  it('scores <Answer>TA=1, VQ=1, MQ=0, OA=1</Answer> per dimension, a bare \\boxed{2} as overall only, and counts a refusal and a non-answer as failures', async () => {
    const labels = [
      { Overall: 'A', VQ: 'A', MQ: 'same', TA: 'B' },
      { Overall: 'B', VQ: 'A', MQ: 'B', TA: 'B' },
      { Overall: 'A', VQ: 'same', MQ: 'B', TA: 'B' },
      { Overall: 'A', VQ: 'A', MQ: 'A', TA: 'A' },
      { Overall: 'B', VQ: 'B', MQ: 'B', TA: 'B' },
    ];
    const vlmRows = labels.map((l, i) => ({ pathA: paths[i]?.a ?? '', pathB: paths[i]?.b ?? '', prompt: `[p${i + 1}] ${pairs[i]?.prompt ?? ''}`, labels: l }));
    writeVideoGenCsv(join(data, 'vlm.csv'), vlmRows);
    const loaded = loadBenchmark({ bench: 'videogen-rewardbench', dataDir: data, file: 'vlm.csv' });
    const engine = await createVlmJudge({ vlm: { baseUrl: server.baseUrl, model: 'vr-thinker' }, env: {} });
    let ev: Evaluation;
    try {
      ev = await evaluateBenchmark(resolvePairs(data, loaded.pairs), { judge: servicePairJudge(engine, media), concurrency: 2 });
    } finally {
      await engine.close();
    }
    const r = ev.report;
    expect(r).toMatchObject({ pairs: 5, verdicts: 3, failures: { total: 2, byCode: { BACKEND_REJECTED: 1, FORMAT_ERROR: 1 } } });
    expect(ev.results.map((x) => (x.outcome.kind === 'verdict' ? x.outcome.answer : x.outcome.code))).toEqual([
      { TA: 1, VQ: 1, MQ: 0, OA: 1 },
      { OA: 2 },
      { TA: 2, MQ: 2, VQ: 0, OA: 0, CF: 2 },
      'BACKEND_REJECTED',
      'FORMAT_ERROR',
    ]);
    const byDim = Object.fromEntries(r.dimensions.map((d) => [d.dimension, d]));
    expect(byDim.OA).toMatchObject({ judged: 3, failed: 2, notGiven: 0, cells: { agree: 2, disagree: 0, goldTieOnly: 0, judgeTieOnly: 1, bothTie: 0 } });
    expect(byDim.OA?.withTies).toMatchObject({ correct: 2, total: 3 });
    expect(byDim.OA?.withoutTies).toMatchObject({ correct: 2, total: 3 });
    expect(byDim.VQ).toMatchObject({
      judged: 2,
      notGiven: 1,
      cells: { agree: 1, bothTie: 1 },
      withTies: { correct: 2, total: 2 },
      withoutTies: { correct: 1, total: 1 },
    });
    expect(byDim.MQ).toMatchObject({
      judged: 2,
      notGiven: 1,
      cells: { agree: 1, bothTie: 1 },
      withTies: { correct: 2, total: 2 },
      withoutTies: { correct: 1, total: 1 },
    });
    expect(byDim.TA).toMatchObject({
      judged: 2,
      notGiven: 1,
      cells: { agree: 1, disagree: 1 },
      withTies: { correct: 1, total: 2 },
      withoutTies: { correct: 1, total: 2 },
    });
    // The frames the server saw came from the decoded MP4s.
    expect(server.bodies.length).toBeGreaterThan(0);
    expect(server.bodies.every((b) => /data:(image\/[a-z]+|video\/jpeg);base64,/.test(JSON.stringify(b)))).toBe(true);
  });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real `vr-grpo` entry point as a child process (bounded by a timeout). */
function cli(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VRGRPO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

describe('vr-grpo eval-judge (child process)', () => {
  it('prints the accuracy table of the embedded default judge on a VideoGen-RewardBench folder', async () => {
    // World v1's config (rm-v2, the judge reasoning as in world v1), which the in-process judge below mirrors.
    const run = await cli([
      'eval-judge',
      '--config',
      join(PROJECT_ROOT, 'configs', 'world-v1.yaml'),
      '--bench',
      'videogen-rewardbench',
      '--data',
      data,
      '--concurrency',
      '2',
    ]);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^VideoGen-RewardBench · ${join(data, 'videogen-rewardbench.csv')} · judge embedded rm-v2 · \\d+\\.\\d s$`));
    expect(lines[1]).toBe('pairs 8 · verdicts 6 · failures 2 (VIDEO_DECODE_FAILED 2)');
    expect(lines[3]?.split(/\s{2,}/)).toEqual(['dimension', 'labelled', 'gold ties', 'judged', 'not given', 'failed', 'w/ ties', 'w/o ties', 'judge ties†']);
    // The same rows as an in-process run of the same judge (the embedded judge is deterministic).
    const service = await embeddedJudge();
    let inProcess: Evaluation;
    try {
      inProcess = await embeddedVideoGen(service);
    } finally {
      await service.close();
    }
    expect(lines.slice(3, 8)).toEqual(formatReport(inProcess.report, { bench: '', file: '', judge: '', seconds: 0 }).slice(3, 8));
  });

  it('judges in-process with the VLM backend when the config says judge.backend: vlm (--json, --limit)', async () => {
    const server = await ScriptedChatServer.start(replay);
    try {
      const dir = join(base, 'cli-vlm');
      mkdirSync(dir, { recursive: true });
      const config = join(dir, 'vlm.yaml');
      writeFileSync(config, `judge:\n  backend: vlm\n  vlm:\n    baseUrl: ${server.baseUrl}\n    model: vr-thinker\n`);
      writeVideoGenCsv(
        join(data, 'cli-vlm.csv'),
        [1, 2, 3].map((i) => ({
          pathA: paths[i]?.a ?? '',
          pathB: paths[i]?.b ?? '',
          prompt: `[p${i}] ${pairs[i]?.prompt ?? ''}`,
          labels: { Overall: 'B', VQ: 'A', MQ: 'B', TA: 'A' },
        })),
      );
      const run = await cli([
        'eval-judge',
        '--bench',
        'videogen-rewardbench',
        '--data',
        data,
        '--file',
        'cli-vlm.csv',
        '--limit',
        '2',
        '--json',
        '--config',
        config,
      ]);
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as {
        judge: string;
        report: { pairs: number; dimensions: { dimension: string; notGiven: number; withoutTies: { correct: number; total: number } }[] };
        pairs: { outcome: unknown }[];
      };
      expect(out.judge).toBe('vlm vlm:vr-thinker');
      expect(out.report.pairs).toBe(2);
      expect(out.pairs.map((p) => p.outcome)).toEqual([
        { kind: 'verdict', answer: { TA: 1, VQ: 1, MQ: 0, OA: 1 } },
        { kind: 'verdict', answer: { OA: 2 } },
      ]);
      expect(out.report.dimensions.map((d) => [d.dimension, d.withoutTies.correct, d.withoutTies.total, d.notGiven])).toEqual([
        ['OA', 1, 2, 0],
        ['VQ', 1, 1, 1],
        ['MQ', 0, 1, 1], // a judge tie against a preference: wrong
        ['TA', 1, 1, 1],
      ]);
    } finally {
      await server.close();
    }
  });

  it('exits 1 with FORBIDDEN_PATH, before judging, when a video path leaves the data folder', async () => {
    const dir = join(base, 'escape');
    mkdirSync(dir, { recursive: true });
    writeVideoGenCsv(join(dir, 'videogen-rewardbench.csv'), [
      { pathA: `../bench/${paths[0]?.a ?? ''}`, pathB: `../bench/${paths[0]?.b ?? ''}`, prompt: 'p', labels: { Overall: 'A', VQ: 'A', MQ: 'A', TA: 'A' } },
    ]);
    const run = await cli(['eval-judge', '--bench', 'videogen-rewardbench', '--data', dir, '--json']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('error [FORBIDDEN_PATH]: videogen-rewardbench:2 video 1');
  });
});
