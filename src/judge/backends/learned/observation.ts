/**
 * Per-conversation observation state of the learned judge: perceives the images present in the reasoner's input (only
 * those — what was perceived earlier survives as the judge's own notes, as for the embedded reasoner), turns the frames
 * seen so far into evidence per video, and builds the policy's feature vector. Shared by the learned reasoner and by
 * the cold-start recorder that observes the rule-based teacher. In the `temporal` layout (world v2) the evidence is the
 * embedded judge's timeline (events, their moments, local defects) and the features are temporal-features.ts's.
 */
import { VrGrpoError } from '../../../errors/index.js';
import type { PairwiseAnswer } from '../../../protocol/index.js';
import { tryParsePrompt, type PromptSpec } from '../../../world/index.js';
import type { ReasonerInput } from '../../reasoner.js';
import { videoEvidence, type PerceivedFrame, type QualitySignals, type VideoEvidence } from '../embedded/evidence.js';
import { perceiveKeyed, type PerceptionCache } from '../embedded/perception-cache.js';
import type { PerceptionPort } from '../embedded/reasoner.js';
import { timelineEvidence, type TimelineEvidence } from '../embedded/timeline.js';
import { observationFeatures } from './features.js';
import type { LayoutName } from './layout.js';
import { videoOffsets } from './slots.js';
import { temporalObservationFeatures } from './temporal-features.js';

/** The scores an answer is read from (v1 evidence and the timeline both have them). */
export type Estimate = Pick<VideoEvidence, 'TA' | 'MQ' | 'VQ' | 'overall' | 'certainty'>;

/** A caption outside the world's grammar is judged against this stand-in (its text alignment is then set to 0.5). */
const STAND_IN: PromptSpec = { objects: [{ colour: 'red', shape: 'circle', motion: 'still', speed: null }], background: 'black' };

/** What the judge knows at one turn. */
export interface Observation {
  readonly spec: PromptSpec | null;
  readonly counts: readonly number[];
  readonly offsets: readonly number[];
  /** Per video: the v1 evidence (`v1` layout; empty in `temporal`). */
  readonly evidence: readonly VideoEvidence[];
  /** Per video: the timeline evidence (`temporal` layout; empty in `v1`). */
  readonly timeline: readonly TimelineEvidence[];
  /** Per video: the scores an answer is read from (of `evidence` or `timeline`). */
  readonly estimates: readonly Estimate[];
  readonly signals: readonly QualitySignals[];
  /** 1-based frames of the shared index space perceived so far. */
  readonly seen: ReadonlySet<number>;
  /** Assistant turns before this one. */
  readonly turn: number;
  readonly toolCallsLeft: number;
  readonly lastCallFailed: boolean;
  readonly recommend: PairwiseAnswer | null;
  /** The policy's input (pairwise only; null for pointwise). */
  readonly features: Float32Array | null;
}

interface Scratch {
  readonly seen: Map<number, PerceivedFrame>;
  width: number;
  height: number;
  recommend: PairwiseAnswer | null;
}

export class ObservationTracker {
  private readonly scratch = new Map<string, Scratch>();

  constructor(
    private readonly perception: PerceptionPort,
    private readonly layout: LayoutName = 'v1',
    /** Perception of keyed videos reused across conversations (a group's comparisons); null: none. */
    private readonly cache: PerceptionCache | null = null,
  ) {}

