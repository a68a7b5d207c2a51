/**
 * A judge service of known cost for the transport and scaling benchmarks: it reads every frame of each inline video
 * (the server's frame path runs), then spends `costMs` — of this process's CPU time in a busy loop (`cpu`: a judge on
 * the same cores), or waiting (`sleep`: a judge on its own accelerator or host) — and answers a neutral verdict
 * (costMs 0 = a null backend). What is measured is the reward server around it, not a judge.
 */
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';

export class FixedCostJudge implements JudgeService {
  readonly backendName = 'fixed-cost';
  /** `sleep`: the judgment before this one (the accelerator serves one at a time). */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly costMs: number,
    private readonly kind: 'cpu' | 'sleep' = 'cpu',
  ) {}

  rmVersion(): string {
    return `fixed-${this.costMs}ms`;
  }

  async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    const framesViewed: number[][] = [];
    for (const video of request.videos) {
      const count = await video.frameCount();
      const all = Array.from({ length: count }, (_, i) => i);
      await video.frames(all);
      framesViewed.push(all.map((i) => i + 1));
    }
    let spin = 0;
    if (this.kind === 'sleep') {
      // One judgment at a time, like a model on one accelerator: queued behind the ones before it.
      const turn = this.queue.then(() => new Promise<void>((resolve) => setTimeout(resolve, this.costMs)));
      this.queue = turn;
      await turn;
    } else {
      // CPU time, not wall time: a replica that shares its core with others takes longer, as a real one would.
      const start = process.cpuUsage();
      for (;;) {
        const used = process.cpuUsage(start);
        if (used.user + used.system >= this.costMs * 1000) break;
        for (let i = 0; i < 20_000; i++) spin += i & 1;
      }
    }
    hooks.onTurn?.({ index: 0, role: 'assistant', framesShown: [1], text: `<answer> TA = 0, MQ = 0, VQ = 0, OA = 0, CF = ${spin >= 0 ? 3 : 1} </answer>` });
    const half = { TA: 0.5, MQ: 0.5, VQ: 0.5, overall: 0.5 };
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
      timing: { totalMs: this.costMs, decodeMs: 0, backendMs: this.costMs },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
