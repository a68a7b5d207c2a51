/** Auditor-side analyses of a run (pure, no I/O, no prom-client): the judge gap detector and the over-optimisation curve. */
export {
  AUDIT_DETECTOR_NAMES,
  AuditTracker,
  type AuditDetectorName,
  type AuditObservation,
  type AuditReading,
  type AuditReport,
  type AuditTrackerOptions,
  type AuditTrackerState,
  type AuditTrip,
  type GapLevel,
  type GapTrend,
} from './audit-tracker.js';
export {
  DEFAULT_OVEROPTIMISATION_OPTIONS,
  OveroptimisationCurve,
  gainAt,
  klToDistance,
  type OveroptimisationFit,
  type OveroptimisationOptions,
  type OveroptimisationState,
  type OveroptimisationSums,
} from './overoptimisation.js';
