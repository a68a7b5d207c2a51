/**
 * The judge engine's hallucination checks on VLM traces replayed by a real chat-completions server: citing frames
 * never shown, contradicting itself, and flipping with the order of the videos (a position-biased judge) — and not
 * firing for a judge that cites only what it saw and prefers the same video in both orders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVlmJudge } from '../../src/judge/backends/vlm/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import { ScriptedChatServer, decodeImageUrl, sentImages, text, toolRounds, type ChatScript } from './scripted-chat-server.js';
import { ANSWER, TOOL } from './scripted-reasoner.js';

/** 24 uniform 8×8 frames of brightness `level`. */
function video(level: number): RawVideo {
  return { width: 8, height: 8, frameCount: 24, fps: 8, data: new Uint8Array(24 * 8 * 8 * 3).fill(level) };
}

const pair = (options: JudgmentRequest['options'] = {}): JudgmentRequest => ({
  id: 'h1',
  prompt: 'a bright scene',
  mode: 'pairwise',
  videos: [new RawFrameSource(video(40), 'dark'), new RawFrameSource(video(200), 'bright')],
  options,
});

let server: ScriptedChatServer | null = null;
let engine: JudgeEngine | null = null;
afterEach(async () => {
  await engine?.close();
  await server?.close();
  engine = null;
  server = null;
});

async function setup(script: ChatScript): Promise<{ server: ScriptedChatServer; engine: JudgeEngine }> {
  server = await ScriptedChatServer.start(script);
  engine = await createVlmJudge({
    vlm: {
      baseUrl: server.baseUrl,
      model: 'm',
      profile: 'project',
      imageFormat: 'png',
      resizeFactor: 1,
      initialMinPixels: 64,
      initialMaxPixels: 64,
      selectedMinPixels: 64,
      selectedMaxPixels: 64,
    },
    env: {},
  });
  return { server, engine };
}

describe('VLM backend: hallucination checks on replayed traces', () => {
  it('flags frames cited but never shown (initial 1, 9, 16, 24, …; frame 30 shown only after it was selected)', async () => {
    const { engine: e } = await setup((body) =>
      toolRounds(body) === 0
        ? text(
            `<snapshot>Frame 9 is dark, frame 12 looks blurry.</snapshot><think>Check 30.</think>${TOOL([30]).replace(/^<snapshot>s<\/snapshot><think>need a closer look<\/think>/, '')}`,
          )
        : text(`<snapshot>Frame 30 is bright; frames 3-4 are dark.</snapshot><think>ok</think><answer> TA = 2, MQ = 2, VQ = 2, OA = 2, CF = 1 </answer>`),
    );
    const v = await e.judge(pair(), {});
    expect(v.hallucinations).toEqual([
      { kind: 'unseen_frame_reference', detail: 'cites frame(s) 12 never shown' },
      { kind: 'unseen_frame_reference', detail: 'cites frame(s) 3, 4 never shown' },
    ]);
  });

  it('flags an answer that contradicts itself (every dimension prefers video 2, overall says video 1)', async () => {
    const { engine: e } = await setup(() =>
      text(
        '<snapshot>Frame 25 is brighter.</snapshot><think>Video 2 is better on everything.</think><answer> TA = 2, MQ = 2, VQ = 2, OA = 1, CF = 1 </answer>',
      ),
    );
    const v = await e.judge(pair(), {});
    expect(v.hallucinations.map((h) => h.kind)).toEqual(['inconsistent_answer']);
    expect(v.answer?.OA).toBe(1);
  });

  it('flags a judge whose preference flips with the order of the videos; a judge that reads the frames does not flip', async () => {
    const { server: s, engine: e } = await setup(() => text(ANSWER('1')));
    const biased = await e.judge(pair({ bothOrders: true }), {});
    expect(s.requests).toHaveLength(2);
    expect(biased.hallucinations.map((h) => h.kind)).toEqual(['order_flip']);
    expect(biased.answer).toEqual({ TA: 0, MQ: 0, VQ: 0, OA: 0, CF: 3 });
    // A fair judge: decodes the first image of each video from the request and prefers the brighter video.
    s.setScript((body) => {
      const images = sentImages(body);
      const first = images.find((i) => i.frame === 1);
      const second = images.find((i) => i.frame === 25);
      if (first === undefined || second === undefined) return text('no frames?');
      return text(ANSWER(decodeImageUrl(first.url).red > decodeImageUrl(second.url).red ? '1' : '2'));
    });
    const fair = await e.judge(pair({ bothOrders: true }), {});
    expect(fair.hallucinations).toEqual([]);
    expect(fair.answer?.OA).toBe(2);
    expect(s.requests).toHaveLength(4);
  });

  it('reports none for a clean trace that cites only frames it was shown', async () => {
    const { engine: e } = await setup((body) =>
      toolRounds(body) === 0
        ? text(TOOL([2, 26], 'TA = 2, MQ = 2, VQ = 2, OA = 2, CF = 2'))
        : text('<snapshot>Frames 2 and 26: video 2 is brighter.</snapshot><think>ok</think><answer> TA = 2, MQ = 2, VQ = 2, OA = 2, CF = 1 </answer>'),
    );
    const v = await e.judge(pair(), {});
    expect(v.hallucinations).toEqual([]);
    expect(v.framesViewed).toEqual([
      [0, 1, 8, 15, 23],
      [0, 1, 8, 15, 23],
    ]);
  });
});
