/**
 * The thinking-with-image judge loop, the same for every backend: show initial frames, let the reasoner think and
 * call `select_frames` (≤ maxFramesPerCall frames, range-checked, errors returned as tool turns), keep images of only
 * the latest `memoryWindow` tool results (initial frames always), stop at an answer or at a budget (tool calls, images
 * shown, context tokens) with the last recommended answer marked forced, and run the hallucination checks on the trace.
 */
import { Rng } from '../common/rng.js';
import { VrGrpoError, isVrGrpoError } from '../errors/index.js';
import type { Hallucination, JudgeOptions, PointwiseScores, Turn, VerdictAnswer, VerdictScores } from '../protocol/index.js';
import { parseTurn } from './format.js';
import type { FrameSource } from './frame-source.js';
import { inconsistentAnswer, reconcileOrders, swapAnswer, unseenReferences } from './hallucinations.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from './judge-service.js';
import type { ConversationMessage, ImageRef, Reasoner } from './reasoner.js';

/** Judge options with defaults filled. */
export interface ResolvedJudgeOptions {
  readonly initialFrames: number;
  readonly maxToolCalls: number;
  readonly memoryWindow: number;
  readonly maxFramesPerCall: number;
  readonly stream: boolean;
  readonly trace: boolean;
  readonly bothOrders: boolean;
  /** The initial view as one of several interleaved ones (absent: frames sampled evenly over the clip). */
  readonly initialView?: { readonly index: number; readonly of: number };
}

export const DEFAULT_JUDGE_OPTIONS: ResolvedJudgeOptions = Object.freeze({
  initialFrames: 8,
  maxToolCalls: 3,
  memoryWindow: 1,
  maxFramesPerCall: 8,
  stream: false,
  trace: false,
  bothOrders: false,
});

/** Request options over server defaults over {@link DEFAULT_JUDGE_OPTIONS}. */
export function resolveJudgeOptions(o: JudgeOptions | undefined, defaults: Partial<ResolvedJudgeOptions> = {}): ResolvedJudgeOptions {
  const set = (x: object): Partial<ResolvedJudgeOptions> => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_JUDGE_OPTIONS, ...set(defaults), ...set(o ?? {}) };
}

export interface JudgeEngineOptions {
  /** Re-asks after an unparseable turn before giving up. Default 2. */
  readonly maxFormatRetries?: number;
  /** Fraction of judgments re-judged with all frames (no tool calls) to measure audit disagreement. Default 0. */
  readonly auditFraction?: number;
  /** Seed of the audit sampling. Default 0. */
  readonly auditSeed?: number;
  /** Defaults for options a request leaves out (e.g. from the config's `judge` section). */
  readonly defaults?: Partial<ResolvedJudgeOptions>;
  /**
   * Images one conversation may be shown in total (initial frames + every tool result), as in VR-Thinker's released
   * code. A selection that would exceed it ends the look-around: the last recommended answer becomes the answer
   * (forced), or the judge is told to answer without more frames. Default 64.
   */
  readonly maxImages?: number;
  /**
   * Context tokens (prompt + completion, as the backend reports them) a conversation may reach. A turn past it that
   * is not a final answer ends the conversation with the last recommended answer (forced), else FORMAT_ERROR.
   * Default null: no budget (backends that report no usage are never stopped by it).
   */
  readonly tokenBudget?: number | null;
  /**
   * The frame index space the reasoner sees. null (default): each video's real frames (video 2 starts after video 1's
   * last frame). A number V: each video is presented as V frames resampled evenly from its real frames, whatever its
   * length, so a pair spans 1..2V — the released VR-Thinker was trained on 48 per video (1–96) and picks its indices in
   * that space. Selections, range errors and frame citations speak in it; `framesViewed` reports real frames.
   */
  readonly framesPerVideo?: number | null;
  /**
   * How the initial frames are picked per video: 'uniform' (default) spreads them from the first to the last frame;
   * 'stride' takes every ⌊count/m⌋-th frame from the first (the released code's `frames[::step][:8]`: 1, 13, 25, 37 of
   * 48).
   */
  readonly initialSampling?: 'uniform' | 'stride';
}

/** Default of {@link JudgeEngineOptions.maxImages}. */
export const DEFAULT_MAX_IMAGES = 64;

/** Every ⌊n/m⌋-th 0-based index from 0, m of them (all of 0..n-1 when m ≥ n). */
export function strideIndices(n: number, m: number): number[] {
  if (m >= n) return Array.from({ length: n }, (_, i) => i);
  const step = Math.max(1, Math.floor(n / m));
  return Array.from({ length: m }, (_, i) => i * step);
}

