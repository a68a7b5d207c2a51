/**
 * Options of the three training stages, compiled once from the config's `judgeTraining` section and command-line
 * overrides, then frozen.
 */
import type { Config } from '../config/index.js';
import type { AnswerMode } from '../judge/backends/learned/index.js';
import type { ExplorationOptions, RewardWeights } from './rewards.js';

interface Common {
  readonly seed: number;
  readonly answerMode: AnswerMode;
  /** Tool calls the policy may make per judgment (also the engine's budget). */
  readonly maxToolCalls: number;
}

export interface ColdStartOptions extends Common {
  readonly hidden: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export interface RftOptions extends Common {
  readonly samplesPerPair: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export interface GrpoOptions extends Common {
  readonly iterations: number;
  readonly pairsPerIteration: number;
  readonly groupSize: number;
  readonly learningRate: number;
  readonly clipRange: number;
  readonly innerEpochs: number;
  readonly maxGradNorm: number;
  readonly evalEvery: number;
  readonly weights: RewardWeights;
  readonly exploration: ExplorationOptions;
}

export interface StageOptions {
  readonly coldStart: ColdStartOptions;
  readonly rft: RftOptions;
  readonly grpo: GrpoOptions;
}

export interface StageOverrides {
  readonly seed?: number;
  readonly answerMode?: AnswerMode;
  readonly grpo?: Partial<Omit<GrpoOptions, 'weights' | 'exploration'>> & {
    readonly weights?: Partial<RewardWeights>;
    readonly exploration?: Partial<ExplorationOptions>;
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function compileStageOptions(config: Config, overrides: StageOverrides = {}): StageOptions {
  const jt = config.judgeTraining;
  const common: Common = { seed: overrides.seed ?? jt.seed, answerMode: overrides.answerMode ?? jt.answerMode, maxToolCalls: jt.maxToolCalls };
  const g = overrides.grpo ?? {};
  return deepFreeze({
    coldStart: { ...common, hidden: [...jt.hidden], ...jt.coldStart },
    rft: { ...common, ...jt.rft },
    grpo: {
      ...common,
      ...jt.grpo,
      ...g,
      weights: { ...jt.grpo.weights, ...g.weights },
      exploration: { ...jt.grpo.exploration, ...g.exploration },
    },
  });
}
