/**
 * Running judgments for training and measurement: gold pairs (with cached perception) through the real judge engine,
 * with the learned reasoner (sampling or greedy) or the rule-based teacher, collecting one {@link Trace} per judgment.
 * Judgments run one at a time, so the steps recorded between a judgment's start and end are exactly its own.
 */
import type { Rng } from '../common/rng.js';
import { isVrGrpoError } from '../errors/index.js';
import { EmbeddedReasoner, type EmbeddedReasonerOptions } from '../judge/backends/embedded/index.js';
import {
  LearnedReasoner,
  ObservationTracker,
  SLOT_COUNT,
  framesToSlotsIn,
  type AnswerMode,
  type LayoutName,
  type Decoding,
  type PolicyAction,
  type PolicyPort,
  type RecordedStep,
} from '../judge/backends/learned/index.js';
import { JudgeEngine, type ResolvedJudgeOptions } from '../judge/engine.js';
import { parseTurn } from '../judge/format.js';
import type { Judgment } from '../judge/judge-service.js';
import type { Reasoner, ReasonerInput } from '../judge/reasoner.js';
import type { JudgeOptions, PairwiseAnswer, VerdictAnswer } from '../protocol/index.js';
import type { PerceptionCache } from './cached-perception.js';
import type { PerceivedPair } from './perceived-pairs.js';
import type { Trace } from './trace.js';

/** Engine options of training judgments (the served defaults: 8 initial frames, ≤ 3 calls of ≤ 8 frames, window 1). */
export type RolloutJudgeOptions = Partial<Pick<ResolvedJudgeOptions, 'initialFrames' | 'maxToolCalls' | 'memoryWindow' | 'maxFramesPerCall'>>;

function toTrace(pair: PerceivedPair, steps: readonly RecordedStep[], answers: readonly VerdictAnswer[], v: Judgment | null): Trace {
  const successfulCalls = (v?.turns ?? []).filter((t) => t.role === 'tool' && t.framesShown.length > 0).length;
  return {
    pairId: pair.id,
    gold: pair.gold,
    ...(pair.local === undefined ? {} : { local: pair.local }),
    steps,
    answers,
    final: v?.answer ?? null,
    toolCalls: v?.toolCalls ?? 0,
    successfulCalls,
    framesViewed: v === null ? 0 : v.framesViewed.reduce((s, f) => s + f.length, 0),
    formatErrors: v?.formatErrors ?? 0,
    forced: v?.forced ?? false,
    hallucinations: v?.hallucinations ?? [],
    failed: v === null,
    unrepresentable: 0,
  };
}

/**
 * One judgment; null when the judge itself failed to answer (FORMAT_ERROR: a failed trace, scored as such). Any other
 * error (a cache miss, a backend bug) is not the judge's answer and propagates instead of becoming a silent failure.
 */
async function judgeOne(engine: JudgeEngine, cache: PerceptionCache, pair: PerceivedPair, id: string, options: JudgeOptions): Promise<Judgment | null> {
  try {
    return await engine.judge({ id, prompt: pair.prompt, mode: 'pairwise', videos: cache.sources(pair), options: { ...options, trace: true } }, {});
  } catch (e) {
    if (isVrGrpoError(e) && e.code === 'FORMAT_ERROR') return null;
    throw e;
  }
}

export interface PolicyRolloutOptions {
  readonly answerMode: AnswerMode;
  /** The policy's observation and slot layout. Default `v1`. */
  readonly layout?: LayoutName;
  readonly decoding: Decoding;
  /** Traces per pair (a GRPO group). Default 1. */
  readonly samplesPerPair?: number;
  readonly maxOwnToolCalls?: number;
  /** Ablation: random frames instead of the policy's slots. */
  readonly randomFrames?: Rng | null;
  readonly judge?: RolloutJudgeOptions;
  readonly version?: string;
}

/** Traces of the policy on `pairs` (pair-major: the samples of one pair are adjacent). */
export async function policyTraces(policy: PolicyPort, cache: PerceptionCache, pairs: readonly PerceivedPair[], o: PolicyRolloutOptions): Promise<Trace[]> {
  let steps: RecordedStep[] = [];
  const reasoner = new LearnedReasoner(cache.port(), policy, {
    version: o.version ?? 'learned-rollout',
    answerMode: o.answerMode,
    layout: o.layout ?? 'v1',
    decoding: o.decoding,
    ...(o.maxOwnToolCalls === undefined ? {} : { maxOwnToolCalls: o.maxOwnToolCalls }),
    randomFrames: o.randomFrames ?? null,
    onStep: (_, step) => steps.push(step),
  });
  const engine = new JudgeEngine(reasoner, { maxFormatRetries: 0 });
  const traces: Trace[] = [];
  let n = 0;
  for (const pair of pairs) {
    for (let k = 0; k < (o.samplesPerPair ?? 1); k++) {
      steps = [];
      const v = await judgeOne(engine, cache, pair, `r${n++}`, o.judge ?? {});
      traces.push(
        toTrace(
          pair,
          steps,
          steps.map((s) => s.action.answer),
          v,
        ),
      );
    }
  }
  return traces;
}

/**
 * The rule-based teacher with a recorder: before each teacher turn the learned judge's observation is built from the
 * same input, and after it the teacher's text is read back as a policy action (its `select_frames` frames projected
 * onto slots, its recommended or final answer) — what cold start imitates.
 */
class RecordingTeacher implements Reasoner {
  readonly name = 'teacher';
  readonly rmVersion: string;
  private readonly tracker: ObservationTracker;

