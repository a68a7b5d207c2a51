/**
 * Recording real conversations and playing them back: a judgment through the VLM backend with a recording folder
 * writes each request and response (frames as image files, texts as JSON); a replay server built from that folder
 * answers a fresh backend with the recorded turns, and the verdict comes out the same. This is how transcripts of the
 * real VR-Thinker, recorded on a GPU host, become test fixtures here.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createVlmJudge } from '../../src/judge/backends/vlm/index.js';
import { RawFrameSource } from '../../src/judge/frame-source.js';
import type { JudgmentRequest } from '../../src/judge/judge-service.js';
import type { RawVideo } from '../../src/media/index.js';
import { readRecording, startReplayServer } from './replay-chat-server.js';
import { ScriptedChatServer, decodeImageUrl, text } from './scripted-chat-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function video(base: number): RawVideo {
  const size = 16 * 16 * 3;
  const data = new Uint8Array(24 * size);
  for (let f = 0; f < 24; f++) data.fill(base + 4 * f, f * size, (f + 1) * size);
  return { width: 16, height: 16, frameCount: 24, fps: 8, data };
}
const pair = (): JudgmentRequest => ({
  id: 'rec-1',
  prompt: 'a red circle moving left',
  mode: 'pairwise',
  videos: [new RawFrameSource(video(0), 'a'), new RawFrameSource(video(120), 'b')],
  options: { trace: true },
});
const SMALL = { initialMinPixels: 784, initialMaxPixels: 784, selectedMinPixels: 784, selectedMaxPixels: 784 } as const;

const TURNS = [
  '<synthesis>Video 2 is brighter throughout.</synthesis><think>I should check the end of video 2.</think><recommend answer>TA = 2, MQ = 0, VQ = 2, OA = 2, CF = 2</recommend answer>\n<tool_call>\n{"name": "select_frames", "arguments": {"target_frames": [40, 90]}}\n</tool_call>',
  '<synthesis>The selected frames confirm it.</synthesis><think>Video 2 wins.</think>\n\\boxed{2}',
];

describe('recording VLM conversations and replaying them', () => {
  it('records every turn with its frames as files, and a replay of the recording gives the same verdict', async () => {
    const live = await ScriptedChatServer.start((_b, n) => text(TURNS[Math.min(n, TURNS.length - 1)] ?? '', { prompt_tokens: 3000, completion_tokens: 80 }));
    const recordDir = join(dir, 'rec');
    let recorded;
    try {
      const engine = await createVlmJudge({ vlm: { baseUrl: live.baseUrl, model: 'vr-thinker', ...SMALL }, env: {}, recordDir });
      try {
        recorded = await engine.judge(pair(), {});
      } finally {
        await engine.close();
      }
    } finally {
      await live.close();
    }
    expect(recorded.answer).toEqual({ OA: 2 });
    const turns = readRecording(recordDir);
    expect(turns.map((t) => [t.format, t.turn])).toEqual([
      ['vr-grpo-transcript/1', 0],
      ['vr-grpo-transcript/1', 1],
    ]);
    expect(turns[0]?.request.settings).toMatchObject({ temperature: 0, max_tokens: 2048, repetition_penalty: 1 });
    expect(turns[1]?.response.choices[0]?.message.content).toBe(TURNS[1]);
    // Frames are files: the 8 initial frames of the video part and the 2 selected ones, each written once.
    const first = turns[1]?.request.messages.find((m) => m.role === 'user');
    const video = typeof first?.content === 'string' ? undefined : first?.content.find((p) => p.type === 'video');
    expect(video?.type === 'video' ? video.frames.length : 0).toBe(8);
    const files = readdirSync(join(recordDir, 'frames'));
    expect(files.length).toBe(10);
    for (const f of files) {
      expect(existsSync(join(recordDir, 'frames', f))).toBe(true);
      expect(decodeImageUrl(`data:image/jpeg;base64,${Buffer.from(readFileSync(join(recordDir, 'frames', f))).toString('base64')}`).width).toBe(28);
    }

    const replay = await startReplayServer(recordDir);
    try {
      const engine = await createVlmJudge({ vlm: { baseUrl: replay.baseUrl, model: 'vr-thinker', ...SMALL }, env: {} });
      try {
        const again = await engine.judge(pair(), {});
        expect(again.answer).toEqual(recorded.answer);
        expect(again.framesViewed).toEqual(recorded.framesViewed);
        expect(again.turns?.map((t) => t.text)).toEqual(recorded.turns?.map((t) => t.text));
      } finally {
        await engine.close();
      }
      // A request the recording does not hold is refused, not answered with something made up.
      const other = await createVlmJudge({ vlm: { baseUrl: replay.baseUrl, model: 'vr-thinker', ...SMALL, maxAttempts: 1 }, env: {} });
      try {
        await expect(other.judge({ ...pair(), prompt: 'another caption' }, {})).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
      } finally {
        await other.close();
      }
    } finally {
      await replay.close();
    }
  });
});
