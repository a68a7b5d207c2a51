/**
 * The VR-Thinker turn format, rendered and parsed. Paper format: `<snapshot>…</snapshot><think>…</think>` then either
 * `<recommend answer> TA = 1, MQ = 0, VQ = 2, OA = 1, CF = 2 </recommend answer>` + `<tool_call>{"name":
 * "select_frames","arguments":{"target_frames":[…]}}</tool_call>`, or a final `<answer> TA = …, CF = … </answer>`.
 * Released-code format: `<synthesis>…</synthesis><think>…</think>` and a final `<final answer>… \boxed{1}</final
 * answer>` (overall only; a `<recommend answer>` or `<answer>` holding only `\boxed{n}` reads the same way). Tags are
 * matched case- and space-insensitively. Chat-template end markers (`<|im_end|>`, `<|endoftext|>`) are ignored, and a
 * trailing `<tool_call>` left unclosed (a stop sequence cut `</tool_call>`) is still read. Pointwise answers carry
 * scores in [0, 1].
 */
import type { Confidence, PairwiseAnswer, PointwiseScores, Preference } from '../protocol/index.js';

export type ParsedTurn =
  | {
      readonly kind: 'tool_call';
      readonly recommend: PairwiseAnswer | null;
      /** The requested frames, or why the call is malformed (still a tool call: the engine answers with an error). */
      readonly call: { readonly ok: true; readonly targetFrames: readonly number[] } | { readonly ok: false; readonly reason: string };
      readonly text: string;
    }
  | { readonly kind: 'answer'; readonly answer: PairwiseAnswer; readonly overallOnly: boolean; readonly text: string }
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
  const v = value as { name?: unknown; arguments?: unknown };
  if (v.name !== 'select_frames') return { ok: false, reason: `unknown tool ${JSON.stringify(v.name)}` };
  let args = v.arguments;
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

/** `\boxed{n}` (the released code's overall answer) as an overall-only pairwise answer (other dimensions mirror it). */
function parseBoxed(body: string): PairwiseAnswer | null {
  const boxed = /\\boxed\s*\{\s*([0-2])\s*\}/.exec(body);
  const oa = boxed?.[1] === undefined ? NaN : Number(boxed[1]);
  return isPref(oa) ? { TA: oa, MQ: oa, VQ: oa, OA: oa, CF: 2 } : null;
}

/** Body of a `<tool_call>` that is still open at the end of the text (a stop sequence removed `</tool_call>`). */
function unclosedToolCall(text: string): string | null {
  const m = /<\s*tool_call\s*>((?:(?!<\s*\/?\s*tool_call\s*>)[\s\S])*)$/i.exec(text);
  return m?.[1] === undefined || m[1].trim() === '' ? null : m[1];
}

/** Parses one assistant turn. Never throws: unparseable text is `{ kind: 'invalid' }`. */
export function parseTurn(text: string, mode: 'pairwise' | 'pointwise'): ParsedTurn {
  const clean = text.replace(END_MARKERS, '');
  const toolBody = tagContent(clean, 'tool_call') ?? unclosedToolCall(clean);
  if (toolBody !== null) {
    const rec = tagContent(clean, 'recommend answer');
    return { kind: 'tool_call', recommend: rec === null ? null : (parsePairwiseAnswer(rec) ?? parseBoxed(rec)), call: parseToolCall(toolBody), text };
  }
  const answer = tagContent(clean, 'answer');
  if (answer !== null) {
    if (mode === 'pointwise') {
      const scores = parsePointwise(answer);
      return scores === null ? { kind: 'invalid', reason: 'pointwise <answer> needs TA, MQ, VQ, OA in [0, 1]', text } : { kind: 'pointwise_answer', scores, text };
    }
    const parsed = parsePairwiseAnswer(answer);
    if (parsed !== null) return { kind: 'answer', answer: parsed, overallOnly: false, text };
    const boxed = parseBoxed(answer);
    return boxed === null
      ? { kind: 'invalid', reason: '<answer> needs TA, MQ, VQ, OA in {0, 1, 2} and CF in {1, 2, 3}', text }
      : { kind: 'answer', answer: boxed, overallOnly: true, text };
  }
  const final = tagContent(clean, 'final answer');
  if (final !== null) {
    const boxed = mode === 'pairwise' ? parseBoxed(final) : null;
    if (boxed !== null) return { kind: 'answer', answer: boxed, overallOnly: true, text };
    return { kind: 'invalid', reason: '<final answer> must end in \\boxed{1} or \\boxed{2}', text };
  }
  return { kind: 'invalid', reason: 'no <answer>, <final answer> or <tool_call> found', text };
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
