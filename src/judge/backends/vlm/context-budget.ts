/**
 * How many tokens one VR-Thinker request can reach, from the options: the visual tokens of the initial frames (a video
 * part costs half the tokens of the same frames as images: Qwen2.5-VL merges video frames in temporal pairs) and of the
 * tool results the memory window keeps, the text of the prompt, and the turns. With a token budget the engine ends a
 * conversation once its context passes the budget, so a request holds at most the budget, one more tool result and its
 * completion. The reward server refuses at start-up a configuration whose bound exceeds the server's `maxModelLen`, and
 * the audit re-judgment samples only as many frames as fit.
 */
import { VrGrpoError } from '../../../errors/index.js';
import { QWEN_PATCH, type ResolvedVlmOptions } from './options.js';

/** Tokens of the fixed text: system prompt with the tool description, and the task template (measured ≈ 650; rounded up). */
export const PROMPT_TEXT_TOKENS = 1024;
/** Text of one tool result or re-ask (a short sentence; rounded up). */
export const TOOL_TEXT_TOKENS = 64;

/** The judge settings the bound depends on. */
export interface JudgeShape {
  readonly initialFrames: number;
  readonly maxToolCalls: number;
  readonly memoryWindow: number;
  readonly maxFramesPerCall: number;
}

export interface ContextBound {
  readonly initialTokens: number;
  /** Visual tokens of the tool results one request may carry (the memory window's). */
  readonly selectedTokens: number;
  readonly textTokens: number;
  /** Completion tokens of the request itself (maxTokens). */
  readonly completionTokens: number;
  readonly total: number;
}

const imageTokens = (maxPixels: number): number => Math.ceil(maxPixels / (QWEN_PATCH * QWEN_PATCH));

/** Visual tokens of `n` initial frames under the options (a video part halves them). */
export function initialFrameTokens(o: ResolvedVlmOptions, n: number): number {
  const perFrame = imageTokens(o.initialMaxPixels);
  return o.initialFramesAs === 'video' ? Math.ceil(n / 2) * perFrame : n * perFrame;
}

/** The most tokens one request can hold (see the module header). */
export function contextBound(o: ResolvedVlmOptions, judge: JudgeShape): ContextBound {
  const initialTokens = initialFrameTokens(o, judge.initialFrames);
  const perCall = judge.maxFramesPerCall * imageTokens(o.selectedMaxPixels);
  const completionTokens = o.maxTokens;
  let selectedTokens: number;
  let textTokens: number;
  if (o.tokenBudget !== null) {
    // The previous context (≤ budget, visual tokens included) plus one more tool result.
    selectedTokens = perCall;
    textTokens = Math.max(0, o.tokenBudget - initialTokens) + TOOL_TEXT_TOKENS;
  } else {
    const window = Math.min(judge.memoryWindow, judge.maxToolCalls);
    selectedTokens = window * perCall;
    textTokens = PROMPT_TEXT_TOKENS + judge.maxToolCalls * (o.maxTokens + TOOL_TEXT_TOKENS);
  }
  return { initialTokens, selectedTokens, textTokens, completionTokens, total: initialTokens + selectedTokens + textTokens + completionTokens };
}

/**
 * Checks the bound against `maxModelLen` (the server's context length; null = unknown, no check). CONFIG_INVALID
 * names the parts and the settings to lower.
 */
export function checkContextFits(o: ResolvedVlmOptions, judge: JudgeShape): ContextBound {
  const b = contextBound(o, judge);
  if (o.maxModelLen !== null && b.total > o.maxModelLen) {
    const parts = `initial frames ${b.initialTokens} + tool results ${b.selectedTokens} + text ${b.textTokens} + completion ${b.completionTokens}`;
    throw new VrGrpoError(
      'CONFIG_INVALID',
      `judge.vlm: a request can reach ${b.total} tokens (${parts}) but the server's context is judge.vlm.maxModelLen = ${o.maxModelLen}: ` +
        'lower tokenBudget, maxTokens, the pixel budgets or maxFramesPerCall, or serve with a larger --max-model-len',
      { details: { problems: [`judge.vlm.maxModelLen: ${o.maxModelLen} < ${b.total} tokens a request can reach`] } },
    );
  }
  return b;
}

/**
 * How many frames a request with only initial frames (the audit re-judgment: all frames, no tool) may carry and still
 * fit the token budget (or `maxModelLen`) with its completion; at least 2.
 */
export function framesThatFit(o: ResolvedVlmOptions): number {
  const limit = Math.min(o.tokenBudget ?? Infinity, o.maxModelLen ?? Infinity);
  if (!Number.isFinite(limit)) return Number.MAX_SAFE_INTEGER;
  const room = limit - PROMPT_TEXT_TOKENS - o.maxTokens;
  const perFrame = imageTokens(o.initialMaxPixels) / (o.initialFramesAs === 'video' ? 2 : 1);
  return Math.max(2, Math.floor(room / perFrame));
}
