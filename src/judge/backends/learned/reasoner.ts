/**
 * The learned reasoner: the same perception and evidence as the embedded judge, but a trained policy decides each
 * turn — look at more frames (which candidate slots) or answer, and with which per-dimension answer. Its turns are
 * VR-Thinker text (`<snapshot>`, `<think>`, `<recommend answer>` + `<tool_call>`, or a final `<answer>`; in the
 * overall-only ablation the released code's `<final answer> \boxed{k}`), so they run through the judge engine's tool
 * rules, memory window and checks like any backend's. Evaluation decodes greedily; training samples and records each
 * turn's features, action and exact log-probability through `onStep`.
 *
 * Pointwise requests have no learned head (the policy judges pairs): they get the evidence scores from the frames
 * shown, without tool calls.
 */
import type { Rng } from '../../../common/rng.js';
import { VrGrpoError } from '../../../errors/index.js';
import type { PointwiseScores } from '../../../protocol/index.js';
import { formatPairwise, renderTurn } from '../../format.js';
import type { Reasoner, ReasonerInput } from '../../reasoner.js';
import type { VideoEvidence } from '../embedded/evidence.js';
import type { PerceptionCache } from '../embedded/perception-cache.js';
import type { PerceptionPort } from '../embedded/reasoner.js';
import type { TimelineEvidence } from '../embedded/timeline.js';
import { actionLogProb, decodeAction, logSoftmax, type ActionContext, type Decoding, type PolicyAction } from './action.js';
import type { AnswerMode, PolicyLogits } from './heads.js';
import { judgeLayout, slotFramesIn, type LayoutName } from './layout.js';
import { ObservationTracker, type Observation } from './observation.js';
import type { PolicyPort } from './policy-port.js';
import { SEGMENTS_PER_VIDEO } from './slots.js';

/** One pairwise turn as the policy took it. */
export interface RecordedStep {
  readonly features: Float32Array;
  readonly context: ActionContext;
  readonly action: PolicyAction;
  /** log π(action | features) under the policy that acted. */
  readonly logProb: number;
  /** Frames the turn asked for (empty for an answer). */
  readonly frames: readonly number[];
}

export interface LearnedReasonerOptions {
  /** Judge version reported in verdicts (the checkpoint's). */
  readonly version: string;
  readonly answerMode: AnswerMode;
  /** Observation and slot layout (the checkpoint's): `v1` (default) or `temporal` (world v2). */
  readonly layout?: LayoutName;
  /** Default greedy (VR-Thinker evaluates at temperature 0). */
  readonly decoding?: Decoding;
  /** Tool calls the policy may make per conversation (the engine's budget also applies). Default 3. */
  readonly maxOwnToolCalls?: number;
  /** Ablation "random frame selection": when set, a `select` turn asks for as many random unseen frames instead. */
  readonly randomFrames?: Rng | null;
  /**
   * Frames of keyed videos (ReasonerInput.videoKeys) perceived once and reused across conversations, as the embedded
   * reasoner does for a group's comparisons. Default null (none; training rollouts bring their own cache).
   */
  readonly perceptionCache?: PerceptionCache | null;
  /** Called for every pairwise turn (training records traces with it). */
  readonly onStep?: (conversationId: string, step: RecordedStep) => void;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new VrGrpoError('ABORTED', 'aborted', { details: { reason: 'aborted' } });
}

const fmt = (x: number): string => x.toFixed(2);
const round2 = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;

export class LearnedReasoner implements Reasoner {
  readonly name = 'learned';
  readonly rmVersion: string;
  /** The perception cache across conversations, or null. */
  readonly cache: PerceptionCache | null;
  private readonly tracker: ObservationTracker;
  private readonly decoding: Decoding;
  private readonly maxOwnToolCalls: number;
  private readonly layout: LayoutName;

  constructor(
    private readonly perception: PerceptionPort,
    private readonly policy: PolicyPort,
    private readonly options: LearnedReasonerOptions,
  ) {
    this.rmVersion = options.version;
    this.layout = options.layout ?? 'v1';
    this.cache = options.perceptionCache ?? null;
    this.tracker = new ObservationTracker(perception, this.layout, this.cache);
    this.decoding = options.decoding ?? { kind: 'greedy' };
    this.maxOwnToolCalls = options.maxOwnToolCalls ?? 3;
  }

