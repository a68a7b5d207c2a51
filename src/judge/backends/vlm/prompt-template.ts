/**
 * The first user turn of the released profile, from a template: the layout the released VR-Thinker was fine-tuned on
 * (task, which input frames are which video, the caption, the dimensions, the 96-frame indexing rule, how to ask for
 * frames, the answer format), written in the project's own words in templates/vr-thinker-released.txt. Users may point
 * `judge.vlm.promptTemplate` at a file of their own (for example one copied from the model card) using the same
 * `{{placeholder}}` names; an unknown placeholder or a template without `{{prompt}}` is refused at start-up.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VrGrpoError } from '../../../errors/index.js';

/** The shipped template. */
export const RELEASED_TEMPLATE_PATH = fileURLToPath(new URL('./templates/vr-thinker-released.txt', import.meta.url));

/** The values a template may use. */
export interface PromptValues {
  /** The caption both videos were generated from. */
  readonly prompt: string;
  /** Frames of the whole index space (96 for two videos of 48). */
  readonly total_frames: number;
  /** Frames each video is presented as (48). */
  readonly frames_per_video: number;
  /** The first index of video 2 (49). */
  readonly video2_first: number;
  /** Initial frames shown (8). */
  readonly initial_frames: number;
  /** Initial frames per video (4). */
  readonly initial_per_video: number;
  /** Most frames one select_frames call may ask for (8). */
  readonly max_frames_per_call: number;
  /** Most select_frames calls in a conversation (3). */
  readonly max_tool_calls: number;
}

export const PLACEHOLDERS: readonly (keyof PromptValues)[] = Object.freeze([
  'prompt',
  'total_frames',
  'frames_per_video',
  'video2_first',
  'initial_frames',
  'initial_per_video',
  'max_frames_per_call',
  'max_tool_calls',
]);

const PLACEHOLDER = /\{\{\s*([a-z0-9_]+)\s*\}\}/g;

/** A checked template; `render` fills it. */
export interface PromptTemplate {
  readonly source: string;
  render(values: PromptValues): string;
}

/** Checks `text` (from `source`) and returns the template. CONFIG_INVALID on an unknown placeholder or no `{{prompt}}`. */
export function compileTemplate(text: string, source: string): PromptTemplate {
  const used = [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
  const unknown = [...new Set(used.filter((u) => !(PLACEHOLDERS as readonly string[]).includes(u)))];
  if (unknown.length > 0) {
    throw new VrGrpoError(
      'CONFIG_INVALID',
      `judge.vlm.promptTemplate ${source}: unknown placeholder(s) ${unknown.map((u) => `{{${u}}}`).join(', ')}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
      {
        details: { problems: [`judge.vlm.promptTemplate: unknown placeholder ${unknown.join(', ')}`] },
      },
    );
  }
  if (!used.includes('prompt')) {
    throw new VrGrpoError('CONFIG_INVALID', `judge.vlm.promptTemplate ${source}: the template must contain {{prompt}}`, {
      details: { problems: ['judge.vlm.promptTemplate: no {{prompt}}'] },
    });
  }
  return Object.freeze({
    source,
    render: (values: PromptValues): string => text.replace(PLACEHOLDER, (_m, name: string) => String(values[name as keyof PromptValues])).trim(),
  });
}

/** Reads and checks the template at `path` (the shipped one when null). CONFIG_INVALID when it cannot be read. */
export async function loadPromptTemplate(path: string | null): Promise<PromptTemplate> {
  const file = path ?? RELEASED_TEMPLATE_PATH;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VrGrpoError(
      'CONFIG_INVALID',
      `judge.vlm.promptTemplate: cannot read ${path === null ? 'the shipped template' : file}: ${error instanceof Error ? error.message : String(error)}`,
      {
        details: { problems: ['judge.vlm.promptTemplate: unreadable'] },
        cause: error,
      },
    );
  }
  return compileTemplate(text, path === null ? 'templates/vr-thinker-released.txt' : file);
}
