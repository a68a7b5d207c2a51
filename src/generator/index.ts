/** Generators: the contract, the embedded flow policy (tfjs), samplers with log-probs, checkpoints, pretraining. */
export * from './generator.js';
export * from './flow-policy.js';
export * from './text-features.js';
export * from './schedule.js';
export * from './sde.js';
export * from './sampler.js';
export * from './trajectory.js';
export * from './checkpoint.js';
export * from './embedded-generator.js';
export * from './gold-eval.js';
export * from './pretrain.js';
export * from './flow-grpo-trainer.js';
export * from './worker-state.js';
export * from './worker-generator.js';
export * from './thread/index.js';
