/**
 * Training the learned judge in VR-Thinker's three stages — cold start (imitation of filtered teacher traces),
 * rejection-sampling fine-tuning, GRPO with rule-based rewards — on gold pairs of the synthetic world, with perception
 * cached once per video (docs/judge-training.md); the judge's perception model is trained in ./perception/
 * (docs/perception.md). The serving side of both lives in src/judge/backends/.
 */
export { runColdStart } from './cold-start.js';
export { runRft, clonePolicy } from './rft.js';
export { runGrpo, type GrpoIteration } from './grpo.js';
export { compileStageOptions, type StageOptions, type StageOverrides, type ColdStartOptions, type RftOptions, type GrpoOptions } from './options.js';
export { prepareTrainingData, perceptionRef, cacheDirOf, PairLoader, type TrainingData, type PerceptionRef, type PairSetSpec } from './data.js';
export { saveStageCheckpoint, loadStagePolicy, exportPolicy, METRICS_FILE, type StageCheckpoint } from './checkpoint.js';
export { PerceptionCache } from './cached-perception.js';
export { policyTraces, teacherTraces, engineTraces, type PolicyRolloutOptions, type TeacherRolloutOptions } from './rollouts.js';
export { summarise, type JudgeMetrics } from './metrics.js';
export { traceRewards, explorationBonus, answerAccuracy, cotGain, type RewardWeights, type ExplorationOptions, type RewardParts } from './rewards.js';
export { formatValid, allCorrect, keepForImitation } from './filters.js';
export { GrpoUpdater, type GrpoUpdateOptions, type GrpoUpdateStats } from './grpo-update.js';
export { fitImitation, type ImitationOptions } from './imitation.js';
export { GOLD_TIE, buildDataPairs, buildGoldPairs, type DataPairOptions, type GoldPair, type GoldPreferences } from './gold-pairs.js';
export { perceivePairs, type PerceivedPair } from './perceived-pairs.js';
export { measurePolicy, jsPolicyOf } from './validation.js';
export { explored, type Trace } from './trace.js';
export type { StageResult } from './stage-result.js';
export { runStage, type StageRunOptions, type StageRunSummary } from './stage-run.js';
