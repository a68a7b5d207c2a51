/** GRPO maths: advantages, per-prompt statistics, pairwise comparisons → rewards, reward combination. Pure functions. */
export * from './advantages.js';
export * from './stat-tracker.js';
export * from './pairwise.js';
export * from './reward-combination.js';
export * from './calibration.js';
export * from './uncertainty.js';
export * from './held-out-rewards.js';
