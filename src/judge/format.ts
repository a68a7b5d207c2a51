/**
 * The VR-Thinker turn format, rendered and parsed. Every form the released model and its code write is read:
 * - paper: `<snapshot>…</snapshot><think>…</think>` then `<recommend answer> TA = 1, MQ = 0, VQ = 2, OA = 1, CF = 2
 *   </recommend answer>` + `<tool_call>{"name": "select_frames", "arguments": {"target_frames": […]}}</tool_call>`,
 *   or a final `<Answer>TA=1, VQ=1, MQ=0, OA=1</Answer>` (CF optional, dimensions in any order);
 * - released code: `<synthesis>…</synthesis><think>…</think>`, a final `<final answer> TA = …, OA = … </final answer>`
 *   with per-dimension values, and/or a bare `\boxed{n}` ending the response (overall only);
 * - a bare `{"target_frames": […]}` inside `<tool_call>` (the form the prompt's own example shows).
 * Only what the model said is returned: a `\boxed{n}` alone is an answer with OA and nothing else. Tags are matched
 * case- and space-insensitively (`</ answer>` too). Chat-template end markers (`<|im_end|>`, `<|endoftext|>`) are
 * ignored, and a trailing `<tool_call>` left unclosed (a stop sequence cut `</tool_call>`) is still read. Pointwise
 * answers carry scores in [0, 1].
 */
import type { Confidence, PairwiseAnswer, PointwiseScores, Preference, VerdictAnswer } from '../protocol/index.js';

export type ParsedTurn =
  | {
      readonly kind: 'tool_call';
      readonly recommend: VerdictAnswer | null;
      /** The requested frames, or why the call is malformed (still a tool call: the engine answers with an error). */
      readonly call: { readonly ok: true; readonly targetFrames: readonly number[] } | { readonly ok: false; readonly reason: string };
      readonly text: string;
    }
  | { readonly kind: 'answer'; readonly answer: VerdictAnswer; readonly text: string }
  | { readonly kind: 'pointwise_answer'; readonly scores: PointwiseScores; readonly text: string }
  | { readonly kind: 'invalid'; readonly reason: string; readonly text: string };

/** Regex source for a tag name with flexible case and inner spacing (`recommend answer`, `Recommend  Answer`). */
function tagPattern(name: string): string {
  return name.split(' ').join('\\s*');
}

/** Content of the last `<name>…</name>` block, or null. */
export function tagContent(text: string, name: string): string | null {
  const re = new RegExp(`<\\s*${tagPattern(name)}\\s*>([\\s\\S]*?)<\\s*/\\s*${tagPattern(name)}\\s*>`, 'gi');
  let last: string | null = null;
  for (const m of text.matchAll(re)) last = m[1] ?? '';
  return last;
}

/** Text with `<name>…</name>` blocks removed (e.g. to scan only the reasoning for frame references). */
export function withoutTags(text: string, names: readonly string[]): string {
  let out = text;
  for (const name of names) {
    out = out.replace(new RegExp(`<\\s*${tagPattern(name)}\\s*>[\\s\\S]*?<\\s*/\\s*${tagPattern(name)}\\s*>`, 'gi'), ' ');
  }
  return out;
}

const DIMS = ['TA', 'MQ', 'VQ', 'OA', 'CF'] as const;

function readDims(body: string): Partial<Record<(typeof DIMS)[number], number>> {
  const out: Partial<Record<(typeof DIMS)[number], number>> = {};
  for (const d of DIMS) {
    const m = new RegExp(`\\b${d}\\s*[=:]\\s*(-?\\d+(?:\\.\\d+)?)`, 'i').exec(body);
    if (m?.[1] !== undefined) out[d] = Number(m[1]);
  }
  return out;
}

const isPref = (v: number | undefined): v is Preference => v === 0 || v === 1 || v === 2;
const isConf = (v: number | undefined): v is Confidence => v === 1 || v === 2 || v === 3;

/** Parses `TA = 1, MQ = 0, VQ = 2, OA = 1, CF = 2`; null unless all five are present and in range. */
export function parsePairwiseAnswer(body: string): PairwiseAnswer | null {
  const d = readDims(body);
  if (!isPref(d.TA) || !isPref(d.MQ) || !isPref(d.VQ) || !isPref(d.OA) || !isConf(d.CF)) return null;
  return { TA: d.TA, MQ: d.MQ, VQ: d.VQ, OA: d.OA, CF: d.CF };
}

