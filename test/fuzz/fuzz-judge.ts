/**
 * A cheap JudgeService for the protocol fuzz: the transport and validation are under test, not the judge. It reads one
 * frame of each inline video (file videos are never decoded, so no ffmpeg runs), answers a verdict, and waits a little
 * first when the prompt starts with `slow:` (so DUPLICATE_ID and OVERLOADED are deterministic).
 */
import { VrGrpoError } from '../../src/errors/index.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';

/** How long a `slow:` judgment takes, in milliseconds. */
export const SLOW_JUDGMENT_MS = 40;

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new VrGrpoError('JUDGE_FAILED', 'aborted', { details: { reason: 'aborted' } }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class FuzzJudge implements JudgeService {
  readonly backendName = 'fuzz';
  /** Judgments started. */
  calls = 0;

  rmVersion(): string {
    return 'fuzz-rm-1';
  }

  async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    this.calls += 1;
    if (request.prompt.startsWith('slow:')) await wait(SLOW_JUDGMENT_MS, hooks.signal);
    const framesViewed: number[][] = [];
    for (const video of request.videos) {
      if (!video.label.startsWith('inline:')) {
        framesViewed.push([]);
        continue;
      }
      const count = await video.frameCount();
      await video.frames([count - 1]);
      framesViewed.push([count - 1]);
    }
    const half = { TA: 0.5, MQ: 0.5, VQ: 0.5, overall: 0.5 };
    hooks.onTurn?.({ index: 0, role: 'assistant', framesShown: [1], text: '<answer> TA = 0, MQ = 0, VQ = 0, OA = 0, CF = 3 </answer>' });
    return {
      rmVersion: this.rmVersion(),
      mode: request.mode,
      answer: request.mode === 'pairwise' ? { TA: 0, MQ: 0, VQ: 0, OA: 0, CF: 3 } : null,
      scores: request.videos.map(() => half),
      framesViewed,
      toolCalls: 0,
      hallucinations: [],
      formatErrors: 0,
      forced: false,
      timing: { totalMs: 0, decodeMs: 0, backendMs: 0 },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