  constructor(
    private readonly teacher: EmbeddedReasoner,
    cache: PerceptionCache,
    private readonly answerMode: AnswerMode,
    private readonly maxOwnToolCalls: number,
    private readonly layout: LayoutName,
    /** A turn's step, or null for a turn the policy's actions cannot express. */
    private readonly record: (step: RecordedStep | null) => void,
  ) {
    this.rmVersion = teacher.rmVersion;
    this.tracker = new ObservationTracker(cache.port(), layout);
  }

  async next(input: ReasonerInput, signal?: AbortSignal): Promise<string> {
    const obs = await this.tracker.observe(input);
    const text = await this.teacher.next(input, signal);
    const parsed = parseTurn(text, input.mode);
    const ownCalls = input.messages.filter((m) => m.role === 'tool').length;
    const context = { selectAllowed: input.toolCallsLeft > 0 && ownCalls < this.maxOwnToolCalls, answerMode: this.answerMode };
    let action: PolicyAction | null = null;
    let frames: number[] = [];
    // The policy's answer heads need every dimension: overall-only mode mirrors OA; otherwise a teacher answer that
    // leaves a dimension out cannot be expressed (the rule-based teacher always gives all).
    const asAction = (a: VerdictAnswer): PairwiseAnswer | null => {
      if (this.answerMode === 'overall-only') return { TA: a.OA, MQ: a.OA, VQ: a.OA, OA: a.OA, CF: 2 };
      return a.TA === undefined || a.MQ === undefined || a.VQ === undefined || a.CF === undefined ? null : { TA: a.TA, MQ: a.MQ, VQ: a.VQ, OA: a.OA, CF: a.CF };
    };
    const recommend = parsed.kind === 'tool_call' && parsed.recommend !== null ? asAction(parsed.recommend) : null;
    if (parsed.kind === 'tool_call' && parsed.call.ok && recommend !== null) {
      frames = [...parsed.call.targetFrames];
      const slots = framesToSlotsIn(this.layout, frames, input.videoFrameCounts);
      if (slots.some(Boolean)) action = { kind: 'select', slots, answer: recommend };
      this.tracker.setRecommend(input.conversationId, recommend);
    } else if (parsed.kind === 'answer') {
      const answer = asAction(parsed.answer);
      if (answer !== null) action = { kind: 'answer', slots: new Array<boolean>(SLOT_COUNT).fill(false), answer };
    }
    this.record(action !== null && obs.features !== null ? { features: obs.features, context, action, logProb: Number.NaN, frames } : null);
    return text;
  }

  release(conversationId: string): void {
    this.tracker.release(conversationId);
    this.teacher.release(conversationId);
  }

  async close(): Promise<void> {
    this.tracker.clear();
    await this.teacher.close();
  }
}

export interface TeacherRolloutOptions {
  readonly answerMode: AnswerMode;
  /**
   * The learned judge's layout the teacher's turns are recorded in. Default `v1`. With `temporal` the teacher reasons
   * about time (`temporal: true`: timeline and planner) unless `teacher` says otherwise.
   */
  readonly layout?: LayoutName;
  readonly maxOwnToolCalls?: number;
  readonly teacher?: EmbeddedReasonerOptions;
  readonly judge?: RolloutJudgeOptions;
}

/**
 * Teacher traces: the rule-based embedded reasoner thinking with images over the full index space (its own uncertainty
 * decides when and where to look), one per pair. Turns the policy's action space cannot express (no recommended
 * answer, an empty projection) are counted in `unrepresentable`; such traces fail the format filter.
 */
export async function teacherTraces(cache: PerceptionCache, pairs: readonly PerceivedPair[], o: TeacherRolloutOptions): Promise<Trace[]> {
  let steps: RecordedStep[] = [];
  let unrepresentable = 0;
  const layout = o.layout ?? 'v1';
  const teacherOptions = layout === 'temporal' ? { temporal: true, ...o.teacher } : o.teacher;
  const teacher = new RecordingTeacher(new EmbeddedReasoner(cache.port(), teacherOptions), cache, o.answerMode, o.maxOwnToolCalls ?? 3, layout, (step) => {
    if (step === null) unrepresentable += 1;
    else steps.push(step);
  });
  const engine = new JudgeEngine(teacher, { maxFormatRetries: 0 });
  const traces: Trace[] = [];
  for (const [i, pair] of pairs.entries()) {
    steps = [];
    unrepresentable = 0;
    const v = await judgeOne(engine, cache, pair, `t${i}`, o.judge ?? {});
    traces.push({
      ...toTrace(
        pair,
        steps,
        steps.map((s) => s.action.answer),
        v,
      ),
      unrepresentable,
    });
  }
  return traces;
}

/** Judgments of any engine on the pairs (for the rule-based rows of the measurements). */
export async function engineTraces(
  engine: JudgeEngine,
  cache: PerceptionCache,
  pairs: readonly PerceivedPair[],
  judge: RolloutJudgeOptions = {},
): Promise<Trace[]> {
  const traces: Trace[] = [];
  for (const [i, pair] of pairs.entries()) {
    const v = await judgeOne(engine, cache, pair, `e${i}`, judge);
    const answers = (v?.turns ?? []).flatMap((t) => {
      if (t.role !== 'assistant') return [];
      const p = parseTurn(t.text, 'pairwise');
      return p.kind === 'answer' ? [p.answer] : p.kind === 'tool_call' && p.recommend !== null ? [p.recommend] : [];
    });
    traces.push(toTrace(pair, [], answers, v));
  }
  return traces;
}
