/**
 * The anchor set: a fixed list of prompts and videos built once at run start with the run's own generator (the
 * rollout is discarded, so no policy update happens), kept in the run directory (`anchors/anchors.json` + one gzipped
 * raw RGB24 file per video) so a resumed run re-judges exactly the same videos, and re-judged through the reward
 * servers to measure how the judge itself drifts (every N steps, after RM version changes).
 */
import { RUN_LAYOUT } from '../common/run-layout.js';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { Rng, deriveSeed } from '../common/rng.js';
import type { Config } from '../config/index.js';
import { VrGrpoError } from '../errors/index.js';
import type { TrainableGenerator } from '../generator/index.js';
import { assertRawVideo, framesOf, type RawVideo } from '../media/index.js';
import type { AnchorPass } from '../metrics/drift/index.js';
import { FilePromptSampler, WorldPromptSampler, readPromptFile } from './prompt-sampler.js';
import { collectGroupRewards, type JudgeClient, type RewardSettings } from './reward-collector.js';

/** Folder of the anchor set inside a run directory. */
export const ANCHORS_DIR = RUN_LAYOUT.anchors;
const MANIFEST = 'anchors.json';

/** Seed streams of the anchor set (derived from the run's seed; distinct from the training streams). */
const PROMPT_STREAM = 6000;
const GENERATE_STREAM = 6001;
const JUDGE_STREAM = 6002;

const videoEntrySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  promptIndex: z.number().int().nonnegative(),
  member: z.number().int().nonnegative(),
  /** File name inside `anchors/`: gzipped packed RGB24 frames. */
  file: z.string().regex(/^[A-Za-z0-9_-]{1,64}\.rgb\.gz$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  frameCount: z.number().int().positive(),
  fps: z.number().positive(),
  /** The scene latent (embedded world), for gold scores of the anchors; null for other generators. */
  latent: z.array(z.number()).nullable(),
});

const manifestSchema = z.strictObject({
  format: z.literal(1),
  generator: z.string(),
  seed: z.number().int().nonnegative(),
  groupSize: z.number().int().min(2),
  prompts: z.array(z.string().min(1)).min(1),
  videos: z.array(videoEntrySchema).min(2),
});

export type AnchorManifest = z.infer<typeof manifestSchema>;

export interface AnchorSet {
  readonly manifest: AnchorManifest;
  /** Same order as `manifest.videos` (prompt-major). */
  readonly videos: readonly RawVideo[];
}

export interface AnchorBuildOptions {
  readonly prompts: readonly string[];
  /** Videos per prompt. */
  readonly groupSize: number;
  /** Seed of the rollout (initial and SDE noise). */
  readonly seed: number;
}

/** The anchor prompts of a run: `count` prompts from the world's train split (or the prompt file) on their own seed. */
export function chooseAnchorPrompts(config: Config, count: number): string[] {
  const seed = deriveSeed(config.seed, PROMPT_STREAM);
  const sampler =
    config.training.promptFile === null ? new WorldPromptSampler(config.world, seed) : new FilePromptSampler(readPromptFile(config.training.promptFile), seed);
  return sampler.next(count).map((p) => p.text);
}

/** Generates the anchor videos with the run's generator and discards the rollout (no update). */
export async function buildAnchorSet(generator: TrainableGenerator, options: AnchorBuildOptions): Promise<AnchorSet> {
  if (options.prompts.length === 0) throw new VrGrpoError('INVALID_ARGUMENT', 'anchor set: no prompts');
  if (!Number.isInteger(options.groupSize) || options.groupSize < 2)
    throw new VrGrpoError('INVALID_ARGUMENT', `anchor set: groupSize must be an integer >= 2, got ${options.groupSize}`);
  const result = await generator.generate({ prompts: options.prompts, groupSize: options.groupSize, seed: options.seed });
  await generator.discard([result.rolloutId]);
  const manifest: AnchorManifest = {
    format: 1,
    generator: generator.name,
    seed: options.seed,
    groupSize: options.groupSize,
    prompts: [...options.prompts],
    videos: result.videos.map((v) => ({
      id: v.id,
      promptIndex: v.promptIndex,
      member: v.member,
      file: `${v.id}.rgb.gz`,
      width: v.video.width,
      height: v.video.height,
      frameCount: v.video.frameCount,
      fps: v.video.fps,
      latent: v.latent === null ? null : Array.from(v.latent),
    })),
  };
  return { manifest: parseManifest(manifest, 'generated anchor set'), videos: result.videos.map((v) => framesOf(v.video, 'an anchor set')) };
}

function parseManifest(value: unknown, where: string): AnchorManifest {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? '' : issue.path.join('.');
    throw new VrGrpoError('CHECKPOINT_INVALID', `${where}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid'}`, { details: { field } });
  }
  const m = parsed.data;
  m.videos.forEach((v, i) => {
    if (v.promptIndex >= m.prompts.length)
      throw new VrGrpoError('CHECKPOINT_INVALID', `${where}: videos.${i}.promptIndex ${v.promptIndex} has no prompt`, {
        details: { field: `videos.${i}.promptIndex` },
      });
  });
  return m;
}

