/**
 * The judge service a command runs in-process, from the config: the VLM backend when `judge.backend` is vlm (the
 * model is `judge.vlm.model`; optionally recording every request), else the embedded judge on a judge
 * checkpoint (a perception or a learned-judge folder), checked as a reward server checks it.
 */
import { resolve } from 'node:path';
import { createVlmJudge, vlmOptionsFromConfig } from '../judge/backends/vlm/index.js';
import type { JudgeService } from '../judge/judge-service.js';
import { embeddedServiceFactory } from '../reward-server/index.js';
import { UsageError, type CommandContext } from './context.js';

export interface InProcessJudgeFlags {
  /** `--checkpoint`: an embedded checkpoint folder (default: judge.checkpoint); refused with the VLM backend. */
  readonly checkpoint?: string;
  /** `--record`: a folder for the VLM backend's transcripts; refused with the embedded backend. */
  readonly record?: string;
}

export async function configuredJudgeService(ctx: CommandContext, flags: InProcessJudgeFlags): Promise<JudgeService> {
  const judge = ctx.config.judge;
  if (judge.backend === 'vlm') {
    if (flags.checkpoint !== undefined) throw new UsageError('--checkpoint: not used with judge.backend vlm (the model is judge.vlm.model)');
    return createVlmJudge({ vlm: vlmOptionsFromConfig(judge.vlm), judge, ...(flags.record === undefined ? {} : { recordDir: resolve(flags.record) }) });
  }
  if (flags.record !== undefined) throw new UsageError('--record: records the VLM backend; the config says judge.backend: embedded');
  const path = flags.checkpoint === undefined ? judge.checkpoint : resolve(flags.checkpoint);
  // World v2's videos carry evidence local in time: the embedded judge then reasons about time (timeline, planner).
  return embeddedServiceFactory({ judge, reasoner: { temporal: ctx.config.world.version === 2 } })(
    { kind: 'path', path },
    { signal: new AbortController().signal },
  );
}
