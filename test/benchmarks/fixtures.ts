/**
 * Benchmark folders for the eval-judge tests: pairs of world videos (rendered by the project's renderer, encoded to
 * MP4 by the real ffmpeg adapter) with gold labels from the world's gold evaluator, written in each benchmark's
 * released layout — VideoGen-RewardBench's CSV and GenAI-Bench's video_generation rows as JSONL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, deriveSeed } from '../../src/common/rng.js';
import type { Media, RawVideo } from '../../src/media/index.js';
import type { Preference } from '../../src/protocol/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, goldPreference, goldScores, promptText, renderScene, sampleDataLatent } from '../../src/world/index.js';

export interface WorldPair {
  readonly prompt: string;
  readonly a: RawVideo;
  readonly b: RawVideo;
  /** Gold preferences from the world's scores (tie when closer than 0.05). */
  readonly gold: { readonly OA: Preference; readonly TA: Preference; readonly MQ: Preference; readonly VQ: Preference };
}

/** `n` held-out pairs whose gold overall scores differ clearly (seeded). */
export function worldPairs(n: number, seed: number): WorldPair[] {
  const specs = new PromptGenerator({ seed, split: 'heldout', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  const rng = Rng.fromSeed(deriveSeed(seed, 1));
  const out: WorldPair[] = [];
  for (let tries = 0; out.length < n && tries < 50 * n; tries++) {
    const spec = specs.next();
    const la = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    const lb = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    const ga = goldScores(evaluateScene(spec, decodeLatent(la)));
    const gb = goldScores(evaluateScene(spec, decodeLatent(lb)));
    if (Math.abs(ga.overall - gb.overall) < 0.15) continue;
    const render = (l: Float32Array): RawVideo => renderScene(decodeLatent(l), { frames: 24, fps: 8 });
    const pref = (x: number, y: number): Preference => goldPreference(x, y, 0.05);
    out.push({
      prompt: promptText(spec),
      a: render(la),
      b: render(lb),
      gold: { OA: pref(ga.overall, gb.overall), TA: pref(ga.TA, gb.TA), MQ: pref(ga.MQ, gb.MQ), VQ: pref(ga.VQ, gb.VQ) },
    });
  }
  if (out.length < n) throw new Error(`only ${out.length} clear pairs found`);
  return out;
}

/** Writes pair i's videos as `videos/<model>/pair-<i>-{a,b}.mp4` under `dir`; returns their relative paths. */
export async function writePairVideos(media: Media, dir: string, pairs: readonly WorldPair[]): Promise<{ a: string; b: string }[]> {
  mkdirSync(join(dir, 'videos', 'model-a'), { recursive: true });
  mkdirSync(join(dir, 'videos', 'model-b'), { recursive: true });
  const paths = pairs.map((_, i) => ({ a: `videos/model-a/pair-${i}-a.mp4`, b: `videos/model-b/pair-${i}-b.mp4` }));
  await Promise.all(
    pairs.flatMap((p, i) => {
      const at = paths[i];
      if (at === undefined) return [];
      return [media.encodeMp4(p.a, join(dir, at.a)), media.encodeMp4(p.b, join(dir, at.b))];
    }),
  );
  return paths;
}

const LETTER: Readonly<Record<Preference, string>> = { 1: 'A', 2: 'B', 0: 'same' };

/** One CSV cell, quoted the way pandas quotes (only when needed; `"` doubled). */
function cell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface CsvRow {
  readonly pathA: string;
  readonly pathB: string;
  readonly prompt: string;
  /** Labels as written (`A`, `B`, `same`, or anything, for error tests); from `gold` when absent. */
  readonly labels: { readonly Overall: string; readonly VQ: string; readonly MQ: string; readonly TA: string };
}

/** Rows of VideoGen-RewardBench's CSV for world pairs at `paths`. */
export function videoGenRows(pairs: readonly WorldPair[], paths: readonly { a: string; b: string }[]): CsvRow[] {
  return pairs.map((p, i) => ({
    pathA: paths[i]?.a ?? '',
    pathB: paths[i]?.b ?? '',
    prompt: p.prompt,
    labels: { Overall: LETTER[p.gold.OA], VQ: LETTER[p.gold.VQ], MQ: LETTER[p.gold.MQ], TA: LETTER[p.gold.TA] },
  }));
}

/** Writes `videogen-rewardbench.csv` in the released column order (with the model, fps and frame-count columns). */
export function writeVideoGenCsv(file: string, rows: readonly CsvRow[]): void {
  const header = ['path_A', 'path_B', 'A_model', 'B_model', 'prompt', 'VQ', 'MQ', 'TA', 'Overall', 'fps_A', 'num_frames_A', 'fps_B', 'num_frames_B'];
  const lines = rows.map((r) =>
    [r.pathA, r.pathB, 'model-a', 'model-b', r.prompt, r.labels.VQ, r.labels.MQ, r.labels.TA, r.labels.Overall, 8.0, 24, 8.0, 24].map(cell).join(','),
  );
  writeFileSync(file, `${[header.join(','), ...lines].join('\r\n')}\r\n`);
}

const VOTE: Readonly<Record<Preference, string>> = { 1: 'leftvote', 2: 'rightvote', 0: 'tievote' };

/** GenAI-Bench video_generation rows (JSONL) for world pairs: left videos as Hugging Face URLs, right ones as relative paths. */
export function writeGenAiJsonl(file: string, pairs: readonly WorldPair[], paths: readonly { a: string; b: string }[], votes?: readonly string[]): void {
  const lines = pairs.map((p, i) => {
    const a = paths[i]?.a ?? '';
    const name = a.split('/').at(-1) ?? a;
    return JSON.stringify({
      prompt: p.prompt,
      left_model: 'model-a',
      left_video: `https://huggingface.co/datasets/example/genai-arena-videos/blob/main/dir/${name}`,
      right_model: 'model-b',
      right_video: paths[i]?.b ?? '',
      vote_type: votes?.[i] ?? VOTE[p.gold.OA],
    });
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
}
