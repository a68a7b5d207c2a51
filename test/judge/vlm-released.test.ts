/**
 * The released-model profile (judge.vlm.profile: vr-thinker-released, the default) against a real chat-completions
 * server on loopback, checked against what the released VR-Thinker expects and writes: the system prompt with the
 * select_frames description over frames 1–96, the first user turn as one 8-frame video then the task layout, the 96-frame
 * virtual index space (49–96 is video 2, whatever the videos' real lengths), selected frames as bare images after
 * "After selecting frames: Here are the selected frames", memory-window drops that remove images only, range errors in
 * 1–96, and every final-answer form reported with exactly what the model said.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { createVlmJudge, type VlmOptions } from '../../src/judge/backends/vlm/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import { ScriptedChatServer, decodeImageUrl, messageText, sentImages, text, type BodyMessage, type ChatBody } from './scripted-chat-server.js';

/** A video of `frames` 16×16 frames; frame i (0-based) has every value base + 4·i, so each image is identifiable. */
function video(base: number, frames: number): RawVideo {
  const size = 16 * 16 * 3;
  const data = new Uint8Array(frames * size);
  for (let f = 0; f < frames; f++) data.fill(base + 4 * f, f * size, (f + 1) * size);
  return { width: 16, height: 16, frameCount: frames, fps: 8, data };
}

const PROMPT = 'a red circle moving left, then turning blue';
/** Video 1: 24 real frames (values 0, 4, …); video 2: 30 real frames (values 130, 134, …). */
const pair = (): JudgmentRequest => ({
  id: 'r1',
  prompt: PROMPT,
  mode: 'pairwise',
  videos: [new RawFrameSource(video(0, 24), 'a'), new RawFrameSource(video(130, 30), 'b')],
  options: { trace: true },
});
/** The real 0-based frame that virtual index `v` (0-based, of 48) stands for in a video of `n` frames. */
const realOf = (v: number, n: number): number => Math.round((v * (n - 1)) / 47);
/** The value of 1-based index g (1..96) of the pair above. */
const valueOf = (g: number): number => (g <= 48 ? 4 * realOf(g - 1, 24) : 130 + 4 * realOf(g - 49, 30));

