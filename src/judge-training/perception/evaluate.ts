/**
 * Measurements of a perception model on rendered frames it never trained on: classification accuracy (object colour,
 * shape, background) and detection rate, overall and split into clean and defective scenes — on world-v1 frames, and on
 * frames of world-v2 clips split by what the clip's time does to them (clean, global defects, corruption burst,
 * recoloured object, absent object); and how well the measured video signals track the true defect severities (Pearson
 * correlation per defect over rendered videos).
 */
import { Rng, deriveSeed } from '../../common/rng.js';
import { DEFECTS, DEFECT_OFFSET, decodeLatent, renderScene, type Defect } from '../../world/index.js';
import { FEATURE_SIZE, writeBackgroundRow, writeObjectRow } from '../../judge/backends/embedded/perception/features.js';
import type { HeadName } from '../../judge/backends/embedded/perception/heads.js';
import type { Perception } from '../../judge/backends/embedded/perception/perception.js';
import { videoSignals } from '../../judge/backends/embedded/perception/signals.js';
import { FrameSampler, DEFAULT_SCENES, type LabelledFrame, type SceneDistribution, type WorldSplitOptions, type WorldV2Frames } from './training-data.js';

/** Class probabilities for `n` input rows (the ONNX model, or the tfjs network during training). */
export type RowPredictor = (rows: Float32Array, n: number) => Promise<Record<HeadName, Float32Array>>;

export interface AccuracyCounts {
  readonly frames: number;
  readonly colour: number;
  readonly shape: number;
  readonly background: number;
  /** Fraction of true objects whose centre is in view that a blob was matched to. */
  readonly detection: number;
}

export interface AccuracyReport extends AccuracyCounts {
  readonly evalSeed: number;
  readonly clean: AccuracyCounts;
  readonly defective: AccuracyCounts;
}

const argmax = (p: Float32Array, row: number, k: number): number => {
  let best = 0;
  for (let j = 1; j < k; j++) if ((p[row * k + j] ?? 0) > (p[row * k + best] ?? 0)) best = j;
  return best;
};

class Tally {
  frames = 0;
  bg = 0;
  objects = 0;
  colour = 0;
  shape = 0;
  visible = 0;
  detected = 0;

  result(): AccuracyCounts {
    const r = (a: number, b: number): number => (b === 0 ? 0 : Math.round((a / b) * 10000) / 10000);
    return {
      frames: this.frames,
      colour: r(this.colour, this.objects),
      shape: r(this.shape, this.objects),
      background: r(this.bg, this.frames),
      detection: r(this.detected, this.visible),
    };
  }
}

/** Classifies `frames` frames of `sampler` in batches of 128 frames and adds each to the tallies `bucketsOf` names. */
async function tallyFrames(predict: RowPredictor, sampler: FrameSampler, frames: number, bucketsOf: (f: LabelledFrame) => readonly Tally[]): Promise<void> {
  const chunk = 128;
  for (let done = 0; done < frames; done += chunk) {
    const batch: LabelledFrame[] = [];
    for (let i = 0; i < Math.min(chunk, frames - done); i++) batch.push(sampler.next());
    const n = batch.reduce((s, f) => s + 1 + f.analysis.blobs.length, 0);
    const rows = new Float32Array(n * FEATURE_SIZE);
    let r = 0;
    for (const f of batch) {
      writeBackgroundRow(f.analysis, rows, r++ * FEATURE_SIZE);
      for (const b of f.analysis.blobs) writeObjectRow(f.analysis, b, rows, r++ * FEATURE_SIZE);
    }
    const p = await predict(rows, n);
    r = 0;
    for (const f of batch) {
      const bgOk = argmax(p.background, r++, 6) === f.background;
      const matched = new Set<number>();
      const objectResults = f.analysis.blobs.map((_, i) => {
        const row = r++;
        const k = f.match[i] ?? -1;
        const truth = f.objects[k];
        if (truth === undefined) return null;
        matched.add(k);
        return { colour: argmax(p.colour, row, 9) === truth.colour, shape: argmax(p.shape, row, 5) === truth.shape };
      });
      for (const t of bucketsOf(f)) {
        t.frames += 1;
        if (bgOk) t.bg += 1;
        for (const o of objectResults) {
          if (o === null) continue;
          t.objects += 1;
          if (o.colour) t.colour += 1;
          if (o.shape) t.shape += 1;
        }
        f.objects.forEach((o, k) => {
          if (!o.visible) return;
          t.visible += 1;
          if (matched.has(k)) t.detected += 1;
        });
      }
    }
  }
}

