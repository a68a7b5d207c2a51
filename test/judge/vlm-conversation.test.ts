/**
 * What the VLM backend sends to a real chat-completions server on loopback, request by request: the VR-Thinker
 * conversation shape, images (number, order, content, pixel budget), the memory window's placeholders, tool results
 * and tool errors, both answer formats end to end, structured tool calls, and the image and token budgets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { createVlmJudge, type VlmOptions } from '../../src/judge/backends/vlm/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import { ScriptedChatServer, decodeImageUrl, messageText, sentImages, text, toolRounds, type ChatBody, type ChatScript } from './scripted-chat-server.js';
import { ANSWER, TOOL } from './scripted-reasoner.js';

/** A video of `frames` 8×8 frames; frame i (0-based) is filled with base + i, so every image is identifiable. */
function video(base: number, frames = 24, width = 8, height = 8): RawVideo {
  const size = width * height * 3;
  const data = new Uint8Array(frames * size);
  for (let f = 0; f < frames; f++) data.fill(base + f, f * size, (f + 1) * size);
  return { width, height, frameCount: frames, fps: 8, data };
}

const PROMPT = 'a red circle moving left on a navy background';

function pair(options: JudgmentRequest['options'] = {}, a: RawVideo = video(0), b: RawVideo = video(100)): JudgmentRequest {
  return { id: 'r1', prompt: PROMPT, mode: 'pairwise', videos: [new RawFrameSource(a, 'a'), new RawFrameSource(b, 'b')], options };
}

/** Frame g of the pair above (1-based shared index space) has pixel value: video 1 → g − 1, video 2 → 100 + (g − 25). */
const valueOf = (g: number): number => (g <= 24 ? g - 1 : 100 + g - 25);
const INITIAL = [1, 9, 16, 24, 25, 33, 40, 48];

/** Small exact images (PNG, no resizing) keep these tests fast; the JPEG and resizing path has its own test. */
const FAST: Partial<VlmOptions> = {
  profile: 'project',
  imageFormat: 'png',
  resizeFactor: 1,
  initialMinPixels: 64,
  initialMaxPixels: 64,
  selectedMinPixels: 64,
  selectedMaxPixels: 64,
};

let server: ScriptedChatServer | null = null;
let engine: JudgeEngine | null = null;
afterEach(async () => {
  await engine?.close();
  await server?.close();
  engine = null;
  server = null;
});

async function setup(
  script: ChatScript,
  vlm: Partial<VlmOptions> = {},
  env: Record<string, string> = {},
): Promise<{ server: ScriptedChatServer; engine: JudgeEngine }> {
  server = await ScriptedChatServer.start(script);
  engine = await createVlmJudge({ vlm: { baseUrl: server.baseUrl, model: 'vr-thinker-7b', ...FAST, ...vlm }, env });
  return { server, engine };
}

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return isVrGrpoError(e) ? e.code : `OTHER: ${String(e)}`;
  }
}

const frames = (body: ChatBody | undefined): (number | null)[] => (body === undefined ? [] : sentImages(body).map((i) => i.frame));