/** The real 0-based frame a virtual 0-based index `v` of `virtualCount` stands for, in a video of `realCount` frames. */
export function realFrameOf(v: number, virtualCount: number, realCount: number): number {
  if (virtualCount <= 1 || realCount <= 1) return 0;
  return Math.min(realCount - 1, Math.round((v * (realCount - 1)) / (virtualCount - 1)));
}

/**
 * The `index`-th of `of` interleaved views of n frames: 0-based frames index, index + of, …, thinned evenly to m when
 * there are more.
 */
export function interleavedIndices(n: number, m: number, view: { readonly index: number; readonly of: number }): number[] {
  const mine: number[] = [];
  for (let i = view.index; i < n; i += view.of) mine.push(i);
  return uniformIndices(mine.length, m).map((j) => mine[j] ?? 0);
}

/** Uniformly spaced 0-based indices: m of 0..n-1. */
export function uniformIndices(n: number, m: number): number[] {
  if (m >= n) return Array.from({ length: n }, (_, i) => i);
  if (m === 1) return [Math.floor((n - 1) / 2)];
  return Array.from({ length: m }, (_, i) => Math.round((i * (n - 1)) / (m - 1)));
}

interface LoopResult {
  readonly answer: VerdictAnswer | null;
  readonly pointwise: PointwiseScores | null;
  readonly forced: boolean;
  readonly toolCalls: number;
  readonly formatErrors: number;
  readonly turns: Turn[];
  readonly hallucinations: Hallucination[];
  /** Per video, 0-based frames whose images were shown. */
  readonly framesViewed: number[][];
  readonly backendMs: number;
  readonly framesMs: number;
}

const SYSTEM_TEXT = (n: number, perCall: number): string =>
  'You are a video reward model. You judge generated videos against their caption on text alignment (TA), motion quality (MQ), ' +
  'visual quality (VQ) and overall (OA), thinking with images. You see a few frames first; to look closer call the tool ' +
  `select_frames with {"target_frames": [...]} (1-based frame numbers in [1,${n}], at most ${perCall} per call). ` +
  'Write <snapshot>what you saw that matters</snapshot><think>your reasoning</think>, then either ' +
  '<recommend answer> TA = x, MQ = x, VQ = x, OA = x, CF = c </recommend answer> followed by <tool_call>{"name": "select_frames", "arguments": {"target_frames": [...]}}</tool_call>, ' +
  'or a final <answer> … </answer>. Pairwise values: 1 = video 1 better, 2 = video 2 better, 0 = tie; CF is confidence, 1 (high) to 3 (low). ' +
  'Pointwise: TA, MQ, VQ, OA are scores in [0, 1].';

export class JudgeEngine implements JudgeService {
  readonly backendName: string;
  private readonly maxFormatRetries: number;
  private readonly auditFraction: number;
  private readonly auditRng: Rng;
  private readonly defaults: Partial<ResolvedJudgeOptions>;
  private readonly maxImages: number;
  private readonly tokenBudget: number | null;
  private readonly framesPerVideo: number | null;
  private readonly initialSampling: 'uniform' | 'stride';
  private conversations = 0;

  constructor(
    private readonly reasoner: Reasoner,
    options: JudgeEngineOptions = {},
  ) {
    this.backendName = reasoner.name;
    this.maxFormatRetries = options.maxFormatRetries ?? 2;
    this.auditFraction = options.auditFraction ?? 0;
    this.auditRng = Rng.fromSeed(options.auditSeed ?? 0);
    this.defaults = { ...options.defaults };
    this.maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
    this.tokenBudget = options.tokenBudget ?? null;
    this.framesPerVideo = options.framesPerVideo ?? null;
    this.initialSampling = options.initialSampling ?? 'uniform';
    if (this.framesPerVideo !== null && !(Number.isInteger(this.framesPerVideo) && this.framesPerVideo >= 1)) {
      throw new VrGrpoError('INVALID_ARGUMENT', `framesPerVideo must be an integer >= 1 or null, got ${this.framesPerVideo}`);
    }
    if (!Number.isInteger(this.maxImages) || this.maxImages < 1)
      throw new VrGrpoError('INVALID_ARGUMENT', `maxImages must be an integer >= 1, got ${this.maxImages}`);
    if (this.tokenBudget !== null && !(this.tokenBudget > 0))
      throw new VrGrpoError('INVALID_ARGUMENT', `tokenBudget must be > 0 or null, got ${this.tokenBudget}`);
  }

