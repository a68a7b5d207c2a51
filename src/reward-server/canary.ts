/**
 * The canary set of a checkpoint swap: a few deterministic pairwise comparisons on videos rendered by the synthetic
 * world (a clean video that matches its prompt against a corrupted, defective one), plus pointwise judgments of some of
 * them. A new judge version must judge every canary item — each judgment completes within the time limit and
 * parses as a verdict of the right shape and version — before it may serve. The same run doubles as its warm-up.
 */
import { Rng, deriveSeed } from '../common/rng.js';
import { VrGrpoError, isVrGrpoError } from '../errors/index.js';
import { RawFrameSource } from '../judge/frame-source.js';
import type { Judgment, JudgeService } from '../judge/judge-service.js';
import type { RawVideo } from '../media/index.js';
import { verdictSchema, type Preference } from '../protocol/index.js';
import { PromptGenerator, decodeLatent, evaluateScene, goldScores, idealLatent, promptText, renderScene, sampleDataLatent } from '../world/index.js';

/** Default pairwise canary comparisons. */
export const DEFAULT_CANARY_PAIRS = 4;
/** Default pointwise canary judgments (of the first videos of the pairs). */
export const DEFAULT_CANARY_POINTWISE = 2;
/** Default time the whole canary may take, in milliseconds. */
export const DEFAULT_CANARY_TIMEOUT_MS = 60_000;
/** Default seed of the canary videos (fixed: the same canary for every load, so agreement is comparable). */
export const DEFAULT_CANARY_SEED = 20_251;

export interface CanaryItem {
  readonly id: string;
  readonly prompt: string;
  readonly mode: 'pairwise' | 'pointwise';
  readonly videos: readonly RawVideo[];
  /** Pairwise: the gold-better video (1 or 2). */
  readonly goldBetter: 1 | 2 | null;
}

export interface CanaryOptions {
  /** Pairwise comparisons, 1–64. Default 4. */
  readonly pairs?: number;
  /** Pointwise judgments, 0–64 (at most `pairs`). Default 2. */
  readonly pointwise?: number;
  /** Seed of prompts and layouts. Default {@link DEFAULT_CANARY_SEED}. */
  readonly seed?: number;
  /** Frames per video. Default 24. */
  readonly frames?: number;
  /** Frame width and height, px. Default 64. */
  readonly size?: number;
}

/** The corrupted side of a canary pair: every attribute swapped with probability 0.5, visible defects. */
const CORRUPTED = { attributeNoise: 0.5, defectProbability: 1, jitter: 0.2 } as const;

/** Builds the canary set (deterministic for given options). */
export function buildCanarySet(options: CanaryOptions = {}): CanaryItem[] {
  const pairs = options.pairs ?? DEFAULT_CANARY_PAIRS;
  const pointwise = Math.min(options.pointwise ?? DEFAULT_CANARY_POINTWISE, pairs);
  const seed = options.seed ?? DEFAULT_CANARY_SEED;
  const frames = options.frames ?? 24;
  const size = options.size ?? 64;
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 64)
    throw new VrGrpoError('INVALID_ARGUMENT', `canary pairs: expected an integer in 1..64 (got ${pairs})`);
  if (!Number.isInteger(pointwise) || pointwise < 0)
    throw new VrGrpoError('INVALID_ARGUMENT', `canary pointwise: expected a non-negative integer (got ${pointwise})`);
  const prompts = new PromptGenerator({ seed, split: 'train', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0 });
  const rng = Rng.fromSeed(deriveSeed(seed, 1));
  const render = (latent: Float32Array): RawVideo => renderScene(decodeLatent(latent, size, size), { frames, fps: 8 });
  const items: CanaryItem[] = [];
  const firsts: { prompt: string; video: RawVideo }[] = [];
  for (let i = 0; i < pairs; i++) {
    const spec = prompts.next();
    const clean = idealLatent(spec, rng);
    // Draw until the corrupted video is clearly worse by gold (bounded: the corruption almost always is).
    let bad = sampleDataLatent(spec, rng, CORRUPTED);
    for (
      let tries = 0;
      tries < 20 && goldScores(evaluateScene(spec, decodeLatent(bad))).overall > goldScores(evaluateScene(spec, decodeLatent(clean))).overall - 0.2;
      tries++
    ) {
      bad = sampleDataLatent(spec, rng, CORRUPTED);
    }
    const prompt = promptText(spec);
    const cleanFirst = i % 2 === 0;
    const videos = cleanFirst ? [render(clean), render(bad)] : [render(bad), render(clean)];
    items.push({ id: `canary-pair-${i}`, prompt, mode: 'pairwise', videos, goldBetter: cleanFirst ? 1 : 2 });
    const first = videos[0];
    if (first !== undefined) firsts.push({ prompt, video: first });
  }
  firsts
    .slice(0, pointwise)
    .forEach((f, i) => items.push({ id: `canary-point-${i}`, prompt: f.prompt, mode: 'pointwise', videos: [f.video], goldBetter: null }));
  return items;
}

/** One canary item judged and checked: the overall pairwise answer (null in pointwise mode). */
export interface CanaryOutcome {
  readonly item: CanaryItem;
  readonly overall: Preference | null;
}

/**
 * Judges one canary item on `service` and checks the result: a verdict that parses, of the item's mode, one score per
 * video, carrying `rmVersion`. CANARY_FAILED (naming the item) for any failure, including a judge error.
 */
