/**
 * The gold evaluator: scores a scene against its prompt from the true scene parameters. It is the ground truth for
 * measurement only (reward-hacking detection, benchmarks); the judge never sees it.
 */
import { DEFECTS, type Defect, type Scene, type SceneObject } from './latent.js';
import type { ObjectSpec, PromptSpec } from './prompt.js';
import {
  BACKGROUND_COLOURS,
  FAST_FROM_PX_PER_FRAME,
  OBJECT_COLOURS,
  STILL_BELOW_PX_PER_FRAME,
  nearestColour,
  type Motion,
  type Speed,
} from './vocabulary.js';

/** The attributes the gold evaluator checks. */
export const GOLD_ATTRIBUTES = ['colour', 'shape', 'background', 'motion', 'speed', 'count'] as const;
export type GoldAttribute = (typeof GOLD_ATTRIBUTES)[number];

export interface GoldReport {
  /** Per attribute: correct checks / checks made (objects contribute one check each; speed only for moving objects). */
  readonly attributes: Readonly<Record<GoldAttribute, { readonly correct: number; readonly total: number }>>;
  /** Mean over all checks made, in [0, 1]. */
  readonly accuracy: number;
  /** Every check correct. */
  readonly allCorrect: boolean;
  /** Defect severity (latent units, 0 = none, 1 = clearly visible). */
  readonly defects: Readonly<Record<Defect, number>>;
  /** 1 − mean defect severity (clipped to [0, 1]): 1 is a clean video. */
  readonly quality: number;
}

/** Classifies an object's true motion: direction word and speed word (null when still). */
export function classifyMotion(o: Pick<SceneObject, 'vx' | 'vy'>, unit = 1): { motion: Motion; speed: Speed | null } {
  const vx = o.vx / unit;
  const vy = o.vy / unit;
  const s = Math.hypot(vx, vy);
  if (s < STILL_BELOW_PX_PER_FRAME) return { motion: 'still', speed: null };
  const motion: Motion = Math.abs(vx) >= Math.abs(vy) ? (vx < 0 ? 'left' : 'right') : vy < 0 ? 'up' : 'down';
  return { motion, speed: s >= FAST_FROM_PX_PER_FRAME ? 'fast' : 'slow' };
}

/** Whether an object is at least partly inside the frame for the middle of the video. */
function visible(o: SceneObject, scene: Scene): boolean {
  return o.cx > -o.radius && o.cx < scene.width + o.radius && o.cy > -o.radius && o.cy < scene.height + o.radius;
}

export function evaluateScene(prompt: PromptSpec, scene: Scene): GoldReport {
  const unit = scene.width / 64;
  const tally = Object.fromEntries(GOLD_ATTRIBUTES.map((a) => [a, { correct: 0, total: 0 }])) as Record<
    GoldAttribute,
    { correct: number; total: number }
  >;
  const check = (a: GoldAttribute, ok: boolean): void => {
    tally[a].total += 1;
    if (ok) tally[a].correct += 1;
  };
  const shown = scene.objects.filter((o) => o.present && visible(o, scene));
  prompt.objects.forEach((want: ObjectSpec, k: number) => {
    const o = scene.objects[k];
    const there = o !== undefined && o.present && visible(o, scene);
    const motion = there ? classifyMotion(o, unit) : null;
    check('colour', there && nearestColour(OBJECT_COLOURS, o.rgb) === want.colour);
    check('shape', there && o.shape === want.shape);
    check('motion', motion !== null && motion.motion === want.motion);
    if (want.motion !== 'still') check('speed', motion !== null && motion.speed === want.speed);
  });
  check('background', nearestColour(BACKGROUND_COLOURS, scene.background) === prompt.background);
  check('count', shown.length === prompt.objects.length);
  let correct = 0;
  let total = 0;
  for (const a of GOLD_ATTRIBUTES) {
    correct += tally[a].correct;
    total += tally[a].total;
  }
  const meanSeverity = DEFECTS.reduce((s, d) => s + Math.min(1, scene.defectSeverity[d]), 0) / DEFECTS.length;
  return {
    attributes: tally,
    accuracy: total === 0 ? 0 : correct / total,
    allCorrect: correct === total,
    defects: { ...scene.defectSeverity },
    quality: Math.max(0, Math.min(1, 1 - meanSeverity)),
  };
}

/** Gold per-dimension scores in [0, 1] (1 best), the ground truth a judge's TA/MQ/VQ/OA should agree with. */
export interface GoldScores {
  /** Text alignment: the attribute accuracy. */
  readonly TA: number;
  /** Motion quality: 1 − mean severity of jitter and flicker. */
  readonly MQ: number;
  /** Visual quality: 1 − mean severity of blur and noise. */
  readonly VQ: number;
  /** 0.6·TA + 0.2·MQ + 0.2·VQ. */
  readonly overall: number;
}

/** Weights of the overall gold score. */
export const GOLD_OVERALL_WEIGHTS = { TA: 0.6, MQ: 0.2, VQ: 0.2 } as const;

export function goldScores(report: GoldReport): GoldScores {
  const sev = (d: Defect): number => Math.min(1, report.defects[d]);
  const TA = report.accuracy;
  const MQ = 1 - (sev('jitter') + sev('flicker')) / 2;
  const VQ = 1 - (sev('blur') + sev('noise')) / 2;
  return { TA, MQ, VQ, overall: GOLD_OVERALL_WEIGHTS.TA * TA + GOLD_OVERALL_WEIGHTS.MQ * MQ + GOLD_OVERALL_WEIGHTS.VQ * VQ };
}

/** Gold pairwise preference of one dimension: 1 if a is better by more than `tie`, 2 if b is, else 0. */
export function goldPreference(a: number, b: number, tie: number): 0 | 1 | 2 {
  return a - b > tie ? 1 : b - a > tie ? 2 : 0;
}
