/**
 * A small deterministic JudgeService for reward-server tests: reads the first and last frame of each video, prefers
 * the brighter one, streams two turns. The prompt picks a mode: `format-error`, `throw-plain`, `hang` (until aborted),
 * `gate` (until `release(id)` or aborted), `wrap-decode` (hides decode errors behind a plain Error), `malformed`.
 */
import { VrGrpoError } from '../../src/errors/index.js';
import type { FrameSource } from '../../src/judge/frame-source.js';
import type { Judgment, JudgeService, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import type { PairwiseAnswer, PointwiseScores, Preference, Turn } from '../../src/protocol/index.js';

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function meanBrightness(source: FrameSource): Promise<{ mean: number; viewed: number[] }> {
  const count = await source.frameCount();
  const viewed = count > 1 ? [0, count - 1] : [0];
  const frames = await source.frames(viewed);
  let sum = 0;
  let n = 0;
  for (const frame of frames) {
    for (const byte of frame) sum += byte;
    n += frame.length;
  }
  return { mean: n === 0 ? 0 : sum / n, viewed };
}

function scoresFor(preference: Preference, video: 1 | 2): PointwiseScores {
  const s = preference === 0 ? 0.5 : preference === video ? 1 : 0;
  return { TA: s, MQ: s, VQ: s, overall: s };
}

function abortError(signal: AbortSignal | undefined): VrGrpoError {
  const reason: unknown = signal?.reason;
  return reason instanceof VrGrpoError ? reason : new VrGrpoError('JUDGE_FAILED', 'aborted', { details: { reason: 'aborted' } });
}

export class BrightnessJudge implements JudgeService {
  readonly backendName = 'test-brightness';
  /** Ids of every judge call, in order. */
  readonly calls: string[] = [];
  /** Ids whose call saw its AbortSignal fire. */
  readonly aborted: string[] = [];
  readonly #started = new Map<string, Deferred>();
  readonly #abortedSignals = new Map<string, Deferred>();
  readonly #gates = new Map<string, Deferred>();

  rmVersion(): string {
    return 'test-rm-1';
  }

  /** Resolves when the call with `id` has started. */
  whenStarted(id: string): Promise<void> {
    return this.#entry(this.#started, id).promise;
  }

  /** Resolves when the call with `id` saw its signal abort. */
  whenAborted(id: string): Promise<void> {
    return this.#entry(this.#abortedSignals, id).promise;
  }

  /** Lets a `gate` call with `id` finish. */
  release(id: string): void {
    this.#entry(this.#gates, id).resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    const t0 = performance.now();
    this.calls.push(request.id);
    this.#entry(this.#started, request.id).resolve();
    const mode = request.prompt.split(' ')[0] ?? '';
    if (mode === 'format-error') throw new VrGrpoError('FORMAT_ERROR', 'no parseable answer after 2 re-asks');
    if (mode === 'throw-plain') throw new TypeError('backend exploded');
    if (mode === 'hang' || mode === 'gate') await this.#wait(request.id, hooks.signal, mode === 'gate');

    let measured: { mean: number; viewed: number[] }[];
    try {
      measured = await Promise.all(request.videos.map((v) => meanBrightness(v)));
    } catch (error) {
      if (mode === 'wrap-decode') throw new Error(`could not read frames: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    const first = measured[0]?.mean ?? 0;
    const second = measured[1]?.mean ?? 0;
    const preference: Preference = request.mode === 'pointwise' || Math.abs(first - second) < 1 ? 0 : first > second ? 1 : 2;
    const answer: PairwiseAnswer | null = request.mode === 'pairwise' ? { TA: preference, MQ: preference, VQ: preference, OA: preference, CF: 1 } : null;
    const turns: Turn[] = [
      {
        index: 0,
        role: 'assistant',
        text: `<snapshot>brightness ${measured.map((m) => m.mean.toFixed(1)).join(' vs ')}</snapshot><think>compare</think>`,
        framesShown: [1, 2],
      },
      {
        index: 1,
        role: 'assistant',
        text: `<answer> TA = ${preference}, MQ = ${preference}, VQ = ${preference}, OA = ${preference}, CF = 1 </answer>`,
        framesShown: [],
      },
    ];
    for (const turn of turns) hooks.onTurn?.(turn);
    const scores =
      request.mode === 'pairwise'
        ? [scoresFor(preference, 1), scoresFor(preference, 2)]
        : measured.map((m) => ({ TA: m.mean / 255, MQ: m.mean / 255, VQ: m.mean / 255, overall: m.mean / 255 }));
    const judgment: Judgment = {
      rmVersion: this.rmVersion(),
      mode: request.mode,
      answer,
      scores,
      framesViewed: measured.map((m) => m.viewed),
      toolCalls: 0,
      turns,
      hallucinations: [],
      formatErrors: 0,
      forced: false,
      timing: { totalMs: performance.now() - t0, decodeMs: 0, backendMs: 0 },
    };
    if (mode === 'malformed') return { ...judgment, toolCalls: -0.5 };
    return judgment;
  }

  async #wait(id: string, signal: AbortSignal | undefined, gated: boolean): Promise<void> {
    const gate = gated ? this.#entry(this.#gates, id).promise : new Promise<void>(() => undefined);
    const aborted = new Promise<never>((_resolve, reject) => {
      const onAbort = (): void => {
        this.aborted.push(id);
        this.#entry(this.#abortedSignals, id).resolve();
        reject(abortError(signal));
      };
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([gate, aborted]);
  }

  #entry(table: Map<string, Deferred>, id: string): Deferred {
    let entry = table.get(id);
    if (entry === undefined) {
      entry = deferred();
      table.set(id, entry);
    }
    return entry;
  }
}
