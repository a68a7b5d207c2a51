/**
 * Frame claims in a judge's reasoning: which frames a turn says something about. A turn cites a frame as evidence when
 * it says what the frame shows; a frame number in a plan, a request, a question, a hypothesis or a statement about the
 * index layout or the tool is not a claim (details below).
 */
import { withoutTags } from './format.js';

/*
 * Frame claims. A turn cites a frame as evidence when it says what the frame shows: "in frame 30 the ball turns red",
 * "frames 3-5 are sharp", "the colour changes at frame 40", "the ball turns red (frame 30)". A frame number in a plan
 * ("I will look at frames 30 and 78"), a request (an imperative, anything in <tool_call>), a question, a hypothesis
 * ("there may be a change between frame 10 and 20") or a statement about the index layout or the tool ("frames 49-96
 * belong to video 2") says nothing about that frame's content, so it cannot be a hallucinated observation.
 *
 * The reasoning (tool calls and answers removed) is cut into sentences, each sentence into clauses, and a clause that
 * carries a cue from NOT_A_CLAIM is dropped; frame numbers are read from the clauses left. Measured on the labelled
 * set in test/judge/fixtures/hallucination-traces.ts (docs/judge.md has the numbers).
 */

/** Tags whose text is not reasoning: the request for frames and the answers. */
const NOT_REASONING = ['tool_call', 'recommend answer', 'answer', 'final answer'];

/** One of those tags opened and never closed (a stop sequence cut it): the rest of the turn is its body. */
const UNCLOSED_NOT_REASONING = /<\s*(?:tool_call|recommend\s*answer|final\s*answer|answer)\s*>[\s\S]*$/i;

/** Any remaining tag (`<snapshot>`, `</Think>`, `<synthesis>`): a sentence boundary. */
const TAG = /<\s*\/?\s*[a-z][a-z_ ]*>/gi;

/** "video 2 (frames 49-96)": the range only names the frames a video is made of (the layout), so it is dropped. */
const VIDEO_RANGE_NOTE = /\b(video\s*\d+)\s*\(\s*frames?\s*\d+\s*(?:-|–|to|through)\s*\d+\s*\)/gi;

/** Sentence ends: `.`, `!` or `?` before white space (the mark stays with its sentence), and line breaks. */
const SENTENCE_BREAK = /(?<=[.!?])\s+|\n+/;

/**
 * Clause boundaries inside a sentence: `;`, a dash, and before a conjunction that starts a new statement (but, so,
 * because, since, while, whereas, although, though, however, ", which", ", then", "and I …", "and let …") or a purpose
 * clause ("to check …"). A comma alone is not a boundary: "frames 3, 5 and 9" is one list.
 */
const CLAUSE_BREAK = new RegExp(
  [
    String.raw`\s*;\s*`,
    String.raw`\s*—\s*`,
    String.raw`\s+--\s+`,
    String.raw`,?\s+(?=(?:but|so|because|since|while|whereas|although|though|however)\b)`,
    String.raw`,\s*(?=which\b)`,
    String.raw`,\s*(?=then\b)`,
    String.raw`,?\s+(?=and\s+(?:then\s+)?(?:I|we|let)\b)`,
    String.raw`,?\s+(?=(?:in\s+order\s+)?to\s+(?:check|see|verify|confirm|compare|inspect|examine|determine|find|look|make\s+sure|test|decide|judge|assess)\b)`,
  ].join('|'),
  'i',
);

/** "I can see", "as can be seen": reports of perception, which the modal cue below must not mistake for a plan. */
const PERCEPTION: readonly (readonly [RegExp, string])[] = [
  [/\b(I|we|you|one)\s+(?:can|could)\s+(?:clearly\s+|also\s+|now\s+|still\s+)?(see|tell|notice|observe|spot)\b/gi, '$1 $2'],
  [/\b(?:can|could)\s+(?:clearly\s+|also\s+)?be\s+(seen|observed|noticed)\b/gi, 'is $1'],
];

