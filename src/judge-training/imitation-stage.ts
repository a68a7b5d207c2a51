/**
 * The part cold start and rejection-sampling fine-tuning share: keep the traces that pass the imitation filter,
 * fit a policy to their turns by maximum likelihood, and measure it on the validation pairs.
 */
import type { AnswerMode, RecordedStep } from '../judge/backends/learned/index.js';
import type { PolicyNet } from './policy-net.js';
import type { TrainingData } from './data.js';
import { keepForImitation } from './filters.js';
import { fitImitation, type ImitationOptions, type ImitationResult } from './imitation.js';
import type { JudgeMetrics } from './metrics.js';
import type { RftOptions } from './options.js';
import type { Trace } from './trace.js';
import { measurePolicy } from './validation.js';

export interface KeptTurns {
  readonly kept: readonly Trace[];
  readonly steps: readonly RecordedStep[];
  /** How many of the kept turns are tool calls. */
  readonly selectTurns: number;
}

/** The traces that pass the imitation filter (well-formed, right on every decided dimension) and their turns. */
export function keptTurns(traces: readonly Trace[], mode: AnswerMode): KeptTurns {
  const kept = traces.filter((t) => keepForImitation(t, mode));
  const steps = kept.flatMap((t) => t.steps);
  return { kept, steps, selectTurns: steps.filter((s) => s.action.kind === 'select').length };
}

/**
 * Fits `net` to `steps`, logs the loss under `label`, and measures the result greedily on the validation pairs. The
 * network is disposed when either fails (on success it belongs to the caller).
 */
export async function fitAndValidate(
  net: PolicyNet,
  steps: readonly RecordedStep[],
  fit: ImitationOptions,
  data: TrainingData,
  o: Pick<RftOptions, 'answerMode' | 'maxToolCalls'>,
  label: string,
  log: (line: string) => void,
): Promise<{ fit: ImitationResult; validation: JudgeMetrics }> {
  try {
    const result = fitImitation(net, steps, fit);
    log(`${label} ${result.seconds.toFixed(1)} s, loss ${result.lossCurve[0]?.loss ?? NaN} → ${result.lossCurve.at(-1)?.loss ?? NaN}`);
    const validation = await measurePolicy(net, data.cache, data.validation, o.answerMode, o.maxToolCalls, data.layout ?? 'v1');
    return { fit: result, validation };
  } catch (e) {
    net.dispose();
    throw e;
  }
}
