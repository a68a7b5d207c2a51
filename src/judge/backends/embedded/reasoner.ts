/**
 * The embedded reasoner: perceives the frames it is shown (ONNX perception + measured signals), estimates TA/MQ/VQ/OA
 * per video, and writes VR-Thinker turns. It asks `select_frames` for more frames when its own estimate is uncertain
 * (close call between the videos, few motion samples, unsure classifier), choosing frames that resolve what is
 * uncertain: unseen frames between the ones seen, in adjacent pairs so jitter and flicker become measurable.
 *
 * Memory: the reasoner perceives only images present in its input; what it perceived in earlier turns survives as its
 * own notes (like the text of a VLM's earlier snapshots), so images dropped by the memory window are not re-read.
 */
import { Rng } from '../../../common/rng.js';
import { VrGrpoError } from '../../../errors/index.js';
import type { Confidence, PairwiseAnswer, PointwiseScores, Preference } from '../../../protocol/index.js';
import { tryParsePrompt, type PromptSpec } from '../../../world/index.js';
import { renderTurn } from '../../format.js';
import type { ImageRef, Reasoner, ReasonerInput } from '../../reasoner.js';
import { videoEvidence, type PerceivedFrame, type QualitySignals, type VideoEvidence } from './evidence.js';
import { hasOpenQuestions, planFrames, planRandomFrames, type PlannedVideo } from './frame-planner.js';
import { PerceptionCache, perceiveKeyed } from './perception-cache.js';
import { applyPlantedHack, clipEnergyExcess, hackedRmVersion, liftScores, type PlantedHack } from './planted-hack.js';
import { timelineEvidence, type TimelineEvidence } from './timeline.js';

/** The perception the reasoner needs (implemented by `Perception` + `videoSignals`). */
export interface PerceptionPort {
  readonly version: string;
  perceive(frames: readonly { readonly index: number; readonly rgb: Uint8Array }[], width: number, height: number): Promise<PerceivedFrame[]>;
  signals(frames: readonly PerceivedFrame[], width: number, height: number): QualitySignals;
  close(): Promise<void>;
}

export interface EmbeddedReasonerOptions {
  /** Below this certainty (0..1) of either video the reasoner looks closer. Default 0.5. */
  readonly certaintyFloor?: number;
  /** An overall difference below this is a close call worth a closer look. Default 0.06. */
  readonly closeCall?: number;
  /** Tool calls the reasoner makes at most per conversation (also bounded by the engine). Default 2. */
  readonly maxOwnToolCalls?: number;
  /** Preference thresholds per dimension (differences of estimated scores below them are ties). */
  readonly tie?: { readonly TA: number; readonly MQ: number; readonly VQ: number; readonly OA: number };
  /** TESTING AID (planted-hack.ts): over-reward one quality defect. Default null (off). */
  readonly plantedHack?: PlantedHack | null;
  /**
   * World v2: reason about time (timeline.ts: events, their moments, local defects) and choose frames with the
   * planner (frame-planner.ts). Default false (world v1's evidence, unchanged).
   */
  readonly temporal?: boolean;
  /** World v2 frame choice: 'thinking' (the planner, default) or 'random' (the benchmark's control). */
  readonly selection?: 'thinking' | 'random';
  /** 'random' selection: frames to add to the initial ones in all (≤ maxFramesPerCall per call). Default 24. */
  readonly randomFrames?: number;
  /** Seed of the 'random' selection. Default 0. */
  readonly selectionSeed?: number;
  /** World v2: an overall difference at or above this is decided without looking further. Default 0.25. */
  readonly decidedMargin?: number;
  /**
   * Frames of keyed videos (ReasonerInput.videoKeys) perceived once and reused across judgments: a cache, its bound in
   * frames, or null for none. Default: a cache of DEFAULT_PERCEPTION_CACHE_FRAMES.
   */
  readonly perceptionCache?: PerceptionCache | number | null;
  /**
   * World v2: share of a call's sweep frames given to the video in the lead. Default 0.5 (even): an uneven sweep finds
   * more defects in one video and biases MQ.
   */
  readonly leaderShare?: number;
}

/** The scores the answer is read from (v1 and v2 evidence both have them). */
type Estimate = Pick<VideoEvidence, 'TA' | 'MQ' | 'VQ' | 'overall' | 'certainty'>;

interface Scratch {
  /** Perceptions by global 1-based frame index. */
  readonly seen: Map<number, PerceivedFrame>;
  width: number;
  height: number;
}

