/** The embedded judge backend: ONNX perception + measured signals + the evidence-driven reasoner, in the judge engine. */
import { JudgeEngine, type ResolvedJudgeOptions } from '../../engine.js';
import { Perception, videoSignals, type PerceptionOptions } from './perception/index.js';
import type { PlantedHack } from './planted-hack.js';
import { EmbeddedReasoner, type EmbeddedReasonerOptions, type PerceptionPort } from './reasoner.js';

export { EmbeddedReasoner, type EmbeddedReasonerOptions, type PerceptionPort } from './reasoner.js';
export {
  applyPlantedHack,
  chroma,
  clipEnergyExcess,
  frameEnergy,
  hackedRmVersion,
  measuredSaturation,
  type PlantedHack,
  type PlantedHackKind,
} from './planted-hack.js';
export { videoEvidence, type VideoEvidence, type PerceivedFrame, type QualitySignals } from './evidence.js';

export interface EmbeddedJudgeOptions {
  /** Judge checkpoint folder (manifest.json + model.onnx), e.g. models/rm-v2. */
  readonly modelDir: string;
  /** Engine settings from the config's `judge` section (defaults for requests, re-asks, audits). */
  readonly judge?: Partial<ResolvedJudgeOptions> & {
    readonly maxFormatRetries?: number;
    readonly auditFraction?: number;
    /** TESTING AID: the config's `judge.plantedHack` (used when `reasoner.plantedHack` is not set). */
    readonly plantedHack?: PlantedHack | null;
  };
  readonly reasoner?: EmbeddedReasonerOptions;
  /** Images one conversation may be shown (the engine's `maxImages`); raise it to judge on all frames of long videos. */
  readonly maxImages?: number;
  /**
   * Perception analysis threads (PerceptionOptions.analysisThreads): default 0, inline; the reward server passes
   * `'auto'` so frame analysis does not hold its event loop.
   */
  readonly analysisThreads?: PerceptionOptions['analysisThreads'];
}

/** Loads the perception model and returns a ready judge engine (close it to release the ONNX session). */
export async function createEmbeddedJudge(options: EmbeddedJudgeOptions): Promise<JudgeEngine> {
  const perception = await Perception.create(options.modelDir, options.analysisThreads === undefined ? {} : { analysisThreads: options.analysisThreads });
  const port: PerceptionPort = {
    version: perception.version,
    perceive: (frames, width, height) => perception.perceive(frames, width, height),
    signals: (frames, width, height) => videoSignals(frames, width, height),
    close: () => perception.close(),
  };
  const j = options.judge ?? {};
  const plantedHack = options.reasoner?.plantedHack ?? j.plantedHack ?? null;
  return new JudgeEngine(new EmbeddedReasoner(port, { ...options.reasoner, plantedHack }), {
    ...(j.maxFormatRetries === undefined ? {} : { maxFormatRetries: j.maxFormatRetries }),
    ...(j.auditFraction === undefined ? {} : { auditFraction: j.auditFraction }),
    ...(options.maxImages === undefined ? {} : { maxImages: options.maxImages }),
    defaults: j,
  });
}
