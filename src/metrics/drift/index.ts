/** Drift and reward-hacking detection: pure detectors and the monitor that combines them (no I/O, no prom-client). */
export { psi, quantileEdges } from './psi.js';
export { PageHinkley, type ChangeDirection, type PageHinkleyOptions, type PageHinkleyResult, type PageHinkleyState } from './page-hinkley.js';
export { kendallTau } from './kendall-tau.js';
export { linearTrend, MAX_T, type LinearTrend } from './linear-trend.js';
export { ProxyGoldDivergence, type ProxyGoldDivergenceOptions, type ProxyGoldDivergenceState, type ProxyGoldResult } from './proxy-gold-divergence.js';
export { RewardWindow, type ReferenceKind, type RewardWindowOptions, type RewardWindowState } from './reward-window.js';
export type { AnchorPass } from './anchor-pass.js';
export {
  DRIFT_DETECTOR_NAMES,
  DriftMonitor,
  anchorStandardError,
  compareAnchors,
  type AnchorComparison,
  type AnchorDriftReport,
  type DriftDetectorName,
  type DriftMonitorOptions,
  type DriftMonitorState,
  type DriftSource,
  type DriftStepReport,
  type DriftTrip,
  type GoldSignal,
  type PolicyRewardsMode,
  type StepObservation,
} from './drift-monitor.js';
export { parseDriftMonitorState } from './state.js';