/**
 * Accuracy on `frames` rendered frames from a seeded scene distribution (default: the world's pretraining data —
 * train and held-out prompts, wrong attributes, half the scenes with defects). Batches of 128 frames.
 */
export async function measureAccuracy(
  predict: RowPredictor,
  options: { seed: number; frames: number; scenes?: Partial<SceneDistribution>; world?: Partial<WorldSplitOptions> },
): Promise<AccuracyReport> {
  const sampler = new FrameSampler(options.seed, { ...DEFAULT_SCENES, ...options.scenes }, options.world ?? {});
  const all = new Tally();
  const clean = new Tally();
  const defective = new Tally();
  await tallyFrames(predict, sampler, options.frames, (f) => [all, f.defective ? defective : clean]);
  return { ...all.result(), evalSeed: options.seed, clean: clean.result(), defective: defective.result() };
}

/**
 * The world-v2 evaluation frames: every frame from a 48-frame v2 clip (the world's event probability 0.6; each
 * local-defect slot filled with probability 0.6, twice the pretraining data's), 60 % of them among the frames an event or
 * a burst, dropout or local flicker touches, so bursts, flashes and absences are well represented; global defects and
 * attributes as in the v1 frames.
 */
export const WORLD_V2_EVAL_FRAMES: Readonly<Partial<WorldV2Frames>> = Object.freeze({
  share: 1,
  eventProbability: 0.6,
  localDefectProbability: 0.6,
  focus: 0.6,
  frames: 48,
});

export interface WorldV2AccuracyReport extends AccuracyCounts {
  readonly evalSeed: number;
  /** No global defect, and no burst, local flicker or dropout on the frame. */
  readonly clean: AccuracyCounts;
  /** Global defects (blur, noise, jitter, flicker), no burst on the frame. */
  readonly defective: AccuracyCounts;
  /** A corruption burst on the frame. */
  readonly burst: AccuracyCounts;
  /** No burst; an object drawn in another colour than its initial one (after a recolour, during a flash). */
  readonly recoloured: AccuracyCounts;
  /** An object of the scene is not drawn (dropout, before appearing, after leaving): background and the other object. */
  readonly absent: AccuracyCounts;
}

/** Accuracy on `frames` frames of world-v2 clips ({@link WORLD_V2_EVAL_FRAMES} unless `scenes.worldV2` says otherwise). */
export async function measureWorldV2Accuracy(
  predict: RowPredictor,
  options: { seed: number; frames: number; scenes?: Partial<SceneDistribution>; world?: Partial<WorldSplitOptions> },
): Promise<WorldV2AccuracyReport> {
  const scenes = { ...DEFAULT_SCENES, ...options.scenes };
  const sampler = new FrameSampler(options.seed, { ...scenes, worldV2: { ...WORLD_V2_EVAL_FRAMES, ...options.scenes?.worldV2 } }, options.world ?? {});
  const t = { all: new Tally(), clean: new Tally(), defective: new Tally(), burst: new Tally(), recoloured: new Tally(), absent: new Tally() };
  await tallyFrames(predict, sampler, options.frames, (f) => {
    const time = f.temporal;
    const burst = (time?.burst ?? 0) > 0;
    const out = [t.all];
    if (burst) out.push(t.burst);
    else if (f.defective) out.push(t.defective);
    else if ((time?.flicker ?? 0) === 0 && time?.dropout !== true) out.push(t.clean);
    if (!burst && time?.recoloured === true) out.push(t.recoloured);
    if (time?.absent === true) out.push(t.absent);
    return out;
  });
  return {
    ...t.all.result(),
    evalSeed: options.seed,
    clean: t.clean.result(),
    defective: t.defective.result(),
    burst: t.burst.result(),
    recoloured: t.recoloured.result(),
    absent: t.absent.result(),
  };
}

