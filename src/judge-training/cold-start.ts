/**
 * Stage 1, cold start: the rule-based embedded reasoner (thinking with images: its own uncertainty decides when and
 * which frames to look at, over the whole index space) judges every training pair; its traces that are well-formed and
 * right on every decided dimension are kept, their turns projected onto the policy's actions (frames → slots), and a
 * fresh policy imitates them.
 */
import { deriveSeed } from '../common/rng.js';
import { judgeLayout } from '../judge/backends/learned/index.js';
import { PolicyNet } from './policy-net.js';
import type { TrainingData } from './data.js';
import { fitAndValidate, keptTurns } from './imitation-stage.js';
import { summarise } from './metrics.js';
import type { ColdStartOptions } from './options.js';
import { teacherTraces } from './rollouts.js';
import type { StageResult } from './stage-result.js';

export async function runColdStart(data: TrainingData, o: ColdStartOptions, log: (line: string) => void = () => undefined): Promise<StageResult> {
  const t0 = performance.now();
  const teacher = await teacherTraces(data.cache, data.train, {
    answerMode: o.answerMode,
    layout: data.layout ?? 'v1',
    maxOwnToolCalls: o.maxToolCalls,
    judge: { maxToolCalls: o.maxToolCalls },
  });
  const { kept, steps, selectTurns } = keptTurns(teacher, o.answerMode);
  const rolloutSeconds = (performance.now() - t0) / 1000;
  log(`cold start: ${kept.length}/${teacher.length} teacher traces kept (${steps.length} turns) in ${rolloutSeconds.toFixed(1)} s`);
  const net = PolicyNet.create({ hidden: o.hidden, inputSize: judgeLayout(data.layout ?? 'v1').featureSize }, deriveSeed(o.seed, 11));
  const { fit, validation } = await fitAndValidate(
    net,
    steps,
    { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: deriveSeed(o.seed, 12) },
    data,
    o,
    'cold start: imitation',
    log,
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    net,
    training: { stage: 'cold-start', options: o, trainPairs: data.train.length, seconds: Math.round(seconds * 10) / 10 },
    metrics: {
      teacher: summarise(teacher, o.answerMode),
      kept: { traces: kept.length, of: teacher.length, turns: steps.length, selectTurns },
      imitation: fit,
      validation,
      seconds: { rollouts: rolloutSeconds, imitation: fit.seconds, total: seconds },
    },
    validation,
  };
}
