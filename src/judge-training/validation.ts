/** Measuring a policy (greedy, as served) on perceived gold pairs through the judge engine. */
import { JsPolicy, type AnswerMode, type LayoutName } from '../judge/backends/learned/index.js';
import type { PolicyNet } from './policy-net.js';
import type { PerceptionCache } from './cached-perception.js';
import { summarise, type JudgeMetrics } from './metrics.js';
import type { PerceivedPair } from './perceived-pairs.js';
import { policyTraces } from './rollouts.js';

/** The network's current weights as a plain-JS policy (what rollouts sample from). */
export function jsPolicyOf(net: PolicyNet): JsPolicy {
  return JsPolicy.fromSpec(net.toMlpSpec({ version: 'rollout' }));
}

export async function measurePolicy(
  net: PolicyNet,
  cache: PerceptionCache,
  pairs: readonly PerceivedPair[],
  answerMode: AnswerMode,
  maxToolCalls: number,
  layout: LayoutName = 'v1',
): Promise<JudgeMetrics> {
  const traces = await policyTraces(jsPolicyOf(net), cache, pairs, {
    answerMode,
    layout,
    decoding: { kind: 'greedy' },
    maxOwnToolCalls: maxToolCalls,
    judge: { maxToolCalls },
  });
  return summarise(traces, answerMode);
}