/** Writes the videos, then `anchors/anchors.json` (by rename, last: a set is complete once its manifest exists). */
export function saveAnchorSet(runDir: string, set: AnchorSet): void {
  const dir = join(runDir, ANCHORS_DIR);
  mkdirSync(dir, { recursive: true });
  set.manifest.videos.forEach((v, i) => {
    const video = set.videos[i];
    if (video === undefined) throw new VrGrpoError('INVALID_ARGUMENT', `anchor set: video ${v.id} is missing`);
    writeFileSync(join(dir, v.file), gzipSync(video.data));
  });
  const tmp = join(dir, `${MANIFEST}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(set.manifest)}\n`);
  renameSync(tmp, join(dir, MANIFEST));
}

/** The run's saved anchor set, or null when it has none; CHECKPOINT_INVALID when it is damaged. */
export function loadAnchorSet(runDir: string): AnchorSet | null {
  const dir = join(runDir, ANCHORS_DIR);
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VrGrpoError('CHECKPOINT_INVALID', `${path}: not valid JSON`, { cause: e, details: { path } });
  }
  const manifest = parseManifest(raw, path);
  const videos = manifest.videos.map((v) => {
    const file = join(dir, v.file);
    let data: Uint8Array;
    try {
      data = new Uint8Array(gunzipSync(readFileSync(file)));
    } catch (e) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `${file}: missing or not gzip data`, { cause: e, details: { path: file } });
    }
    const video: RawVideo = { width: v.width, height: v.height, frameCount: v.frameCount, fps: v.fps, data };
    try {
      assertRawVideo(video);
    } catch (e) {
      throw new VrGrpoError('CHECKPOINT_INVALID', `${file}: does not match its manifest entry`, { cause: e, details: { path: file } });
    }
    return video;
  });
  return { manifest, videos };
}

/**
 * The run's anchor set: loaded from the run directory when it exists (resume), else built from the config's
 * `monitoring.drift.anchors` (prompts, groupSize) with the run's generator and saved.
 */
export async function ensureAnchorSet(runDir: string, generator: TrainableGenerator, config: Config): Promise<AnchorSet> {
  const saved = loadAnchorSet(runDir);
  if (saved !== null) return saved;
  const a = config.monitoring.drift.anchors;
  const set = await buildAnchorSet(generator, {
    prompts: chooseAnchorPrompts(config, a.prompts),
    groupSize: a.groupSize,
    seed: deriveSeed(config.seed, GENERATE_STREAM),
  });
  saveAnchorSet(runDir, set);
  return set;
}

export interface AnchorJudgeOptions {
  /** Training step the pass belongs to (0 = before the first update). */
  readonly step: number;
  /** Seed of the comparison plans (pairwise): the same every pass so passes compare the same pairs. Default: fixed. */
  readonly seed?: number;
}

const DIMS = ['TA', 'MQ', 'VQ', 'overall'] as const;

/** Re-judges the anchor set group by group (one group per prompt) with the run's reward settings. */
export async function judgeAnchors(client: JudgeClient, anchors: AnchorSet, settings: RewardSettings, options: AnchorJudgeOptions): Promise<AnchorPass> {
  const m = anchors.manifest;
  const seed = options.seed ?? JUDGE_STREAM;
  const groups = await Promise.all(
    m.prompts.map((prompt, g) => {
      const idx = m.videos.flatMap((v, i) => (v.promptIndex === g ? [i] : []));
      const videos = idx.map((i) => anchors.videos[i]).filter((v): v is RawVideo => v !== undefined);
      return collectGroupRewards(client, prompt, videos, settings, Rng.fromSeed(deriveSeed(seed, g))).then((r) => ({ idx, r }));
    }),
  );
  const n = m.videos.length;
  const scores: Record<string, number[]> = { combined: new Array<number>(n).fill(NaN) };
  for (const d of DIMS) scores[d] = new Array<number>(n).fill(NaN);
  const versions = new Set<string>();
  let judgments = 0;
  let failed = 0;
  for (const { idx, r } of groups) {
    idx.forEach((videoIndex, k) => {
      (scores.combined ?? [])[videoIndex] = r.rewards[k] ?? NaN;
      for (const d of DIMS) (scores[d] ?? [])[videoIndex] = r.perDimension[d][k] ?? NaN;
    });
    for (const v of r.rmVersions) versions.add(v);
    judgments += r.judgments;
    failed += r.failedJudgments;
  }
  const means: Record<string, number> = {};
  for (const [d, xs] of Object.entries(scores)) {
    const f = xs.filter(Number.isFinite);
    means[d] = f.length === 0 ? NaN : f.reduce((s, x) => s + x, 0) / f.length;
  }
  return { step: options.step, rmVersions: [...versions].sort(), videoIds: m.videos.map((v) => v.id), scores, means, judgments, failedJudgments: failed };
}
