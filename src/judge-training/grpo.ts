/**
 * Stage 3, GRPO: each iteration samples `pairsPerIteration` training pairs and a group of `groupSize` traces per pair
 * from the current policy (through the judge engine), scores every trace with the rule-based rewards (format,
 * accuracy, CoT gain, exploration incentive; rewards.ts), turns them into group-relative advantages with the project's
 * GRPO maths (src/grpo), and applies the clipped-ratio update to every turn of every trace.
 */
import { Rng, deriveSeed } from '../common/rng.js';
import { groupAdvantages, mean } from '../grpo/index.js';
import type { PolicyNet } from './policy-net.js';
import type { TrainingData } from './data.js';
import { GrpoUpdater, type GrpoUpdateStats } from './grpo-update.js';
import type { JudgeMetrics } from './metrics.js';
import type { GrpoOptions } from './options.js';
import type { PerceivedPair } from './perceived-pairs.js';
import { explorationBonus, traceRewards } from './rewards.js';
import { clonePolicy } from './rft.js';
import { policyTraces } from './rollouts.js';
import type { StageResult } from './stage-result.js';
import { explored } from './trace.js';
import { jsPolicyOf, measurePolicy } from './validation.js';

export interface GrpoIteration {
  readonly iteration: number;
  readonly reward: number;
  readonly format: number;
  readonly accuracy: number;
  readonly cotGain: number;
  readonly exploredShare: number;
  readonly explorationActive: boolean;
  readonly zeroStdGroups: number;
  readonly meanFramesViewed: number;
  readonly update: GrpoUpdateStats;
  readonly seconds: number;
}

const r4 = (x: number): number => Math.round(x * 10000) / 10000;

export async function runGrpo(data: TrainingData, parent: PolicyNet, o: GrpoOptions, log: (line: string) => void = () => undefined): Promise<StageResult> {
  const t0 = performance.now();
  const rng = Rng.fromSeed(deriveSeed(o.seed, 31));
  const net = clonePolicy(parent);
  const updater = new GrpoUpdater(net, { learningRate: o.learningRate, clipRange: o.clipRange, innerEpochs: o.innerEpochs, maxGradNorm: o.maxGradNorm });
  const iterations: GrpoIteration[] = [];
  const curve: { iteration: number; validation: JudgeMetrics }[] = [];
  let order: PerceivedPair[] = [];
  try {
    for (let it = 1; it <= o.iterations; it++) {
      const ti = performance.now();
      if (order.length < o.pairsPerIteration) order = [...order, ...rng.shuffle([...data.train])];
      const pairs = order.splice(0, o.pairsPerIteration);
      const traces = await policyTraces(jsPolicyOf(net), data.cache, pairs, {
        answerMode: o.answerMode,
        layout: data.layout ?? 'v1',
        decoding: { kind: 'sample', rng },
        samplesPerPair: o.groupSize,
        maxOwnToolCalls: o.maxToolCalls,
        judge: { maxToolCalls: o.maxToolCalls },
      });
      const parts = traces.map((t) => traceRewards(t, o.weights, o.answerMode));
      const bonus = explorationBonus(traces, o.exploration);
      const totals = parts.map((p, i) => p.total + (bonus.bonuses[i] ?? 0));
      const groups = pairs.map((_, g) => totals.slice(g * o.groupSize, (g + 1) * o.groupSize));
      const adv = groupAdvantages(groups, { std: 'group' });
      const steps = traces.flatMap((t) => t.steps);
      const stepAdvantages = traces.flatMap((t, i) => {
        const a = adv.advantages[Math.floor(i / o.groupSize)]?.[i % o.groupSize] ?? null;
        return t.steps.map(() => a ?? Number.NaN);
      });
      const update = updater.update(steps, stepAdvantages);
      const record: GrpoIteration = {
        iteration: it,
        reward: r4(mean(totals)),
        format: r4(mean(parts.map((p) => p.format))),
        accuracy: r4(mean(parts.map((p) => p.accuracy))),
        cotGain: r4(mean(parts.map((p) => p.cotGain))),
        exploredShare: r4(traces.filter(explored).length / Math.max(1, traces.length)),
        explorationActive: bonus.active,
        zeroStdGroups: adv.zeroStdGroups,
        meanFramesViewed: r4(mean(traces.map((t) => t.framesViewed))),
        update,
        seconds: (performance.now() - ti) / 1000,
      };
      iterations.push(record);
      if (it % 5 === 0 || it === 1) {
        log(
          `grpo ${it}/${o.iterations}: reward ${record.reward} (acc ${record.accuracy}, cot ${record.cotGain}, format ${record.format}), explored ${record.exploredShare}${bonus.active ? ' (bonus on)' : ''}, frames ${record.meanFramesViewed}, ratio dev ${update.onPolicyMaxRatioDeviation.toExponential(1)}, ${record.seconds.toFixed(1)} s`,
        );
      }
      if (o.evalEvery > 0 && it % o.evalEvery === 0 && it < o.iterations) {
        const validation = await measurePolicy(net, data.cache, data.validation, o.answerMode, o.maxToolCalls, data.layout ?? 'v1');
        curve.push({ iteration: it, validation });
        log(`grpo ${it}: validation OA ${validation.pairwiseAccuracy}, dims ${validation.perDimensionMean}, frames ${validation.meanFramesViewed}`);
      }
    }
    const validation = await measurePolicy(net, data.cache, data.validation, o.answerMode, o.maxToolCalls, data.layout ?? 'v1');
    curve.push({ iteration: o.iterations, validation });
    const seconds = (performance.now() - t0) / 1000;
    return {
      net,
      training: { stage: 'grpo', options: o, trainPairs: data.train.length, seconds: Math.round(seconds * 10) / 10 },
      metrics: {
        iterations,
        validationCurve: curve,
        validation,
        onPolicyMaxRatioDeviation: Math.max(0, ...iterations.map((i) => i.update.onPolicyMaxRatioDeviation)),
        seconds: { total: seconds, perIteration: iterations.length === 0 ? 0 : mean(iterations.map((i) => i.seconds)) },
      },
      validation,
    };
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    updater.dispose();
  }
}
