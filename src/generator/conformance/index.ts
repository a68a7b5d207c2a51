/** Public face of the generator-worker conformance harness (`vr-grpo check-generator`). */
export { CheckFailure, pass, fail, skip, type CheckContext, type CheckOutcome, type ConformanceCheck } from './check.js';
export { CONFORMANCE_CHECKS, ON_POLICY_MAX_DEVIATION, RATIO_MEAN_TOLERANCE } from './checks.js';
export { RawWorkerPeer } from './raw-peer.js';
export {
  runConformance,
  DEFAULT_CHECK_TIMEOUT_MS,
  DEFAULT_CONFORMANCE_PROMPTS,
  type CheckResult,
  type ConformanceOptions,
  type ConformanceReport,
} from './run-conformance.js';
