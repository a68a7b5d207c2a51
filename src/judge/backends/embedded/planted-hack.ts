/**
 * A planted reward hack — a TESTING AID, off by default. With it, the embedded reasoner over-rewards one quality
 * defect that the gold evaluator penalises: the measured severity of that defect raises its TA, VQ and overall
 * estimates. GRPO against such a judge learns to produce the defect, so the proxy reward rises while gold quality (and
 * the gold overall score) falls — the situation the reward-hacking detector (src/metrics/drift) must catch.
 * Verdicts of a hacked judge carry the rm version `<version>+hack-<defect>` so a run can never mistake it for a clean one.
 */
import type { Defect } from '../../../world/index.js';
import type { QualitySignals, VideoEvidence } from './evidence.js';

export interface PlantedHack {
  /** The defect that is over-rewarded. */
  readonly defect: Defect;
  /** Added to TA, VQ and overall per unit of measured severity (severity clipped to [0, 1]); > 0. */
  readonly bonus: number;
}

/** The rm version a judge with this hack reports. */
export function hackedRmVersion(version: string, hack: PlantedHack | null): string {
  return hack === null ? version : `${version}+hack-${hack.defect}`;
}

/** The evidence with the hack applied (scores stay in [0, 1]); unchanged when `hack` is null. */
export function applyPlantedHack(e: VideoEvidence, quality: QualitySignals, hack: PlantedHack | null): VideoEvidence {
  if (hack === null) return e;
  const severity = Math.min(1, Math.max(0, quality[hack.defect]));
  const lift = (x: number): number => Math.min(1, Math.max(0, x + hack.bonus * severity));
  return { ...e, TA: lift(e.TA), VQ: lift(e.VQ), overall: lift(e.overall) };
}