/** The last `\boxed{n}` (n in 0..2) of `text`, or undefined. */
function boxedOverall(text: string): Preference | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(/\\boxed\s*\{\s*(\d+)\s*\}/g)) last = Number(m[1]);
  return isPref(last) ? last : undefined;
}

/**
 * The answer said in `body` (`TA = 1, OA = 2, …` in any order, CF optional), with `fallbackOverall` (a `\boxed{n}`)
 * as OA when the body names none. Returns why not when a value is out of range or no overall preference is given.
 */
function parseVerdictAnswer(body: string, fallbackOverall: Preference | undefined): { ok: true; answer: VerdictAnswer } | { ok: false; reason: string } {
  const d = readDims(body);
  for (const k of ['TA', 'MQ', 'VQ', 'OA'] as const) {
    if (d[k] !== undefined && !isPref(d[k])) return { ok: false, reason: `${k} = ${d[k]} is not 0, 1 or 2` };
  }
  if (d.CF !== undefined && !isConf(d.CF)) return { ok: false, reason: `CF = ${d.CF} is not 1, 2 or 3` };
  const OA = isPref(d.OA) ? d.OA : (boxedOverall(body) ?? fallbackOverall);
  if (OA === undefined) return { ok: false, reason: 'the answer gives no overall preference (OA = 0, 1 or 2, or \\boxed{n})' };
  const answer: { -readonly [K in keyof VerdictAnswer]: VerdictAnswer[K] } = { OA };
  if (isPref(d.TA)) answer.TA = d.TA;
  if (isPref(d.MQ)) answer.MQ = d.MQ;
  if (isPref(d.VQ)) answer.VQ = d.VQ;
  if (isConf(d.CF)) answer.CF = d.CF;
  return { ok: true, answer };
}

function parsePointwise(body: string): PointwiseScores | null {
  const d = readDims(body);
  const ok = (v: number | undefined): v is number => v !== undefined && v >= 0 && v <= 1;
  if (!ok(d.TA) || !ok(d.MQ) || !ok(d.VQ) || !ok(d.OA)) return null;
  return { TA: d.TA, MQ: d.MQ, VQ: d.VQ, overall: d.OA };
}

/** Chat-template markers a server may leave in the text (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`). */
const END_MARKERS = /<\|(?:im_end|endoftext|eot_id)\|>/g;

function parseToolCall(body: string): { ok: true; targetFrames: number[] } | { ok: false; reason: string } {
  const json = body
    .replace(END_MARKERS, '')
    .trim()
    .replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/i, '$1');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, reason: 'tool call is not valid JSON' };
  }
  if (value === null || typeof value !== 'object') return { ok: false, reason: 'tool call is not a JSON object' };
  const v = value as { name?: unknown; arguments?: unknown; target_frames?: unknown };
  // The prompt's own example shows the arguments alone: {"target_frames": [...]} means select_frames.
  let args = v.name === undefined && v.arguments === undefined && 'target_frames' in v ? v : v.arguments;
  if (args === v.arguments && v.name !== 'select_frames') return { ok: false, reason: `unknown tool ${JSON.stringify(v.name)}` };
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      return { ok: false, reason: 'tool arguments are not valid JSON' };
    }
  }
  const frames = args !== null && typeof args === 'object' ? (args as { target_frames?: unknown }).target_frames : undefined;
  if (!Array.isArray(frames)) return { ok: false, reason: 'target_frames must be a list of frame numbers' };
  const out: number[] = [];
  for (const f of frames) {
    if (typeof f !== 'number' || !Number.isInteger(f)) return { ok: false, reason: `target_frames must hold integers, got ${JSON.stringify(f)}` };
    out.push(f);
  }
  return { ok: true, targetFrames: out };
}

/** Body of a `<tool_call>` that is still open at the end of the text (a stop sequence removed `</tool_call>`). */
function unclosedToolCall(text: string): string | null {
  const m = /<\s*tool_call\s*>((?:(?!<\s*\/?\s*tool_call\s*>)[\s\S])*)$/i.exec(text);
  return m?.[1] === undefined || m[1].trim() === '' ? null : m[1];
}