const fmt = (x: number): string => x.toFixed(2);

export class EmbeddedReasoner implements Reasoner {
  readonly name = 'embedded';
  readonly rmVersion: string;
  /** TESTING AID: the `hiding` hack reads every frame of each video (ReasonerInput.wholeClip). */
  readonly wantsWholeClip: boolean;
  private readonly scratch = new Map<string, Scratch>();
  private readonly certaintyFloor: number;
  private readonly closeCall: number;
  private readonly maxOwnToolCalls: number;
  private readonly tie: { TA: number; MQ: number; VQ: number; OA: number };
  private readonly hack: PlantedHack | null;
  private readonly temporal: boolean;
  private readonly selection: 'thinking' | 'random';
  private readonly randomFrames: number;
  private readonly decidedMargin: number;
  private readonly leaderShare: number;
  private readonly selectionRng: Rng;
  /** Perceptions of keyed videos, reused across judgments (null: off). */
  readonly cache: PerceptionCache | null;

  constructor(
    private readonly perception: PerceptionPort,
    options: EmbeddedReasonerOptions = {},
  ) {
    this.hack = options.plantedHack ?? null;
    this.rmVersion = hackedRmVersion(perception.version, this.hack);
    this.wantsWholeClip = this.hack?.defect === 'hiding';
    this.certaintyFloor = options.certaintyFloor ?? 0.5;
    this.closeCall = options.closeCall ?? 0.06;
    this.maxOwnToolCalls = options.maxOwnToolCalls ?? 2;
    this.tie = { TA: 0.04, MQ: 0.1, VQ: 0.1, OA: 0.015, ...options.tie };
    this.temporal = options.temporal ?? false;
    if (this.hack?.defect === 'hiding' && !this.temporal)
      throw new VrGrpoError('CONFIG_INVALID', 'judge.plantedHack.defect: hiding needs the temporal judge of world v2 (world.version: 2)', {
        details: { field: 'judge.plantedHack.defect' },
      });
    this.selection = options.selection ?? 'thinking';
    this.randomFrames = options.randomFrames ?? 24;
    this.decidedMargin = options.decidedMargin ?? 0.25;
    this.leaderShare = options.leaderShare ?? 0.5;
    this.selectionRng = Rng.fromSeed(options.selectionSeed ?? 0);
    const c = options.perceptionCache;
    this.cache = c === null ? null : c instanceof PerceptionCache ? c : new PerceptionCache(c);
  }