/** Small JPEG frames (one 28×28 patch) keep the requests light. */
const SMALL: Partial<VlmOptions> = { initialMinPixels: 784, initialMaxPixels: 784, selectedMinPixels: 784, selectedMaxPixels: 784 };

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-vlm-released-'));
let server: ScriptedChatServer | null = null;
let engine: JudgeEngine | null = null;
afterEach(async () => {
  await engine?.close();
  await server?.close();
  engine = null;
  server = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(replies: readonly string[], vlm: Partial<VlmOptions> = {}): Promise<{ s: ScriptedChatServer; e: JudgeEngine }> {
  const s = await ScriptedChatServer.start((_body, n) => text(replies[Math.min(n, replies.length - 1)] ?? ''));
  server = s;
  const e = await createVlmJudge({ vlm: { baseUrl: s.baseUrl, model: 'vr-thinker', ...SMALL, ...vlm }, env: {} });
  engine = e;
  return { s, e };
}

const near = (a: number, b: number): boolean => Math.abs(a - b) <= 3;
const values = (m: BodyMessage): number[] => sentImages({ model: '', messages: [m] }).map((i) => decodeImageUrl(i.url).red);
const userTurns = (b: ChatBody | undefined): BodyMessage[] => (b?.messages ?? []).filter((m) => m.role === 'user');

const CALL = (frames: readonly number[]): string =>
  `<synthesis>Video 2 may turn blue late.</synthesis><think>I should check the second half.</think><recommend answer>TA = 2, MQ = 0, VQ = 0, OA = 2, CF = 2</recommend answer>\n<tool_call>\n{"name": "select_frames", "arguments": {"target_frames": ${JSON.stringify(frames)}}}\n</tool_call>`;

describe('VLM backend, released profile: what it sends', () => {
  it('sends the released layout: the tool over 1–96 in the system prompt, one 8-frame video then the task text, repetition_penalty 1', async () => {
    const { s, e } = await start(['<Snapshot>s</Snapshot><Think>t</Think><Answer>TA=1, VQ=1, MQ=0, OA=1</Answer>']);
    await e.judge(pair(), {});
    const body = s.bodies[0];
    expect(body).toMatchObject({ model: 'vr-thinker', temperature: 0, max_tokens: 2048, repetition_penalty: 1 });
    expect(body?.tools).toBeUndefined();
    const system = messageText(body?.messages[0] ?? { role: '', content: '' });
    expect(system.startsWith('You are a helpful assistant.\n\n# Tools')).toBe(true);
    expect(system).toContain('"name": "select_frames"'.replace(': ', ':'));
    expect(system).toContain('Frame index from 1 to 96.');
    expect(system).toContain('no more than 8 frames in total');
    const [first] = userTurns(body);
    const parts = typeof first?.content === 'string' ? [] : (first?.content ?? []);
    // One video part first (vLLM's JPEG frame list), then the text; no separate images.
    expect(parts.map((p) => p.type)).toEqual(['video_url', 'text']);
    const frames = sentImages({ model: '', messages: first === undefined ? [] : [first] });
    expect(frames.every((f) => f.inVideo)).toBe(true);
    // The released code's initial frames: every 12th of the 96, i.e. 1, 13, 25, 37 | 49, 61, 73, 85.
    const initial = [1, 13, 25, 37, 49, 61, 73, 85];
    expect(frames.map((f) => decodeImageUrl(f.url).red).every((v, i) => near(v, valueOf(initial[i] ?? 0)))).toBe(true);
    const task = messageText(first ?? { role: '', content: '' });
    expect(task).toContain('Video 1: the first 4 input frames.\nVideo 2: the next 4 input frames.');
    expect(task).toContain(`The prompt is: ${PROMPT}`);
    expect(task).toContain('sampled evenly from 96 frames: frames 1-48 belong to Video 1 and frames 49-96 to Video 2');
    expect(task).toContain('at most 8 frame numbers per call');
    for (const dim of ['Text Alignment (TA)', 'Visual Quality (VQ)', 'Motion Quality (MQ)']) expect(task).toContain(dim);
    // None of the project layout's wording or labels.
    expect(task).not.toMatch(/Frame \d+:|Caption:/);
  });

  it('maps the 96-frame index space onto the real frames: 49–96 reach video 2, selected frames come back as bare images', async () => {
    const { s, e } = await start([CALL([12, 60, 96]), '<final answer>TA = 0, MQ = 2, VQ = 2, OA = 2</final answer>']);
    const v = await e.judge(pair(), {});
    const tool = userTurns(s.bodies[1])[1];
    const parts = typeof tool?.content === 'string' ? [] : (tool?.content ?? []);
    expect(parts.map((p) => p.type)).toEqual(['text', 'image_url', 'image_url', 'image_url']);
    expect(messageText(tool ?? { role: '', content: '' })).toBe('\nAfter selecting frames: Here are the selected frames');
    const got = tool === undefined ? [] : values(tool);
    expect(got.every((x, i) => near(x, valueOf([12, 60, 96][i] ?? 0)))).toBe(true);
    // framesViewed is in real frames of each video: frame 60 is video 2's real frame 7 of 30, 96 its last.
    expect(v.framesViewed[0]).toEqual([0, 5, 6, 12, 18]); // initial 1, 13, 25, 37 and selected 12, of 24 real frames
    expect([0, 12, 24, 36, 11].map((x) => realOf(x, 24)).sort((a, b) => a - b)).toEqual([0, 5, 6, 12, 18]);
    expect(v.framesViewed[1]).toEqual([...new Set([0, 12, 24, 36, 11, 47].map((x) => realOf(x, 30)))].sort((a, b) => a - b));
    expect(v.answer).toEqual({ TA: 0, MQ: 2, VQ: 2, OA: 2 });
    expect(v.hallucinations).toEqual([]);
  });

  it('answers out-of-range selections in 1–96 and drops only the images of older tool results (window 1), never the initial video', async () => {
    const { s, e } = await start([CALL([97]), CALL([50, 51]), CALL([90]), '<Answer>TA=2, VQ=2, MQ=2, OA=2</Answer>']);
    const v = await e.judge(pair(), {});
    const last = s.bodies[3];
    const turns = userTurns(last);
    expect(messageText(turns[1] ?? { role: '', content: '' })).toBe(
      'After selecting frames:\nError: frame index 97 is out of range; the valid range is [1,96].',
    );
    // The first selection's images are gone, its text stays; the newest keeps its image; the initial video stays.
    expect(turns[2]?.content).toBe('\nAfter selecting frames: Here are the selected frames');
    expect(typeof turns[3]?.content === 'string' ? [] : turns[3]?.content.map((p) => p.type)).toEqual(['text', 'image_url']);
    expect(typeof turns[0]?.content === 'string' ? [] : turns[0]?.content.map((p) => p.type)).toEqual(['video_url', 'text']);
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['invalid_selection']);
  });

  it.each([
    [
      'a bare \\boxed{n} ending the response',
      '<synthesis>Video 2 turns blue on time.</synthesis><think>Video 2 follows the prompt.</think>\n\\boxed{2}',
      { OA: 2 },
    ],
    ['the paper <Answer> without CF', '<Snapshot>s</Snapshot><Think>t</Think><Answer>TA=1, VQ=1, MQ=0, OA=1</Answer>', { TA: 1, VQ: 1, MQ: 0, OA: 1 }],
    [
      '<final answer> with per-dimension values',
      '<synthesis>s</synthesis><think>t</think><final answer>\nTA = 0, MQ = 2, VQ = 2, OA = 2\n</final answer>',
      { TA: 0, MQ: 2, VQ: 2, OA: 2 },
    ],
    [
      '<answer> with CF and a spaced closing tag',
      '<snapshot>s</snapshot><think>t</think><answer> TA = 2, MQ = 0, VQ = 2, OA = 2, CF = 2 </ answer>',
      { TA: 2, MQ: 0, VQ: 2, OA: 2, CF: 2 },
    ],
    ['<final answer> then \\boxed{n}', '<final answer>TA = 1, VQ = 0</final answer> \\boxed{1}<|im_end|>', { TA: 1, VQ: 0, OA: 1 }],
  ])('a replayed final answer in the form %s gives a verdict with exactly what the model said', async (_form, reply, expected) => {
    const { e } = await start([reply]);
    const v = await e.judge(pair(), {});
    expect(v.answer).toEqual(expected);
    expect(v.formatErrors).toBe(0);
    // Scores only for the dimensions given.
    expect(Object.keys(v.scores[0] ?? {}).sort()).toEqual(['overall', ...['TA', 'MQ', 'VQ'].filter((d) => d in expected)].sort());
  });
});

describe('VLM backend, released profile: the prompt template', () => {
  it('renders a user template file with the documented placeholders, and refuses an unknown placeholder at start-up', async () => {
    const file = join(dir, 'mine.txt');
    writeFileSync(
      file,
      'Judge {{prompt}} over {{total_frames}} frames ({{frames_per_video}} each, video 2 from {{video2_first}}); {{initial_frames}} shown, {{initial_per_video}} each; {{max_frames_per_call}} per call, {{max_tool_calls}} calls.',
    );
    const { s, e } = await start(['\\boxed{1}'], { promptTemplate: file });
    await e.judge(pair(), {});
    expect(messageText(userTurns(s.bodies[0])[0] ?? { role: '', content: '' })).toBe(
      `Judge ${PROMPT} over 96 frames (48 each, video 2 from 49); 8 shown, 4 each; 8 per call, 3 calls.`,
    );
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'Judge {{prompt}} with {{frame_rate}}');
    let caught: unknown;
    try {
      await createVlmJudge({ vlm: { baseUrl: s.baseUrl, model: 'm', promptTemplate: bad }, env: {} });
    } catch (error) {
      caught = error;
    }
    expect(isVrGrpoError(caught, 'CONFIG_INVALID')).toBe(true);
  });

  it('keeps the project layout available as a profile, and refuses toolMode tools for the released one (its chat template drops them)', async () => {
    const { s, e } = await start(['<answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>'], { profile: 'project' });
    await e.judge(pair(), {});
    const first = userTurns(s.bodies[0])[0];
    expect(messageText(first ?? { role: '', content: '' })).toMatch(/Caption: .*Video 1 is frames 1-24, video 2 is frames 25-54\./s);
    let caught: unknown;
    try {
      await createVlmJudge({ vlm: { baseUrl: s.baseUrl, model: 'm', toolMode: 'tools' }, env: {} });
    } catch (error) {
      caught = error;
    }
    expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});