export async function judgeCanaryItem(service: JudgeService, rmVersion: string, item: CanaryItem, signal: AbortSignal): Promise<CanaryOutcome> {
  const fail = (reason: string, cause?: unknown): VrGrpoError =>
    new VrGrpoError('CANARY_FAILED', `canary ${item.id} on ${rmVersion}: ${reason}`, { details: { item: item.id, rmVersion, reason }, cause });
  signal.throwIfAborted();
  let judgment: Judgment;
  try {
    judgment = await service.judge(
      { id: item.id, prompt: item.prompt, mode: item.mode, videos: item.videos.map((v, i) => new RawFrameSource(v, `${item.id}-v${i}`)), options: {} },
      { signal },
    );
  } catch (error) {
    if (signal.aborted && isVrGrpoError(signal.reason)) throw signal.reason;
    const code = isVrGrpoError(error) ? `${error.code}: ` : '';
    throw fail(`the judgment failed (${code}${error instanceof Error ? error.message : String(error)})`, error);
  }
  const { turns: _turns, ...rest } = judgment;
  const parsed = verdictSchema.safeParse({ ...rest, type: 'verdict', id: item.id });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`the verdict does not parse (${issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`})`);
  }
  const verdict = parsed.data;
  if (verdict.rmVersion !== rmVersion) throw fail(`the verdict names version ${JSON.stringify(verdict.rmVersion)}`);
  if (verdict.mode !== item.mode) throw fail(`asked for ${item.mode}, the verdict is ${verdict.mode}`);
  if (verdict.scores.length !== item.videos.length) throw fail(`${verdict.scores.length} score(s) for ${item.videos.length} video(s)`);
  if (item.mode === 'pairwise' && verdict.answer === null) throw fail('a pairwise verdict without an answer');
  return { item, overall: verdict.answer?.OA ?? null };
}

/** Default budget of the canary's resident-memory growth (512 MiB; `rewardServer.checkpoints.canaryMaxRssGrowthMiB`). */
export const DEFAULT_CANARY_MAX_RSS_GROWTH_BYTES = 512 * 1024 * 1024;
/** Default budget of one canary judgment, ms (`rewardServer.checkpoints.canaryMaxJudgmentMs`). */
export const DEFAULT_CANARY_MAX_JUDGMENT_MS = 20_000;
/** How often the canary samples the process's resident memory, ms. */
export const CANARY_SAMPLE_INTERVAL_MS = 5;

/** What a {@link CanaryMeter} measured. */
export interface CanaryResources {
  /** Peak resident-set growth over the canary's start, bytes (≥ 0). */
  readonly rssGrowthBytes: number;
  /** The slowest canary judgment, ms. */
  readonly maxJudgmentMs: number;
}

const rssNow = (): number => process.memoryUsage.rss();
/** The process's high-water mark of resident memory, bytes (the kernel's, so peaks between samples count too). */
const maxRssNow = (): number => process.resourceUsage().maxRSS * 1024;

/**
 * Measures what a new version's canary costs: resident memory sampled every {@link CANARY_SAMPLE_INTERVAL_MS} ms and
 * after each judgment, plus the kernel's high-water mark (a peak between two samples still counts once it exceeds the
 * process's earlier peak), and the time of each judgment. `onOver` is called once, with the reason, when a budget is
 * exceeded (null = no budget). The process is shared: judgments of the serving version running at the same time count
 * too, so a budget should leave room for them.
 */
export class CanaryMeter {
  readonly #baseline = rssNow();
  readonly #baselineMaxRss = maxRssNow();
  #peak = this.#baseline;
  #slowest = 0;
  #over = false;
  #timer: NodeJS.Timeout | null;

  constructor(
    private readonly maxRssGrowthBytes: number | null,
    private readonly maxJudgmentMs: number | null,
    private readonly onOver: (error: VrGrpoError) => void,
    private readonly rmVersion: string,
  ) {
    this.#timer = maxRssGrowthBytes === null ? null : setInterval(() => this.sample(), CANARY_SAMPLE_INTERVAL_MS);
    this.#timer?.unref();
  }

  /** Samples memory now; returns the growth so far. */
  sample(): number {
    const maxRss = maxRssNow();
    this.#peak = Math.max(this.#peak, rssNow(), maxRss > this.#baselineMaxRss ? maxRss : 0);
    const growth = this.#peak - this.#baseline;
    if (this.maxRssGrowthBytes !== null && growth > this.maxRssGrowthBytes) {
      const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
      this.#fail(
        new VrGrpoError(
          'CANARY_FAILED',
          `canary on ${this.rmVersion}: resident memory grew by ${mib(growth)}, over the budget of ${mib(this.maxRssGrowthBytes)}`,
          { details: { rmVersion: this.rmVersion, reason: 'memory', rssGrowthBytes: growth, maxRssGrowthBytes: this.maxRssGrowthBytes } },
        ),
      );
    }
    return growth;
  }

  /** Records one judgment's duration (and samples memory). */
  judged(item: CanaryItem, ms: number): void {
    this.#slowest = Math.max(this.#slowest, ms);
    this.sample();
    if (this.maxJudgmentMs !== null && ms > this.maxJudgmentMs) {
      this.#fail(
        new VrGrpoError(
          'CANARY_FAILED',
          `canary ${item.id} on ${this.rmVersion}: the judgment took ${Math.round(ms)} ms, over the budget of ${this.maxJudgmentMs} ms`,
          {
            details: { item: item.id, rmVersion: this.rmVersion, reason: 'time', ms, maxJudgmentMs: this.maxJudgmentMs },
          },
        ),
      );
    }
  }

  /** Stops sampling; what was measured. */
  stop(): CanaryResources {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    return { rssGrowthBytes: Math.max(0, this.#peak - this.#baseline), maxJudgmentMs: this.#slowest };
  }

  #fail(error: VrGrpoError): void {
    if (this.#over) return;
    this.#over = true;
    this.onOver(error);
  }
}