  rmVersion(): string {
    return this.reasoner.rmVersion;
  }

  async judge(request: JudgmentRequest, hooks: JudgmentHooks = {}): Promise<Judgment> {
    const started = performance.now();
    const rmVersion = this.reasoner.rmVersion;
    const options = resolveJudgeOptions(request.options, this.defaults);
    const onTurn = options.stream ? hooks.onTurn : undefined;
    const realCounts = await Promise.all(request.videos.map((v) => v.frameCount()));
    // The index space the reasoner speaks in (real counts, or V virtual frames per video).
    const counts = realCounts.map((c) => (this.framesPerVideo === null || c === 0 ? c : this.framesPerVideo));
    if (request.mode === 'pairwise') {
      if (request.videos.length !== 2) throw new VrGrpoError('INVALID_REQUEST', `pairwise needs exactly 2 videos, got ${request.videos.length}`);
      const main = await this.loop(request, request.videos, counts, options, hooks.signal, onTurn, realCounts);
      let answer = main.answer;
      const hallucinations = [...main.hallucinations];
      let extra: LoopResult | null = null;
      if (answer === null) throw new VrGrpoError('FORMAT_ERROR', 'no pairwise answer');
      if (options.bothOrders) {
        const reversedVideos = [request.videos[1], request.videos[0]].filter((v): v is FrameSource => v !== undefined);
        extra = await this.loop(request, reversedVideos, [counts[1] ?? 0, counts[0] ?? 0], options, hooks.signal, onTurn, [
          realCounts[1] ?? 0,
          realCounts[0] ?? 0,
        ]);
        if (extra.answer === null) throw new VrGrpoError('FORMAT_ERROR', 'no pairwise answer in the reversed order');
        const r = reconcileOrders(answer, swapAnswer(extra.answer));
        answer = r.answer;
        hallucinations.push(...extra.hallucinations, ...r.hallucinations);
      }
      if (this.auditFraction > 0 && this.auditRng.next() < this.auditFraction) {
        // All frames, as far as the image budget and the backend's context allow (sampled evenly to fit).
        const allFrames = Math.min(
          counts.reduce((s, c) => s + c, 0),
          this.maxImages,
          this.reasoner.maxFramesPerRequest ?? Number.MAX_SAFE_INTEGER,
        );
        const all = await this.loop(
          request,
          request.videos,
          counts,
          { ...options, initialFrames: allFrames, maxToolCalls: 0 },
          hooks.signal,
          undefined,
          realCounts,
        );
        if (all.answer !== null && all.answer.OA !== answer.OA) {
          hallucinations.push({ kind: 'audit_disagreement', detail: `with all frames the overall answer is ${all.answer.OA}, not ${answer.OA}` });
        }
      }
      const extraViewed = extra?.framesViewed;
      const framesViewed =
        extraViewed === undefined ? main.framesViewed : [mergeSorted(main.framesViewed[0], extraViewed[1]), mergeSorted(main.framesViewed[1], extraViewed[0])];
      const final = answer;
      const scoreOf = (k: 1 | 2, p: 0 | 1 | 2): number => (p === 0 ? 0.5 : p === k ? 1 : 0);
      /** Scores of video k from the answer; a dimension the judge did not give stays absent. */
      const scoresOf = (k: 1 | 2): VerdictScores => {
        const s: { -readonly [K in keyof VerdictScores]: VerdictScores[K] } = { overall: scoreOf(k, final.OA) };
        for (const d of ['TA', 'MQ', 'VQ'] as const) {
          const p = final[d];
          if (p !== undefined) s[d] = scoreOf(k, p);
        }
        return s;
      };
      return {
        rmVersion,
        mode: 'pairwise',
        answer,
        scores: ([1, 2] as const).map(scoresOf),
        framesViewed,
        toolCalls: main.toolCalls + (extra?.toolCalls ?? 0),
        turns: [...main.turns, ...(extra?.turns ?? [])],
        hallucinations,
        formatErrors: main.formatErrors + (extra?.formatErrors ?? 0),
        forced: main.forced || (extra?.forced ?? false),
        timing: { totalMs: performance.now() - started, decodeMs: main.framesMs + (extra?.framesMs ?? 0), backendMs: main.backendMs + (extra?.backendMs ?? 0) },
      };
    }
    const results: LoopResult[] = [];
    for (const [i, video] of request.videos.entries())
      results.push(await this.loop(request, [video], [counts[i] ?? 0], options, hooks.signal, onTurn, [realCounts[i] ?? 0]));
    return {
      rmVersion,
      mode: 'pointwise',
      answer: null,
      scores: results.map((r) => {
        if (r.pointwise === null) throw new VrGrpoError('FORMAT_ERROR', 'no pointwise answer');
        return r.pointwise;
      }),
      framesViewed: results.map((r) => r.framesViewed[0] ?? []),
      toolCalls: results.reduce((s, r) => s + r.toolCalls, 0),
      turns: results.flatMap((r) => r.turns),
      hallucinations: results.flatMap((r) => r.hallucinations),
      formatErrors: results.reduce((s, r) => s + r.formatErrors, 0),
      forced: results.some((r) => r.forced),
      timing: {
        totalMs: performance.now() - started,
        decodeMs: results.reduce((s, r) => s + r.framesMs, 0),
        backendMs: results.reduce((s, r) => s + r.backendMs, 0),
      },
    };
  }

