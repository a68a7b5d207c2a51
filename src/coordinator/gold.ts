/**
 * What a run knows about the truth besides its judge. The coordinator is handed a `GoldEvaluation` and never calls the
 * world itself: the synthetic world implements it (`worldGold`: it knows each scene's gold report, and can evaluate the
 * policy on held-out prompts); a run on real prompts has none (`NO_GOLD`).
 */
import type { Config } from '../config/index.js';
import { evaluatePolicyGold, samplerOptionsFrom, type FlowPolicy, type GeneratedVideo, type GoldSummary } from '../generator/index.js';
import { decodeLatent, evaluateScene, type GoldReport } from '../world/index.js';
import type { SampledPrompt } from './prompt-sampler.js';
import { streamSeed } from './seed-streams.js';

export interface GoldEvaluation {
  /** Gold report of one rolled-out video against its prompt; null when unknown. */
  videoReport(prompt: SampledPrompt, video: GeneratedVideo): GoldReport | null;
  /** Held-out evaluation of the policy as it is now; null when the run cannot evaluate one. */
  heldOut(): GoldSummary | null;
}

/** A run without gold: no video report, no held-out evaluation. */
export const NO_GOLD: GoldEvaluation = Object.freeze({ videoReport: () => null, heldOut: () => null });

/**
 * The synthetic world's gold: a video's report is its decoded scene against the prompt's spec (prompts in the world's
 * grammar, videos with a scene latent); the held-out evaluation runs `policy` (the in-process policy being trained;
 * null when it lives elsewhere) on `training.evalPrompts` held-out prompts, deterministic ODE sampling, adapters on.
 * A run on a prompt file has no held-out evaluation.
 */
export function worldGold(config: Config, policy: FlowPolicy | null): GoldEvaluation {
  const sampler = { ...samplerOptionsFrom(config), mode: 'ode' as const };
  return Object.freeze({
    videoReport: (prompt: SampledPrompt, v: GeneratedVideo): GoldReport | null =>
      prompt.spec === null || v.latent === null ? null : evaluateScene(prompt.spec, decodeLatent(v.latent, v.video.width, v.video.height)),
    heldOut: (): GoldSummary | null =>
      policy === null || config.training.promptFile !== null
        ? null
        : evaluatePolicyGold(policy, config, {
            split: 'heldout',
            prompts: config.training.evalPrompts,
            seed: streamSeed(config.seed, 'heldOutEvaluation'),
            sampler,
            useLora: true,
          }),
  });
}
