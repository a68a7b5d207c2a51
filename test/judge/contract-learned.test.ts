/**
 * The JudgeService contract suite against the learned judge (the shipped default checkpoint
 * models/judge-v2/grpo-no-cot-gain: rm-v3 perception + a trained ONNX policy), the embedded judge on rm-v3 (the
 * perception the default config serves), and the reward server's checkpoint manager serving the learned judge (the
 * JudgeService a reward server actually calls).
 */
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { createEmbeddedJudge } from '../../src/judge/backends/embedded/index.js';
import { createLearnedJudge } from '../../src/judge/backends/learned/index.js';
import { CheckpointManager } from '../../src/reward-server/checkpoint-manager.js';
import { embeddedServiceFactory } from '../../src/reward-server/embedded-checkpoint.js';
import { runJudgeServiceContract } from './contract.js';

const LEARNED = join(PROJECT_ROOT, 'models', 'judge-v2', 'grpo-no-cot-gain');
const RM_V3 = join(PROJECT_ROOT, 'models', 'rm-v3');

runJudgeServiceContract('learned (judge-v2/grpo-no-cot-gain)', () => createLearnedJudge({ modelDir: LEARNED }));

runJudgeServiceContract('embedded (rm-v3)', () => createEmbeddedJudge({ modelDir: RM_V3 }));

runJudgeServiceContract('checkpoint manager serving the learned judge', () =>
  CheckpointManager.create({ factory: embeddedServiceFactory(), initial: { kind: 'path', path: LEARNED }, log: silentLogger(), validateInitial: false }),
);
