/**
 * The coordinator's `JudgeClient` over a judge service in this process (no reward server, no socket): raw videos
 * become `RawFrameSource`s, judgments become pooled verdicts. For tests and benches that need the real embedded judge
 * without a child process.
 */
import type { JudgeClient } from './reward-collector.js';
import { RawFrameSource } from '../judge/frame-source.js';
import { framesOf } from '../media/index.js';
import type { JudgeService } from '../judge/judge-service.js';
import type { PoolJudgeRequest, PooledVerdict } from '../reward-client/pool.js';

export class InProcessJudge implements JudgeClient {
  private seq = 0;

  constructor(private readonly service: JudgeService) {}

  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const id = `ip${++this.seq}`;
    const videos = request.videos.map((v, i) => new RawFrameSource(framesOf(v, 'the in-process judge'), `${id}-v${i}`));
    const judgment = await this.service.judge({ id, prompt: request.prompt, mode: request.mode, videos, options: request.options ?? {} }, {});
    return { replica: 'in-process', attempts: 1, verdict: { type: 'verdict', id, ...judgment } };
  }
}