  async next(input: ReasonerInput, signal?: AbortSignal): Promise<string> {
    throwIfAborted(signal);
    const obs = await this.tracker.observe(input);
    const snapshot = (
      this.layout === 'temporal' ? obs.timeline.map((e, k) => describeTimeline(e, k, obs)) : obs.evidence.map((e, k) => describe(e, k, obs))
    ).join(' ');
    if (input.mode === 'pointwise' || obs.features === null) {
      const [v] = obs.estimates;
      if (v === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pointwise needs a video');
      const scores: PointwiseScores = { TA: round2(v.TA), MQ: round2(v.MQ), VQ: round2(v.VQ), overall: round2(v.overall) };
      return renderTurn({ snapshot, think: `Scores from the frames seen: overall ${fmt(v.overall)}.`, pointwise: scores });
    }
    const ownCalls = input.messages.filter((m) => m.role === 'tool').length;
    const context: ActionContext = { selectAllowed: input.toolCallsLeft > 0 && ownCalls < this.maxOwnToolCalls, answerMode: this.options.answerMode };
    const logits = await this.policy.evaluate(obs.features);
    throwIfAborted(signal);
    const action = decodeAction(logits, context, this.decoding);
    const logProb = actionLogProb(logits, action, context);
    const [a, b] = obs.estimates;
    if (a === undefined || b === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pairwise needs two videos');
    const pLook = context.selectAllowed ? Math.exp(logSoftmax(logits.act)[0] ?? -Infinity) : 0;
    const weighed = `Overall ${fmt(a.overall)} vs ${fmt(b.overall)} (TA ${fmt(a.TA)} vs ${fmt(b.TA)}, MQ ${fmt(a.MQ)} vs ${fmt(b.MQ)}, VQ ${fmt(a.VQ)} vs ${fmt(b.VQ)}), certainty ${fmt(a.certainty)} / ${fmt(b.certainty)}; p(look closer) ${fmt(pLook)}.`;
    let text: string;
    let frames: number[] = [];
    if (action.kind === 'select') {
      frames = this.framesFor(action, logits, obs, input.maxFramesPerCall);
      const where = describeSlots(action.slots, this.layout);
      text = renderTurn({ snapshot, think: `${weighed} I will look closer at ${where}.`, recommend: action.answer, toolFrames: frames });
      this.tracker.setRecommend(input.conversationId, action.answer);
    } else if (this.options.answerMode === 'overall-only') {
      text = `<snapshot>${snapshot}</snapshot>\n<think>${weighed}</think>\n<final answer> Video ${action.answer.OA === 0 ? 'neither' : action.answer.OA} is better overall. \\boxed{${action.answer.OA}} </final answer>`;
    } else {
      text = renderTurn({ snapshot, think: `${weighed} Answer: ${formatPairwise(action.answer)}.`, answer: action.answer });
    }
    this.options.onStep?.(input.conversationId, { features: obs.features, context, action, logProb, frames });
    return text;
  }

  /**
   * Frames for a `select` action: the chosen slots in order of their logits, each mapped to frames, until
   * `maxFramesPerCall` (the engine's per-call limit) is reached. With `randomFrames`, as many random unseen frames.
   */
  private framesFor(action: PolicyAction, logits: PolicyLogits, obs: Observation, maxFramesPerCall: number): number[] {
    const chosen = action.slots.flatMap((on, i) => (on ? [i] : [])).sort((x, y) => (logits.slots[y] ?? 0) - (logits.slots[x] ?? 0));
    const taken = new Set(obs.seen);
    const out: number[] = [];
    for (const slot of chosen) {
      const room = maxFramesPerCall - out.length;
      if (room <= 0) break;
      for (const f of slotFramesIn(this.layout, slot, obs.counts, taken).slice(0, room)) {
        out.push(f);
        taken.add(f);
      }
    }
    const rng = this.options.randomFrames;
    if (rng !== undefined && rng !== null) {
      const total = obs.counts.reduce((s, c) => s + c, 0);
      const unseen = rng.shuffle(Array.from({ length: total }, (_, i) => i + 1).filter((f) => !obs.seen.has(f)));
      const n = Math.max(1, out.length);
      return (unseen.length > 0 ? unseen.slice(0, n) : out).sort((x, y) => x - y);
    }
    return out.sort((x, y) => x - y);
  }

  release(conversationId: string): void {
    this.tracker.release(conversationId);
  }

  async close(): Promise<void> {
    this.tracker.clear();
    await Promise.allSettled([this.policy.close()]);
    await this.perception.close();
  }
}

/** "segments 1 and 3 of video 2" (v1) or "eighths 2, 3 of the clip" (temporal) wording (no frame numbers: the tool call carries those). */
function describeSlots(slots: readonly boolean[], layout: LayoutName): string {
  if (layout === 'temporal') {
    const on = slots.slice(0, judgeLayout(layout).segmentsPerVideo).flatMap((x, s) => (x ? [s + 1] : []));
    return on.length === 0 ? 'more frames' : `${on.length === 1 ? 'eighth' : 'eighths'} ${on.join(', ')} of the clip in both videos`;
  }
  const parts: string[] = [];
  for (let v = 0; v < 2; v++) {
    const segs = slots.slice(v * SEGMENTS_PER_VIDEO, (v + 1) * SEGMENTS_PER_VIDEO).flatMap((on, s) => (on ? [s + 1] : []));
    if (segs.length > 0) parts.push(`${segs.length === 1 ? 'segment' : 'segments'} ${segs.join(', ')} of video ${v + 1}`);
  }
  return parts.length === 0 ? 'more frames' : parts.join(' and ');
}

function describe(e: VideoEvidence, k: number, obs: Observation): string {
  const name = obs.counts.length === 1 ? 'The video' : `Video ${k + 1}`;
  const offset = obs.offsets[k] ?? 0;
  const frames = e.framesUsed.map((f) => f + offset + 1);
  const objs = e.objects
    .map((o, j) => {
      const want = obs.spec?.objects[j];
      const what = want === undefined ? 'the object' : `the ${want.colour} ${want.shape}`;
      return `${what}: colour ${fmt(o.colour)}, shape ${fmt(o.shape)}, moving (${o.vx.toFixed(1)}, ${o.vy.toFixed(1)}) px per frame, motion match ${fmt(o.motion)}`;
    })
    .join('; ');
  return `${name}, seen at frames ${frames.join(', ')}: ${objs}; background ${fmt(e.background)}; MQ ${fmt(e.MQ)}, VQ ${fmt(e.VQ)}.`;
}

/** A world-v2 snapshot sentence: per object its checks and the change seen (between which seen frames), then local defects. */
function describeTimeline(e: TimelineEvidence, k: number, obs: Observation): string {
  const name = obs.counts.length === 1 ? 'The video' : `Video ${k + 1}`;
  const g = (f: number): number => f + (obs.offsets[k] ?? 0) + 1;
  const objs = e.objects
    .map((o, j) => {
      const want = obs.spec?.objects[j];
      const what = want === undefined ? 'the object' : `the ${want.colour} ${want.shape}`;
      const change =
        o.detected === null ? 'no change seen' : `${o.detected.kind} between frames ${g(o.detected.bracket.before)} and ${g(o.detected.bracket.after)}`;
      return `${what}: colour ${fmt(o.colour)}, shape ${fmt(o.shape)}, motion match ${fmt(o.motion)}, ${change} (event match ${fmt(o.event)})`;
    })
    .join('; ');
  const defects =
    e.defects.length === 0
      ? 'no local defect seen'
      : e.defects
          .map(
            (d) =>
              `${d.kind}${d.frames.length > 0 ? ` at frames ${d.frames.map(g).join(', ')}` : d.bracket === undefined ? '' : ` between frames ${g(d.bracket.before)} and ${g(d.bracket.after)}`}`,
          )
          .join('; ');
  return `${name}, seen at frames ${e.framesUsed.map(g).join(', ')}: ${objs}; ${defects}; MQ ${fmt(e.MQ)}, VQ ${fmt(e.VQ)}.`;
}