/** What makes a clause something other than a claim about a frame's content, and the cue that shows it. */
const NOT_A_CLAIM: readonly { readonly what: string; readonly cue: RegExp }[] = [
  {
    what: 'a plan, an intent or a suggestion (modal and intent verbs)',
    cue: /\b(?:will|shall|would|should|could|might|may|must|can|cannot)\b|['’](?:ll|d)\b|\b(?:going|plan|plans|intend|intends|have|has|try|tries|ought)\s+to\b|\b(?:I|we)\s+(?:still\s+|also\s+|really\s+)?(?:need|want|require)\b|\blet(?:['’]s|\s+me|\s+us)\b/i,
  },
  {
    what: 'a request (an imperative at the start of the clause, "deserves a closer look", "next step")',
    cue: /^(?:(?:now|next|first|then|so|and|but|also|again)\b[\s,]*)*(?:check|look|inspect|select|examine|zoom|compare|verify|view|request|sample|pick|choose|focus|review|confirm|see)\b|\b(?:deserves?|worth|take|get|need|needs)\s+(?:a|another)\s+(?:\w+\s+)?look\b|\bnext\s+step\b/i,
  },
  { what: 'a purpose ("to check frame 40")', cue: /^(?:in\s+order\s+)?to\s+\w/i },
  { what: 'a question', cue: /\?\s*$|^(?:what|why|how|who|whose|does|do|did|is|are|was|were|has|have|had)\b/i },
  {
    what: 'a hypothesis, a condition or an admitted uncertainty',
    cue: /\b(?:if|whether|unless|perhaps|maybe|possibly|presumably|suppose|supposing|assume|assuming|wonder|wondering|expect|expects|expecting|suspect|suspects|unsure)\b|\bnot\s+(?:yet\s+)?sure\b|\b(?:don['’]t|do\s+not)\s+know\b|\bno\s+idea\b/i,
  },
  {
    what: 'the index layout or the tool',
    cue: /\b(?:index|indices|indexes|indexed|indexing|numbered|numbering|range|ranges|tool|select_frames|target_frames)\b|\bbelongs?\s+to\b|\bcorrespond(?:s|ing)?\s+to\b|\bvideo\s*\d+\s+(?:spans|covers|occupies|comprises|consists\s+of|(?:starts|begins|ends|runs)\s+(?:at|from|with)\s+frames?)\b|\b(?:is|are|was|were)\s+(?:(?:from|in|within|part\s+of|of)\s+)?(?:the\s+)?video\s*\d+\b(?!['’]s)(?=\s*(?:$|[.,;:)]|and\s+(?:frames?|video)\b))/i,
  },
  {
    what: 'which frames were requested or seen, not what they show',
    cue: /\b(?:I|we)\s+(?:have\s+|had\s+|['’]ve\s+)?(?:just\s+)?(?:selected|requested|asked\s+for|chose|picked|sampled)\b|\b(?:was|were)\s+(?:selected|requested|chosen|picked|sampled)\b|\b(?:I|we)\s+(?:(?:have|had|did|do)\s*(?:not|n['’]t)|never)\s+(?:yet\s+)?(?:seen|see|viewed|view|inspected|checked|looked\s+at)\b|\byet\s+to\s+(?:see|view|inspect|check)\b|\bunseen\b|\b(?:missing|absent)\s+from\s+(?:my|the)\s+(?:view|input|selection|context)\b|\bnot\s+in\s+my\s+(?:view|input|context)\b|\bframes?\s*#?\s*\d+[^,;]*?\b(?:was|were|is|are|has|have)\s*(?:not|never|n['’]t)\s+(?:yet\s+)?(?:been\s+)?(?:shown|provided|given|sampled|selected|included)\b/i,
  },
];

/** A frame number: digits not followed by a unit ("the frame 3 seconds in" is a duration, not frame 3). */
const NUMBER = String.raw`\d+(?![\d.]*\s*(?:(?:seconds?|secs?|s|ms|px|pixels?|fps)\b|%))`;
const RANGE_SEP = String.raw`\s*(?:-|–|\bto\b|\bthrough\b|\bthru\b)\s*`;
const LIST_SEP = String.raw`\s*,\s*(?:and\s+|or\s+|&\s*)?|\s+(?:and|or)\s+|\s*&\s*`;
const ITEM = `${NUMBER}(?:${RANGE_SEP}${NUMBER})?`;
const ORDINAL = String.raw`\d+(?:st|nd|rd|th)`;

/** "frame 12", "Frame #7", "frames 3, 5 and 9", "frames 4–6", "frames 10 through 12" (group 1: the numbers). */
const CARDINAL_REFERENCE = new RegExp(String.raw`\bframes?\s*(?:#|no\.|number)?\s*(${ITEM}(?:(?:${LIST_SEP})${ITEM})*)`, 'gi');
/** "the 12th frame", "the 3rd and 4th frames" (group 1: the numbers). */
const ORDINAL_REFERENCE = new RegExp(String.raw`\b(${ORDINAL}(?:(?:${LIST_SEP}|${RANGE_SEP})${ORDINAL})*)\s+frames?\b`, 'gi');
/** One number or range inside a reference's list. */
const LIST_ITEM = new RegExp(String.raw`(\d+)(?:st|nd|rd|th)?(?:${RANGE_SEP}(\d+))?`, 'g');

/** The reasoning of a turn: tool calls and answer tags removed, other tags turned into line breaks. */
function reasoning(text: string): string {
  return withoutTags(text, NOT_REASONING).replace(UNCLOSED_NOT_REASONING, ' ').replace(TAG, '\n');
}

/** The clauses of `text`, in order (see SENTENCE_BREAK and CLAUSE_BREAK). */
function clauses(text: string): string[] {
  return text
    .replace(VIDEO_RANGE_NOTE, '$1')
    .split(SENTENCE_BREAK)
    .flatMap((sentence) => sentence.split(CLAUSE_BREAK))
    .map((c) => c.replace(/^[\s\-*•]+/, '').trim())
    .filter((c) => c !== '');
}

/** Whether a clause states what some frame shows (rather than planning, asking, guessing or describing the layout). */
function isContentClaim(clause: string): boolean {
  const plain = PERCEPTION.reduce((c, [pattern, replacement]) => c.replace(pattern, replacement), clause);
  return !NOT_A_CLAIM.some(({ cue }) => cue.test(plain));
}

/** Frame numbers in one reference's list; a reversed or implausibly long (> 100 frames) range counts its first frame. */
function listFrames(list: string): number[] {
  const out: number[] = [];
  for (const part of list.matchAll(LIST_ITEM)) {
    const a = Number(part[1]);
    const b = part[2] === undefined ? a : Number(part[2]);
    if (b < a || b - a > 100) out.push(a);
    else for (let f = a; f <= b; f++) out.push(f);
  }
  return out;
}

/**
 * Frame numbers whose content the reasoning of an assistant turn makes a claim about ("in frame 12 …", "frames 3, 5
 * and 9 show …", "frames 4-6 are …", "Frame #7 has …", "the 12th frame shows …", "… (frame 30)"), sorted and
 * without repeats. Not counted: frames in `<tool_call>` and answer tags, and frames named in plans, requests,
 * questions, hypotheses and statements about the index layout or the tool (see NOT_A_CLAIM).
 */
export function frameReferences(text: string): number[] {
  const out = new Set<number>();
  for (const clause of clauses(reasoning(text))) {
    if (!isContentClaim(clause)) continue;
    for (const pattern of [CARDINAL_REFERENCE, ORDINAL_REFERENCE]) {
      for (const m of clause.matchAll(pattern)) for (const f of listFrames(m[1] ?? '')) out.add(f);
    }
  }
  return [...out].sort((x, y) => x - y);
}