/** The last final-answer block (`<answer>` or `<final answer>`, whichever closes later) and the text after it. */
function lastFinalAnswer(text: string): { body: string; after: string } | null {
  let best: { body: string; after: string; end: number } | null = null;
  for (const name of ['answer', 'final answer']) {
    const re = new RegExp(`<\\s*${tagPattern(name)}\\s*>([\\s\\S]*?)<\\s*/\\s*${tagPattern(name)}\\s*>`, 'gi');
    for (const m of text.matchAll(re)) {
      const end = m.index + m[0].length;
      if (best === null || end > best.end) best = { body: m[1] ?? '', after: text.slice(end), end };
    }
  }
  return best === null ? null : { body: best.body, after: best.after };
}

/** Parses one assistant turn. Never throws: unparseable text is `{ kind: 'invalid' }`. */
export function parseTurn(text: string, mode: 'pairwise' | 'pointwise'): ParsedTurn {
  const clean = text.replace(END_MARKERS, '');
  const toolBody = tagContent(clean, 'tool_call') ?? unclosedToolCall(clean);
  if (toolBody !== null) {
    const rec = tagContent(clean, 'recommend answer') ?? tagContent(clean, 'recommended answer');
    const recommend = rec === null ? null : parseVerdictAnswer(rec, undefined);
    return { kind: 'tool_call', recommend: recommend?.ok === true ? recommend.answer : null, call: parseToolCall(toolBody), text };
  }
  const final = lastFinalAnswer(clean);
  if (mode === 'pointwise') {
    if (final === null) return { kind: 'invalid', reason: 'no <answer> or <tool_call> found', text };
    const scores = parsePointwise(final.body);
    return scores === null
      ? { kind: 'invalid', reason: 'pointwise <answer> needs TA, MQ, VQ, OA in [0, 1]', text }
      : { kind: 'pointwise_answer', scores, text };
  }
  if (final !== null) {
    // A \boxed{n} after the block (the released code's ending) gives OA when the block itself names none.
    const parsed = parseVerdictAnswer(final.body, boxedOverall(final.after));
    return parsed.ok ? { kind: 'answer', answer: parsed.answer, text } : { kind: 'invalid', reason: parsed.reason, text };
  }
  // A bare \boxed{n} ending the response, outside any tag: an overall-only answer.
  const boxed = boxedOverall(withoutTags(clean, ['recommend answer', 'recommended answer']));
  if (boxed !== undefined) return { kind: 'answer', answer: { OA: boxed }, text };
  return { kind: 'invalid', reason: 'no <answer>, <final answer>, \\boxed{n} or <tool_call> found', text };
}

/** The text form of a `select_frames` call (how structured `tool_calls` of an OpenAI response enter the transcript). */
export function renderToolCall(name: string, args: unknown): string {
  return `<tool_call>\n${JSON.stringify({ name, arguments: args })}\n</tool_call>`;
}

export function formatPairwise(a: PairwiseAnswer): string {
  return `TA = ${a.TA}, MQ = ${a.MQ}, VQ = ${a.VQ}, OA = ${a.OA}, CF = ${a.CF}`;
}

export function formatPointwise(s: PointwiseScores): string {
  return `TA = ${s.TA.toFixed(2)}, MQ = ${s.MQ.toFixed(2)}, VQ = ${s.VQ.toFixed(2)}, OA = ${s.overall.toFixed(2)}`;
}

/** Renders a paper-format turn. */
export function renderTurn(parts: {
  snapshot: string;
  think: string;
  recommend?: PairwiseAnswer;
  toolFrames?: readonly number[];
  answer?: PairwiseAnswer;
  pointwise?: PointwiseScores;
}): string {
  let out = `<snapshot>${parts.snapshot}</snapshot>\n<think>${parts.think}</think>\n`;
  if (parts.toolFrames !== undefined) {
    if (parts.recommend !== undefined) out += `<recommend answer> ${formatPairwise(parts.recommend)} </recommend answer>\n`;
    out += `<tool_call>${JSON.stringify({ name: 'select_frames', arguments: { target_frames: parts.toolFrames } })}</tool_call>`;
  } else if (parts.answer !== undefined) {
    out += `<answer> ${formatPairwise(parts.answer)} </answer>`;
  } else if (parts.pointwise !== undefined) {
    out += `<answer> ${formatPointwise(parts.pointwise)} </answer>`;
  }
  return out;
}