/** One model measured on the held-out world-v1 frames and on the held-out world-v2 frames (the same for every model). */
export interface WorldsAccuracy {
  readonly worldV1: AccuracyReport;
  readonly worldV2: WorldV2AccuracyReport;
}

/** {@link measureAccuracy} (seed `v1Seed`) and {@link measureWorldV2Accuracy} (seed `v2Seed`) on `frames` frames each. */
export async function measureWorlds(
  predict: RowPredictor,
  options: { v1Seed: number; v2Seed: number; frames: number; world?: Partial<WorldSplitOptions> },
): Promise<WorldsAccuracy> {
  const world = options.world ?? {};
  const worldV1 = await measureAccuracy(predict, { seed: options.v1Seed, frames: options.frames, world });
  const worldV2 = await measureWorldV2Accuracy(predict, { seed: options.v2Seed, frames: options.frames, world });
  return { worldV1, worldV2 };
}

export interface SignalsCalibrationReport {
  readonly seed: number;
  readonly videos: number;
  readonly framesPerVideo: number;
  /** Pearson correlation between estimated and true severity, per defect. */
  readonly correlation: Readonly<Record<Defect, number>>;
  /** Mean absolute error of the severity estimates, per defect (latent units). */
  readonly meanAbsError: Readonly<Record<Defect, number>>;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n < 2) return 0;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += ((a[i] ?? 0) - ma) * ((b[i] ?? 0) - mb);
    da += ((a[i] ?? 0) - ma) ** 2;
    db += ((b[i] ?? 0) - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/**
 * Renders `videos` seeded videos (24 frames) whose defects are drawn independently (each on with probability 0.5,
 * severity uniform in [0, 1.5]), perceives `framesPerVideo` uniformly spaced frames of each, and correlates the
 * {@link videoSignals} estimates with the true severities.
 */
export async function measureSignals(
  perception: Perception,
  options: { seed: number; videos: number; framesPerVideo: number; world?: Partial<WorldSplitOptions> },
): Promise<SignalsCalibrationReport> {
  const frames = 24;
  const sampler = new FrameSampler(options.seed, { ...DEFAULT_SCENES, defectProbability: 0 }, options.world ?? {});
  const rng = Rng.fromSeed(deriveSeed(options.seed, 77));
  const picks = Array.from({ length: options.framesPerVideo }, (_, i) =>
    options.framesPerVideo === 1 ? 0 : Math.round((i * (frames - 1)) / (options.framesPerVideo - 1)),
  );
  const truth: Record<Defect, number[]> = { blur: [], noise: [], jitter: [], flicker: [] };
  const est: Record<Defect, number[]> = { blur: [], noise: [], jitter: [], flicker: [] };
  for (let v = 0; v < options.videos; v++) {
    const latent = sampler.latent();
    DEFECTS.forEach((_, i) => (latent[DEFECT_OFFSET + i] = rng.bool(0.5) ? rng.uniform(0, 1.5) : -1));
    const scene = decodeLatent(latent);
    const video = renderScene(scene, { frames, fps: 8, patternSeed: rng.nextUint32() });
    const size = video.width * video.height * 3;
    const seen = await perception.perceive(
      picks.map((f) => ({ index: f, rgb: video.data.subarray(f * size, (f + 1) * size) })),
      video.width,
      video.height,
    );
    const s = videoSignals(seen, video.width, video.height);
    for (const d of DEFECTS) {
      truth[d].push(scene.defectSeverity[d]);
      est[d].push(s[d]);
    }
  }
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const per = (f: (d: Defect) => number): Record<Defect, number> => ({
    blur: round(f('blur')),
    noise: round(f('noise')),
    jitter: round(f('jitter')),
    flicker: round(f('flicker')),
  });
  return {
    seed: options.seed,
    videos: options.videos,
    framesPerVideo: options.framesPerVideo,
    correlation: per((d) => pearson(truth[d], est[d])),
    meanAbsError: per((d) => truth[d].reduce((s, t, i) => s + Math.abs(t - (est[d][i] ?? 0)), 0) / Math.max(1, truth[d].length)),
  };
}