  /**
   * One conversation over `videos` (1 for pointwise, 2 for pairwise) in a shared 1-based index space of `counts` frames
   * per video (virtual when `framesPerVideo` is set), over videos of `realCounts` frames.
   */
  private async loop(
    request: JudgmentRequest,
    videos: readonly FrameSource[],
    counts: readonly number[],
    options: ResolvedJudgeOptions,
    signal: AbortSignal | undefined,
    onTurn: ((t: Turn) => void) | undefined,
    realCounts: readonly number[],
  ): Promise<LoopResult> {
    /** The real 0-based frame of video k's 0-based index `i` in the reasoner's index space. */
    const realOf = (k: number, i: number): number => realFrameOf(i, counts[k] ?? 0, realCounts[k] ?? 0);
    const conversationId = `${request.id}#${++this.conversations}`;
    // Cache keys only where index i of video k is the video's own frame i (no virtual index space).
    const videoKeys = videos.map((v) => (this.framesPerVideo === null ? (v.cacheKey ?? null) : null));
    const offsets: number[] = [];
    let total = 0;
    for (const c of counts) {
      offsets.push(total);
      total += c;
    }
    let framesMs = 0;
    let backendMs = 0;
    const fetch = async (globals: readonly number[]): Promise<ImageRef[]> => {
      const t0 = performance.now();
      const out: ImageRef[] = [];
      for (const [k, video] of videos.entries()) {
        const offset = offsets[k] ?? 0;
        const mine = globals.filter((g) => g > offset && g <= offset + (counts[k] ?? 0));
        if (mine.length === 0) continue;
        const [frames, size] = await Promise.all([video.frames(mine.map((g) => realOf(k, g - offset - 1))), video.size()]);
        mine.forEach((g, i) => out.push({ index: g, rgb: frames[i] ?? new Uint8Array(0), width: size.width, height: size.height }));
      }
      framesMs += performance.now() - t0;
      return out.sort((a, b) => a.index - b.index);
    };
    // TESTING AID (the planted `hiding` hack): every frame of each video, outside the conversation.
    const wholeClip =
      this.reasoner.wantsWholeClip === true
        ? await fetch(Array.from({ length: total }, (_, i) => i + 1)).then((all) =>
            counts.map((c, k) => all.filter((img) => img.index > (offsets[k] ?? 0) && img.index <= (offsets[k] ?? 0) + c)),
          )
        : undefined;
    const perVideo = Math.max(1, Math.floor(Math.min(options.initialFrames, this.maxImages) / videos.length));
    const view = options.initialView;
    const sample =
      view !== undefined && view.of > 1
        ? (n: number, m: number): number[] => interleavedIndices(n, m, view)
        : this.initialSampling === 'stride'
          ? strideIndices
          : uniformIndices;
    const initial = videos.flatMap((_, k) => sample(counts[k] ?? 0, perVideo).map((i) => i + 1 + (offsets[k] ?? 0)));
    // TESTING AID (the planted `hiding` hack): what the whole set of interleaved views shows of each video.
    const viewSetFrames =
      wholeClip !== undefined && view !== undefined && view.of > 1
        ? counts.map((c) => [...new Set(Array.from({ length: view.of }, (_, index) => interleavedIndices(c, perVideo, { index, of: view.of })).flat())])
        : undefined;
    const shown = new Set<number>(initial);
    const videoWords =
      videos.length === 2 ? `Video 1 is frames 1-${counts[0] ?? 0}, video 2 is frames ${(counts[0] ?? 0) + 1}-${total}.` : `The video has frames 1-${total}.`;
    const messages: { role: ConversationMessage['role']; text: string; images: ImageRef[]; toolRound: number | null }[] = [
      { role: 'system', text: SYSTEM_TEXT(total, options.maxFramesPerCall), images: [], toolRound: null },
      {
        role: 'user',
        text: `Caption: ${request.prompt}\nTask: ${request.mode === 'pairwise' ? 'which video is better on each dimension?' : 'score the video on each dimension.'} ${videoWords} Initial frames: ${initial.join(', ')}.`,
        images: await fetch(initial),
        toolRound: null,
      },
    ];
    const turns: Turn[] = [];
    const hallucinations: Hallucination[] = [];
    const pushTurn = (t: Turn): void => {
      turns.push(t);
      onTurn?.(t);
    };
    let toolCalls = 0;
    let formatErrors = 0;
    let lastRecommend: VerdictAnswer | null = null;
    /** Images shown so far in this conversation (counted against `maxImages`). */
    let imagesShown = initial.length;
    let imageBudgetSpent = false;
    const window = (): ConversationMessage[] => {
      const rounds = messages.filter((m) => m.toolRound !== null).length;
      return messages.map((m) => {
        const keep = m.toolRound === null || m.toolRound > rounds - options.memoryWindow;
        return { role: m.role, text: m.text, images: keep ? m.images : [], droppedImages: keep ? [] : m.images.map((i) => i.index) };
      });
    };
    const finish = (answer: VerdictAnswer | null, pointwise: PointwiseScores | null, forced: boolean): LoopResult => {
      if (answer !== null) hallucinations.push(...inconsistentAnswer(answer));
      this.reasoner.release(conversationId);
      return {
        answer,
        pointwise,
        forced,
        toolCalls,
        formatErrors,
        turns,
        hallucinations,
        // Real frames (several virtual indices may stand for one real frame of a short video).
        framesViewed: counts.map((c, k) =>
          [...new Set([...shown].filter((g) => g > (offsets[k] ?? 0) && g <= (offsets[k] ?? 0) + c).map((g) => realOf(k, g - (offsets[k] ?? 0) - 1)))].sort(
            (a, b) => a - b,
          ),
        ),
        backendMs,
        framesMs,
      };
    };
    try {
      // Bounded: every iteration either ends, uses a tool call, or uses a format retry.
      for (let iteration = 0; iteration < options.maxToolCalls + this.maxFormatRetries + 2; iteration++) {
        if (signal?.aborted === true) throw new VrGrpoError('ABORTED', 'judgment aborted', { details: { reason: 'aborted' } });
        const input = window();
        const visible = input.flatMap((m) => m.images.map((i) => i.index));
        const t0 = performance.now();
        const reply = await this.reasoner.next(
          {
            conversationId,
            prompt: request.prompt,
            mode: request.mode,
            videoFrameCounts: counts,
            videoKeys,
            messages: input,
            toolCallsLeft: imageBudgetSpent ? 0 : options.maxToolCalls - toolCalls,
            maxToolCalls: options.maxToolCalls,
            maxFramesPerCall: options.maxFramesPerCall,
            ...(wholeClip === undefined ? {} : { wholeClip }),
            ...(viewSetFrames === undefined ? {} : { viewSetFrames }),
          },
          signal,
        );
        const { text, contextTokens } = typeof reply === 'string' ? { text: reply, contextTokens: undefined } : reply;
        backendMs += performance.now() - t0;
        pushTurn({ index: turns.length, role: 'assistant', text, framesShown: visible });
        hallucinations.push(...unseenReferences(text, shown));
        messages.push({ role: 'assistant', text, images: [], toolRound: null });
        const parsed = parseTurn(text, request.mode);
        if (parsed.kind === 'answer' && request.mode === 'pairwise') return finish(parsed.answer, null, false);
        if (parsed.kind === 'pointwise_answer' && request.mode === 'pointwise') return finish(null, parsed.scores, false);
        if (parsed.kind === 'tool_call' && parsed.recommend !== null) lastRecommend = parsed.recommend;
        if (this.tokenBudget !== null && contextTokens !== undefined && contextTokens > this.tokenBudget) {
          // The context is full: no further request can be made, so the conversation ends here.
          if (lastRecommend !== null && request.mode === 'pairwise') return finish(lastRecommend, null, true);
          throw new VrGrpoError('FORMAT_ERROR', `the judge reached ${contextTokens} context tokens (budget ${this.tokenBudget}) without a final answer`, {
            details: { contextTokens, tokenBudget: this.tokenBudget },
          });
        }
        if (parsed.kind === 'tool_call') {
          if (toolCalls >= options.maxToolCalls || imageBudgetSpent) {
            if (lastRecommend !== null && request.mode === 'pairwise') return finish(lastRecommend, null, true);
            formatErrors += 1;
            const why = imageBudgetSpent ? `No more frames can be shown (at most ${this.maxImages} images).` : 'No tool calls are left.';
            messages.push({ role: 'user', text: `${why} Give your final <answer> now.`, images: [], toolRound: null });
            continue;
          }
          toolCalls += 1;
          const round = toolCalls;
          let error: string | null = null;
          let frames: number[] = [];
          if (!parsed.call.ok) error = `Error: ${parsed.call.reason}. Call select_frames with {"target_frames": [frame numbers]}.`;
          else {
            frames = [...new Set(parsed.call.targetFrames)];
            const outOfRange = frames.filter((f) => f < 1 || f > total);
            if (frames.length === 0) error = 'Error: target_frames is empty. Think again about which frames you need.';
            else if (frames.length > options.maxFramesPerCall) {
              error = `Error: you selected ${frames.length} frames, but at most ${options.maxFramesPerCall} frames can be selected per call. Think again about which frames you really need.`;
            } else if (outOfRange.length > 0) error = `Error: frame index ${outOfRange.join(', ')} is out of range; the valid range is [1,${total}].`;
          }
          if (error !== null) {
            hallucinations.push({ kind: 'invalid_selection', detail: error.replace(/^Error: /, '') });
            messages.push({ role: 'tool', text: error, images: [], toolRound: round });
            pushTurn({ index: turns.length, role: 'tool', text: error, framesShown: [] });
            continue;
          }
          frames.sort((a, b) => a - b);
          if (imagesShown + frames.length > this.maxImages) {
            // The image budget ends the look-around like the tool budget does (not the judge's fault: no hallucination).
            if (lastRecommend !== null && request.mode === 'pairwise') return finish(lastRecommend, null, true);
            imageBudgetSpent = true;
            const budgetText = `No more frames can be shown: ${imagesShown} of at most ${this.maxImages} images were shown already. Give your final answer from what you have seen.`;
            messages.push({ role: 'tool', text: budgetText, images: [], toolRound: round });
            pushTurn({ index: turns.length, role: 'tool', text: budgetText, framesShown: [] });
            continue;
          }
          imagesShown += frames.length;
          const images = await fetch(frames);
          for (const f of frames) shown.add(f);
          const toolText = `Here are the selected frames: ${frames.join(', ')}.`;
          messages.push({ role: 'tool', text: toolText, images, toolRound: round });
          pushTurn({ index: turns.length, role: 'tool', text: toolText, framesShown: frames });
          continue;
        }
        // Unparseable (or the wrong kind of answer for the mode).
        formatErrors += 1;
        if (formatErrors > this.maxFormatRetries) {
          if (lastRecommend !== null && request.mode === 'pairwise') return finish(lastRecommend, null, true);
          throw new VrGrpoError(
            'FORMAT_ERROR',
            `the judge gave no parseable answer after ${formatErrors} attempts (${parsed.kind === 'invalid' ? parsed.reason : 'wrong answer kind'})`,
          );
        }
        const reason = parsed.kind === 'invalid' ? parsed.reason : `a ${request.mode} answer is expected`;
        messages.push({
          role: 'user',
          text: `Your reply could not be used (${reason}). Reply with a <tool_call> or a final <answer>.`,
          images: [],
          toolRound: null,
        });
      }
      if (lastRecommend !== null && request.mode === 'pairwise') return finish(lastRecommend, null, true);
      throw new VrGrpoError('FORMAT_ERROR', 'the judge did not answer within its turn budget');
    } catch (e) {
      this.reasoner.release(conversationId);
      if (isVrGrpoError(e)) throw e;
      throw new VrGrpoError('JUDGE_FAILED', `judge backend failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  close(): Promise<void> {
    return this.reasoner.close();
  }
}

function mergeSorted(a: readonly number[] | undefined, b: readonly number[] | undefined): number[] {
  return [...new Set([...(a ?? []), ...(b ?? [])])].sort((x, y) => x - y);
}