describe('VLM backend: what it sends', () => {
  it('sends the VR-Thinker conversation: tool description, task + 8 initial frames in index order, assistant turns verbatim, the tool result as a user turn with its frames', async () => {
    const turn0 = TOOL([2, 30]);
    const { server: s, engine: e } = await setup(
      (_, n) => text(n === 0 ? turn0 : ANSWER('2')),
      { stop: ['<|im_end|>'], maxTokens: 777 },
      { VRGRPO_VLM_API_KEY: 'sk-test' },
    );
    const v = await e.judge(pair({ trace: true }), {});
    expect(v.answer).toEqual({ TA: 2, MQ: 2, VQ: 2, OA: 2, CF: 1 });
    expect(v.rmVersion).toBe('vlm:vr-thinker-7b');
    expect(s.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/v1/chat/completions'],
      ['POST', '/v1/chat/completions'],
    ]);
    expect(s.requests[0]?.headers.authorization).toBe('Bearer sk-test');
    const [b0, b1] = s.bodies;
    expect(b0).toMatchObject({ model: 'vr-thinker-7b', temperature: 0, max_tokens: 777, stop: ['<|im_end|>'] });
    expect(b0?.tools).toBeUndefined();
    // Request 1: system (tool), user (task, caption, 8 frames in index order, each labelled).
    expect(b0?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    const system = messageText(b0?.messages[0] ?? { role: '', content: '' });
    expect(system).toContain('# Tools');
    expect(system).toContain('"name":"select_frames"');
    expect(system).toContain('no more than 8 frames');
    expect(system).toContain('Frame index from 1 to 48');
    const task = messageText(b0?.messages[1] ?? { role: '', content: '' });
    expect(task).toContain(`Caption: ${PROMPT}`);
    expect(task).toContain('Video 1 is frames 1-24, video 2 is frames 25-48.');
    expect(frames(b0)).toEqual(INITIAL);
    expect(sentImages(b0 as ChatBody).map((i) => decodeImageUrl(i.url).red)).toEqual(INITIAL.map(valueOf));
    // Request 2: the assistant turn verbatim, then the tool result as a user turn carrying frames 2 and 30.
    expect(b1?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(b1?.messages[2]?.content).toBe(turn0);
    const tool = b1?.messages[3];
    expect(messageText(tool ?? { role: '', content: '' })).toContain('After selecting frames:\nHere are the selected frames: 2, 30.');
    expect(frames(b1)).toEqual([...INITIAL, 2, 30]);
    expect(
      sentImages(b1 as ChatBody)
        .filter((i) => i.message === 3)
        .map((i) => decodeImageUrl(i.url).red),
    ).toEqual([valueOf(2), valueOf(30)]);
    expect(v.turns?.map((t) => t.role)).toEqual(['assistant', 'tool', 'assistant']);
  });

  it('applies the memory window: older tool results lose their images to a placeholder, the initial frames stay', async () => {
    const script: ChatScript = (body) => text(toolRounds(body) < 3 ? TOOL([toolRounds(body) + 2]) : ANSWER('1'));
    const { server: s, engine: e } = await setup(script);
    await e.judge(pair({ memoryWindow: 1 }), {});
    expect(s.bodies.map((b) => frames(b))).toEqual([INITIAL, [...INITIAL, 2], [...INITIAL, 3], [...INITIAL, 4]]);
    const last = s.bodies[3] as ChatBody;
    const toolTurns = last.messages.filter((m) => m.role === 'user' && messageText(m).startsWith('After selecting frames:')).map(messageText);
    expect(toolTurns).toHaveLength(3);
    expect(toolTurns[0]).toContain('Frame 2: < No Focus >');
    expect(toolTurns[1]).toContain('Frame 3: < No Focus >');
    expect(toolTurns[2]).not.toContain('No Focus');
    // With p = 2 the last two tool results keep their images.
    const before = s.bodies.length;
    const e2 = await createVlmJudge({ vlm: { baseUrl: s.baseUrl, model: 'm', ...FAST }, env: {} });
    await e2.judge(pair({ memoryWindow: 2 }), {});
    await e2.close();
    expect(frames(s.bodies[before + 3])).toEqual([...INITIAL, 3, 4]);
  });

  it('returns the tool error text as the tool turn for 9 frames and for out-of-range indices, with no images', async () => {
    const { server: s, engine: e } = await setup((_, n) => text(n === 0 ? TOOL([1, 2, 3, 4, 5, 6, 7, 8, 10]) : n === 1 ? TOOL([0, 49]) : ANSWER('1')));
    const v = await e.judge(pair(), {});
    const lastText = (b: ChatBody | undefined): string => messageText(b?.messages.at(-1) ?? { role: '', content: '' });
    expect(lastText(s.bodies[1])).toMatch(/^After selecting frames:\nError: you selected 9 frames, but at most 8 frames can be selected per call/);
    expect(lastText(s.bodies[2])).toMatch(/^After selecting frames:\nError: frame index 0, 49 is out of range; the valid range is \[1,48\]/);
    expect(s.bodies.map((b) => frames(b))).toEqual([INITIAL, INITIAL, INITIAL]);
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['invalid_selection', 'invalid_selection']);
    expect(v.toolCalls).toBe(2);
  });

  it('reads both VR-Thinker formats end to end, with tag casing, whitespace in tool calls and trailing <|im_end|>', async () => {
    const paper = [
      '<Snapshot>Frames 1 and 25 show both objects.</Snapshot><Think>Check motion.</Think><Recommend Answer> TA = 2, MQ = 1, VQ = 0, OA = 2, CF = 3 </Recommend Answer>\n<tool_call>\n   {"name": "select_frames",   "arguments": {"target_frames": [ 12 , 36 ]}}   \n</tool_call><|im_end|>',
      '<snapshot>Frames 12 and 36 agree.</snapshot><think>Video 2 wins.</think><Answer> TA = 2, MQ = 2, VQ = 1, OA = 2, CF = 1 </Answer><|im_end|>',
    ];
    const { server: s, engine: e } = await setup((_, n) => text(paper[Math.min(n, 1)] ?? ''));
    const v = await e.judge(pair({ trace: true }), {});
    expect(v.answer).toEqual({ TA: 2, MQ: 2, VQ: 1, OA: 2, CF: 1 });
    expect(frames(s.bodies[1])).toEqual([...INITIAL, 12, 36]);
    expect(v.formatErrors).toBe(0);
    const released = [
      '<synthesis>The frames show video 2 moving left.</synthesis><think>I need the middle frames.</think><recommend answer>\\boxed{2}</recommend answer><tool_call>{"name": "select_frames", "arguments": {"target_frames": [5, 29]}}</tool_call>',
      '<synthesis>Frames 5 and 29 confirm it.</synthesis><think>Video 2 is better.</think><final answer>Video 2 is better overall. \\boxed{2}</final answer>',
    ];
    s.setScript((_, n) => text(released[n - 2 < 1 ? 0 : 1] ?? ''));
    const e2 = await createVlmJudge({ vlm: { baseUrl: s.baseUrl, model: 'm', ...FAST }, env: {} });
    const w = await e2.judge(pair(), {});
    await e2.close();
    // \boxed{n} says the overall preference only: nothing else is reported (protocol v2).
    expect(w.answer).toEqual({ OA: 2 });
    expect(frames(s.bodies[3])).toEqual([...INITIAL, 5, 29]);
    expect(w.hallucinations).toEqual([]);
  });

  it('honours structured tool_calls of the response and, in tools mode, sends the OpenAI tools array', async () => {
    const { server: s, engine: e } = await setup(
      (_, n) =>
        n === 0
          ? {
              kind: 'tool_calls',
              content: '<snapshot>s</snapshot><think>look closer</think><recommend answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 2 </recommend answer>',
              calls: [{ name: 'select_frames', arguments: '{"target_frames": [3, 27]}' }],
            }
          : text(ANSWER('1')),
      { toolMode: 'tools' },
    );
    const v = await e.judge(pair(), {});
    expect(v.answer?.OA).toBe(1);
    expect(v.toolCalls).toBe(1);
    const [b0, b1] = s.bodies;
    expect(b0?.tool_choice).toBe('auto');
    const tools = (b0?.tools ?? []) as readonly { type?: string; function?: { name?: string; parameters?: { required?: string[] } } }[];
    expect(tools.map((t) => [t.type, t.function?.name, t.function?.parameters?.required])).toEqual([['function', 'select_frames', ['target_frames']]]);
    expect(messageText(b0?.messages[0] ?? { role: '', content: '' })).not.toContain('# Tools');
    // The structured call went back into the transcript as <tool_call> text, and the frames were fetched.
    expect(messageText(b1?.messages[2] ?? { role: '', content: '' })).toContain(
      '<tool_call>\n{"name":"select_frames","arguments":{"target_frames":[3,27]}}\n</tool_call>',
    );
    expect(frames(b1)).toEqual([...INITIAL, 3, 27]);
  });

  it('encodes JPEG frames resized into the pixel budgets, sides multiples of 28', async () => {
    const { server: s, engine: e } = await setup((_, n) => text(n === 0 ? TOOL([2]) : ANSWER('1')), {
      imageFormat: 'jpeg',
      resizeFactor: 28,
      initialMinPixels: 784,
      initialMaxPixels: 56 * 56,
      selectedMinPixels: 784,
      selectedMaxPixels: 112 * 112,
    });
    await e.judge(pair({ initialFrames: 2 }, video(0, 4, 128, 96), video(200, 4, 128, 96)), {});
    const images = sentImages(s.bodies[1] as ChatBody).map((i) => ({ frame: i.frame, ...decodeImageUrl(i.url) }));
    expect(images.map((i) => i.frame)).toEqual([2, 6, 2]);
    // 128×96 into ≤ 3136 px: scaled down to 56×28; into ≤ 12544 px: each side rounded to a multiple of 28 (140×84 fits).
    expect(images.map((i) => [i.format, i.width, i.height])).toEqual([
      ['jpeg', 56, 28],
      ['jpeg', 56, 28],
      ['jpeg', 140, 84],
    ]);
    // Uniform frames survive resizing and JPEG within a few levels: frame 2 (video 1, index 1) is 1, frame 6 (video 2, index 1) is 201.
    expect(Math.abs((images[0]?.red ?? -1) - 1)).toBeLessThanOrEqual(3);
    expect(Math.abs((images[1]?.red ?? -1) - 201)).toBeLessThanOrEqual(3);
  });
});