  async next(input: ReasonerInput, signal?: AbortSignal): Promise<string> {
    if (signal?.aborted === true) throw new VrGrpoError('ABORTED', 'aborted', { details: { reason: 'aborted' } });
    let s = this.scratch.get(input.conversationId);
    if (s === undefined) {
      s = { seen: new Map(), width: 0, height: 0 };
      this.scratch.set(input.conversationId, s);
    }
    const offsets = input.videoFrameCounts.map((_, k) => input.videoFrameCounts.slice(0, k).reduce((a, b) => a + b, 0));
    const fresh = input.messages.flatMap((m) => m.images).filter((img) => !s.seen.has(img.index));
    if (fresh.length > 0) {
      const first = fresh[0];
      if (first !== undefined) {
        s.width = first.width;
        s.height = first.height;
      }
      await this.perceiveFresh(input, s, fresh);
    }
    const spec = tryParsePrompt(input.prompt);
    if (this.temporal) return this.nextTemporal(input, s, spec, offsets);
    const evidence = input.videoFrameCounts.map((count, k) => this.evidenceFor(spec, s, offsets[k] ?? 0, count));
    const ownCalls = input.messages.filter((m) => m.role === 'tool').length;
    const canLook = input.toolCallsLeft > 0 && ownCalls < this.maxOwnToolCalls;
    const snapshot = evidence.map((e, k) => this.describe(e, k, offsets[k] ?? 0, spec, input.videoFrameCounts.length)).join(' ');
    if (input.mode === 'pairwise') {
      const [a, b] = evidence;
      if (a === undefined || b === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pairwise needs two videos');
      const answer = this.compare(a, b);
      const uncertain = Math.abs(a.overall - b.overall) < this.closeCall || Math.min(a.certainty, b.certainty) < this.certaintyFloor;
      if (canLook && uncertain) {
        const targets = this.chooseFrames(input, s, evidence, offsets);
        if (targets.length > 0) {
          const think = `The call is close or my evidence is thin (overall ${fmt(a.overall)} vs ${fmt(b.overall)}, certainty ${fmt(a.certainty)} / ${fmt(b.certainty)}); I will check motion and temporal stability on more frames.`;
          return renderTurn({ snapshot, think, recommend: answer, toolFrames: targets });
        }
      }
      const think = `Text alignment ${fmt(a.TA)} vs ${fmt(b.TA)}, motion quality ${fmt(a.MQ)} vs ${fmt(b.MQ)}, visual quality ${fmt(a.VQ)} vs ${fmt(b.VQ)}; overall ${fmt(a.overall)} vs ${fmt(b.overall)}.`;
      return renderTurn({ snapshot, think, answer });
    }
    const [v] = evidence;
    if (v === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pointwise needs a video');
    if (canLook && v.certainty < this.certaintyFloor) {
      const targets = this.chooseFrames(input, s, evidence, offsets);
      if (targets.length > 0) return renderTurn({ snapshot, think: `My certainty is ${fmt(v.certainty)}; I will look at more frames.`, toolFrames: targets });
    }
    const scores: PointwiseScores = { TA: round2(v.TA), MQ: round2(v.MQ), VQ: round2(v.VQ), overall: round2(v.overall) };
    return renderTurn({ snapshot, think: `Scores from the frames seen: overall ${fmt(v.overall)}.`, pointwise: scores });
  }

  /**
   * Perceives the images not seen yet in this conversation, reusing what the cache holds for keyed videos (a video met
   * in an earlier comparison of its group) and keeping what is newly perceived of them.
   */
  private async perceiveFresh(input: ReasonerInput, s: Scratch, fresh: readonly ImageRef[]): Promise<void> {
    for (const p of await perceiveKeyed(this.perception, this.cache, input, fresh, s.width, s.height)) s.seen.set(p.frameIndex, p);
  }

  private evidenceFor(spec: PromptSpec | null, s: Scratch, offset: number, count: number): VideoEvidence {
    const frames = [...s.seen.values()]
      .filter((p) => p.frameIndex > offset && p.frameIndex <= offset + count)
      .map((p) => ({ ...p, frameIndex: p.frameIndex - offset - 1 }));
    const quality = this.perception.signals(frames, s.width, s.height);
    // A prompt outside the world's grammar gives no checkable attributes: text alignment is then uninformative (0.5).
    const prompt: PromptSpec = spec ?? { objects: [{ colour: 'red', shape: 'circle', motion: 'still', speed: null }], background: 'black' };
    const e = videoEvidence(prompt, frames, quality, s.width / 64);
    if (spec !== null) return applyPlantedHack(e, quality, this.hack, frames);
    const TA = 0.5;
    return applyPlantedHack({ ...e, TA, overall: 0.6 * TA + 0.2 * e.MQ + 0.2 * e.VQ }, quality, this.hack, frames);
  }

  /** World v2: timeline evidence per video, the planner's (or random) frames while the call is open, then the answer. */
  private nextTemporal(input: ReasonerInput, s: Scratch, spec: PromptSpec | null, offsets: readonly number[]): string {
    const prompt: PromptSpec = spec ?? { objects: [{ colour: 'red', shape: 'circle', motion: 'still', speed: null }], background: 'black' };
    const unit = s.width / 64;
    const videos: PlannedVideo[] = input.videoFrameCounts.map((count, k) => {
      const offset = offsets[k] ?? 0;
      const frames = [...s.seen.values()]
        .filter((p) => p.frameIndex > offset && p.frameIndex <= offset + count)
        .map((p) => ({ ...p, frameIndex: p.frameIndex - offset - 1 }));
      let evidence = timelineEvidence(prompt, frames, count, unit, (fr) => this.perception.signals(fr, s.width, s.height));
      if (spec === null) evidence = { ...evidence, TA: 0.5, overall: 0.6 * 0.5 + 0.2 * evidence.MQ + 0.2 * evidence.VQ };
      evidence = this.hackTimeline(evidence, frames, input.wholeClip?.[k] ?? [], offset, s, input.viewSetFrames?.[k] ?? []);
      return { offset, count, seen: new Set(frames.map((f) => f.frameIndex)), evidence };
    });
    const snapshot = videos.map((v, k) => describeTimeline(v.evidence, k, v.offset, spec, videos.length)).join(' ');
    const ownCalls = input.messages.filter((m) => m.role === 'tool').length;
    const canLook = input.toolCallsLeft > 0 && ownCalls < input.maxToolCalls;
    const estimates = videos.map((v) => v.evidence);
    let targets: number[] = [];
    if (canLook && this.selection === 'random') {
      const seenBeyondInitial = [...s.seen.keys()].length - (input.messages.find((m) => m.role === 'user')?.images.length ?? 0);
      const left = Math.max(0, this.randomFrames - seenBeyondInitial);
      targets = planRandomFrames(videos, Math.min(left, input.maxFramesPerCall), this.selectionRng);
    } else if (canLook) {
      const [a, b] = estimates;
      const gap = a !== undefined && b !== undefined ? a.overall - b.overall : 0;
      // Decided: a gap no local finding could close, and nothing asked about time is still open.
      const decided = Math.abs(gap) >= this.decidedMargin && !hasOpenQuestions(spec, videos);
      const leader = b === undefined || Math.abs(gap) < this.tie.OA ? null : gap > 0 ? 0 : 1;
      if (!decided) targets = planFrames(spec, videos, input.maxFramesPerCall, leader, this.leaderShare);
    }
    if (input.mode === 'pairwise') {
      const [a, b] = estimates;
      if (a === undefined || b === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pairwise needs two videos');
      const answer = this.compare(a, b);
      if (targets.length > 0) {
        const think = `Overall ${fmt(a.overall)} vs ${fmt(b.overall)} so far; I will look where the evidence is still open (event moments, unseen stretches).`;
        return renderTurn({ snapshot, think, recommend: answer, toolFrames: targets });
      }
      const think = `Text alignment ${fmt(a.TA)} vs ${fmt(b.TA)}, motion quality ${fmt(a.MQ)} vs ${fmt(b.MQ)}, visual quality ${fmt(a.VQ)} vs ${fmt(b.VQ)}; overall ${fmt(a.overall)} vs ${fmt(b.overall)}.`;
      return renderTurn({ snapshot, think, answer });
    }
    const [v] = estimates;
    if (v === undefined) throw new VrGrpoError('JUDGE_FAILED', 'pointwise needs a video');
    if (targets.length > 0) return renderTurn({ snapshot, think: 'I will look where the evidence is still open.', toolFrames: targets });
    const scores: PointwiseScores = { TA: round2(v.TA), MQ: round2(v.MQ), VQ: round2(v.VQ), overall: round2(v.overall) };
    return renderTurn({ snapshot, think: `Scores from the frames seen: overall ${fmt(v.overall)}.`, pointwise: scores });
  }

  /**
   * TESTING AID: a planted hack on world v2 evidence. A defect or saturation hack reads the frames seen, as in world v1;
   * `hiding` reads every frame of the video (`clip`) and pays for its peak detail energy in the frames this judge did not
   * view (a perception that under-weights what it rarely looks at), while the penalty for local defects stays with what
   * was seen: a burst pays only where the judge does not look.
   */
  private hackTimeline(
    e: TimelineEvidence,
    seen: readonly PerceivedFrame[],
    clip: readonly ImageRef[],
    offset: number,
    s: Scratch,
    viewSet: readonly number[],
  ): TimelineEvidence {
    const hack = this.hack;
    if (hack === null) return e;
    if (hack.defect === 'hiding') {
      // Unviewed: not flagged, not seen here, and not shown by another view of the same full-view audit.
      const viewed = new Set([...e.corrupted, ...seen.map((f) => f.frameIndex), ...viewSet]);
      return liftScores(e, hack.bonus * clipEnergyExcess(clip, viewed, offset + 1));
    }
    const clean = seen.filter((f) => !e.corrupted.includes(f.frameIndex));
    const quality =
      hack.defect === 'saturation' ? { jitter: 0, flicker: 0, blur: 0, noise: 0, confidence: 1 } : this.perception.signals(clean, s.width, s.height);
    return applyPlantedHack(e, quality, hack, clean);
  }

  private compare(a: Estimate, b: Estimate): PairwiseAnswer {
    const pref = (x: number, y: number, tie: number): Preference => (x - y > tie ? 1 : y - x > tie ? 2 : 0);
    const d = Math.abs(a.overall - b.overall);
    const CF: Confidence = d > 0.15 && Math.min(a.certainty, b.certainty) > 0.5 ? 1 : d > 0.05 ? 2 : 3;
    return {
      TA: pref(a.TA, b.TA, this.tie.TA),
      MQ: pref(a.MQ, b.MQ, this.tie.MQ),
      VQ: pref(a.VQ, b.VQ, this.tie.VQ),
      OA: pref(a.overall, b.overall, this.tie.OA),
      CF,
    };
  }

  /** Unseen frames of the least certain video(s): adjacent pairs inside the widest gaps between seen frames. */
  private chooseFrames(input: ReasonerInput, s: Scratch, evidence: readonly VideoEvidence[], offsets: readonly number[]): number[] {
    const order = evidence.map((e, k) => ({ k, c: e.certainty })).sort((x, y) => x.c - y.c);
    const perVideo = evidence.length === 1 ? input.maxFramesPerCall : Math.floor(input.maxFramesPerCall / 2);
    const out: number[] = [];
    for (const { k } of order) {
      const count = input.videoFrameCounts[k] ?? 0;
      const offset = offsets[k] ?? 0;
      const seen = [...s.seen.keys()]
        .filter((g) => g > offset && g <= offset + count)
        .map((g) => g - offset - 1)
        .sort((x, y) => x - y);
      const gaps: { start: number; len: number }[] = [];
      const bounds = [-1, ...seen, count];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const lo = bounds[i] ?? 0;
        const hi = bounds[i + 1] ?? 0;
        if (hi - lo > 2) gaps.push({ start: lo + 1, len: hi - lo - 1 });
      }
      gaps.sort((x, y) => y.len - x.len);
      const picks: number[] = [];
      for (const g of gaps) {
        if (picks.length + 2 > perVideo) break;
        const mid = g.start + Math.floor((g.len - 2) / 2);
        picks.push(mid, mid + 1);
      }
      out.push(...picks.map((i) => i + offset + 1));
    }
    return [...new Set(out)].slice(0, input.maxFramesPerCall).sort((x, y) => x - y);
  }

  private describe(e: VideoEvidence, k: number, offset: number, spec: PromptSpec | null, videos: number): string {
    const name = videos === 1 ? 'The video' : `Video ${k + 1}`;
    const frames = e.framesUsed.map((f) => f + offset + 1);
    const objs = e.objects
      .map((o, j) => {
        const want = spec?.objects[j];
        const what = want === undefined ? 'the object' : `the ${want.colour} ${want.shape}`;
        return `${what}: colour ${fmt(o.colour)}, shape ${fmt(o.shape)}, moving (${o.vx.toFixed(1)}, ${o.vy.toFixed(1)}) px per frame, motion match ${fmt(o.motion)}`;
      })
      .join('; ');
    return `${name}, seen at frames ${frames.join(', ')}: ${objs}; background ${fmt(e.background)}; object count match ${fmt(e.count)}; MQ ${fmt(e.MQ)}, VQ ${fmt(e.VQ)}.`;
  }

  release(conversationId: string): void {
    this.scratch.delete(conversationId);
  }

  close(): Promise<void> {
    this.scratch.clear();
    this.cache?.clear();
    return this.perception.close();
  }
}

/** A v2 snapshot: per object its checks and the change seen (between which seen frames), then local defects. */
function describeTimeline(e: TimelineEvidence, k: number, offset: number, spec: PromptSpec | null, videos: number): string {
  const name = videos === 1 ? 'The video' : `Video ${k + 1}`;
  const g = (f: number): number => f + offset + 1;
  const objs = e.objects
    .map((o, j) => {
      const want = spec?.objects[j];
      const what = want === undefined ? 'the object' : `the ${want.colour} ${want.shape}`;
      const change =
        o.detected === null
          ? 'no change seen'
          : `${o.detected.kind}${o.detected.colour === undefined ? '' : ` to ${o.detected.colour}`} between frames ${g(o.detected.bracket.before)} and ${g(o.detected.bracket.after)}`;
      const timing = o.eventTime === null ? '' : `, on time ${fmt(o.eventTime)}`;
      return `${what}: colour ${fmt(o.colour)}, shape ${fmt(o.shape)}, motion match ${fmt(o.motion)}, ${change} (event match ${fmt(o.event)}${timing})`;
    })
    .join('; ');
  const defects =
    e.defects.length === 0
      ? 'no local defect seen'
      : e.defects
          .map(
            (d) =>
              `${d.kind} ${d.frames.length > 0 ? `at frames ${d.frames.map(g).join(', ')}` : d.bracket === undefined ? '' : `between frames ${g(d.bracket.before)} and ${g(d.bracket.after)}`}`,
          )
          .join('; ');
  return `${name}, seen at frames ${e.framesUsed.map(g).join(', ')}: ${objs}; ${defects}; MQ ${fmt(e.MQ)}, VQ ${fmt(e.VQ)}.`;
}

const round2 = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