  /** Perceives the new images of `input` and returns the observation for the turn to write. */
  async observe(input: ReasonerInput): Promise<Observation> {
    let s = this.scratch.get(input.conversationId);
    if (s === undefined) {
      s = { seen: new Map(), width: 0, height: 0, recommend: null };
      this.scratch.set(input.conversationId, s);
    }
    const fresh = input.messages.flatMap((m) => m.images).filter((img) => !s.seen.has(img.index));
    const unique = [...new Map(fresh.map((f) => [f.index, f])).values()];
    const first = unique[0];
    if (first !== undefined) {
      s.width = first.width;
      s.height = first.height;
      for (const p of await perceiveKeyed(this.perception, this.cache, input, unique, s.width, s.height)) s.seen.set(p.frameIndex, p);
    }
    const spec = tryParsePrompt(input.prompt);
    const counts = input.videoFrameCounts;
    const offsets = videoOffsets(counts);
    const lastTool = [...input.messages].reverse().find((m) => m.role === 'tool');
    const lastMessage = input.messages.at(-1);
    const lastCallFailed = lastTool !== undefined && lastMessage === lastTool && lastTool.images.length === 0 && lastTool.droppedImages.length === 0;
    const turn = input.messages.filter((m) => m.role === 'assistant').length;
    const seenOf = (k: number): number[] =>
      [...s.seen.keys()].filter((g) => g > (offsets[k] ?? 0) && g <= (offsets[k] ?? 0) + (counts[k] ?? 0)).map((g) => g - (offsets[k] ?? 0) - 1);
    const common = { spec, counts, offsets, seen: new Set(s.seen.keys()), turn, toolCallsLeft: input.toolCallsLeft, lastCallFailed, recommend: s.recommend };
    if (this.layout === 'temporal') {
      const perVideo = counts.map((count, k) => this.timelineFor(spec, s, offsets[k] ?? 0, count));
      let features: Float32Array | null = null;
      if (input.mode === 'pairwise') {
        const [a, b] = perVideo;
        if (a === undefined || b === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pairwise needs two videos');
        features = temporalObservationFeatures({
          timeline: [a.timeline, b.timeline],
          signals: [a.signals, b.signals],
          seen: [seenOf(0), seenOf(1)],
          counts: [counts[0] ?? 0, counts[1] ?? 0],
          spec,
          turn,
          toolCallsLeft: input.toolCallsLeft,
          lastCallFailed,
          recommend: s.recommend,
        });
      }
      const timeline = perVideo.map((v) => v.timeline);
      return { ...common, evidence: [], timeline, estimates: timeline, signals: perVideo.map((v) => v.signals), features };
    }
    const perVideo = counts.map((count, k) => this.evidenceFor(spec, s, offsets[k] ?? 0, count));
    let features: Float32Array | null = null;
    if (input.mode === 'pairwise') {
      const [a, b] = perVideo;
      if (a === undefined || b === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pairwise needs two videos');
      features = observationFeatures({
        evidence: [a.evidence, b.evidence],
        signals: [a.signals, b.signals],
        seen: [seenOf(0), seenOf(1)],
        counts: [counts[0] ?? 0, counts[1] ?? 0],
        turn,
        toolCallsLeft: input.toolCallsLeft,
        lastCallFailed,
        recommend: s.recommend,
        promptKnown: spec !== null,
        objects: spec?.objects.length ?? 1,
      });
    }
    const evidence = perVideo.map((v) => v.evidence);
    return { ...common, evidence, timeline: [], estimates: evidence, signals: perVideo.map((v) => v.signals), features };
  }

  /** Notes the answer recommended on a tool turn (it becomes part of the next observation). */
  setRecommend(conversationId: string, answer: PairwiseAnswer | null): void {
    const s = this.scratch.get(conversationId);
    if (s !== undefined) s.recommend = answer;
  }

  /** Size of the frames perceived in a conversation (0 × 0 before any). */
  frameSize(conversationId: string): { width: number; height: number } {
    const s = this.scratch.get(conversationId);
    return { width: s?.width ?? 0, height: s?.height ?? 0 };
  }

  release(conversationId: string): void {
    this.scratch.delete(conversationId);
  }

  clear(): void {
    this.scratch.clear();
  }

  private framesOf(s: Scratch, offset: number, count: number): PerceivedFrame[] {
    return [...s.seen.values()]
      .filter((p) => p.frameIndex > offset && p.frameIndex <= offset + count)
      .map((p) => ({ ...p, frameIndex: p.frameIndex - offset - 1 }));
  }

  private timelineFor(spec: PromptSpec | null, s: Scratch, offset: number, count: number): { timeline: TimelineEvidence; signals: QualitySignals } {
    const frames = this.framesOf(s, offset, count);
    const signals = this.perception.signals(frames, s.width, s.height);
    const t = timelineEvidence(spec ?? STAND_IN, frames, count, s.width / 64, (fr) => this.perception.signals(fr, s.width, s.height));
    if (spec !== null) return { timeline: t, signals };
    return { timeline: { ...t, TA: 0.5, overall: 0.6 * 0.5 + 0.2 * t.MQ + 0.2 * t.VQ }, signals };
  }

  private evidenceFor(spec: PromptSpec | null, s: Scratch, offset: number, count: number): { evidence: VideoEvidence; signals: QualitySignals } {
    const frames = this.framesOf(s, offset, count);
    const signals = this.perception.signals(frames, s.width, s.height);
    // A caption outside the world's grammar gives no checkable attributes: text alignment is then uninformative (0.5).
    const e = videoEvidence(spec ?? STAND_IN, frames, signals, s.width / 64);
    if (spec !== null) return { evidence: e, signals };
    const TA = 0.5;
    return { evidence: { ...e, TA, overall: 0.6 * TA + 0.2 * e.MQ + 0.2 * e.VQ }, signals };
  }
}