describe('VLM backend: budgets', () => {
  it('stops at the token budget with the last recommended answer, marked forced; without one it fails with FORMAT_ERROR', async () => {
    const { server: s, engine: e } = await setup(() =>
      text(TOOL([2], 'TA = 2, MQ = 1, VQ = 0, OA = 2, CF = 3'), { prompt_tokens: 12_000, completion_tokens: 200 }),
    );
    const v = await e.judge(pair(), {});
    expect(s.requests).toHaveLength(1);
    expect(v.forced).toBe(true);
    expect(v.answer).toEqual({ TA: 2, MQ: 1, VQ: 0, OA: 2, CF: 3 });
    s.setScript(() =>
      text('<tool_call>{"name": "select_frames", "arguments": {"target_frames": [2]}}</tool_call>', { prompt_tokens: 12_000, completion_tokens: 200 }),
    );
    expect(await codeOf(e.judge(pair(), {}))).toBe('FORMAT_ERROR');
    expect(s.requests).toHaveLength(2);
  });

  it('estimates tokens when the server reports no usage (text / 4 + one per 28×28 patch)', async () => {
    const { server: s, engine: e } = await setup(() => text(TOOL([2]), null), { tokenBudget: 100 });
    const v = await e.judge(pair(), {});
    expect(v.forced).toBe(true);
    expect(s.requests).toHaveLength(1);
  });

  it('stops at the image budget: forced with a recommendation, else the tool says no more frames and the judge answers', async () => {
    const { server: s, engine: e } = await setup((_, n) => text(n === 0 ? TOOL([2, 3, 4]) : ANSWER('1')), { maxImages: 10 });
    const v = await e.judge(pair(), {});
    expect(v.forced).toBe(true);
    expect(s.requests).toHaveLength(1);
    s.setScript((_, n) =>
      text(
        n === 1
          ? '<snapshot>s</snapshot><think>t</think><tool_call>{"name": "select_frames", "arguments": {"target_frames": [2, 3, 4]}}</tool_call>'
          : ANSWER('2'),
      ),
    );
    const w = await e.judge(pair({ trace: true }), {});
    expect(w.forced).toBe(false);
    expect(w.answer?.OA).toBe(2);
    const last = s.bodies[2] as ChatBody;
    expect(messageText(last.messages.at(-1) ?? { role: '', content: '' })).toContain('No more frames can be shown: 8 of at most 10 images');
    expect(frames(last)).toEqual(INITIAL);
    expect(w.hallucinations).toEqual([]);
  });
});
