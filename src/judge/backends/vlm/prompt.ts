/**
 * VR-Thinker's prompt shape: the `select_frames` tool (one argument `target_frames`, 1-based indices, at most 8 per
 * call) described the way Qwen2.5's chat template describes functions (Hermes style: signatures inside `<tools>`,
 * calls as `<tool_call>{"name": …, "arguments": …}</tool_call>`), which is how VR-Thinker was trained.
 */
import type { ChatTool } from './chat-messages.js';

export const SELECT_FRAMES = 'select_frames';

/** The `select_frames` function for `totalFrames` frames in one 1-based index space. */
export function selectFramesTool(totalFrames: number, maxFramesPerCall: number): ChatTool {
  return {
    type: 'function',
    function: {
      name: SELECT_FRAMES,
      description: 'Select frames from the video(s) to look at them closely.',
      parameters: {
        type: 'object',
        properties: {
          target_frames: {
            type: 'array',
            description: `List of frame indices to select (no more than ${maxFramesPerCall} frames in total).`,
            items: { type: 'integer', description: `Frame index from 1 to ${totalFrames}.` },
          },
        },
        required: ['target_frames'],
      },
    },
  };
}

/** The function-calling preamble of the system prompt (what the chat template writes when `tools` are given). */
export function toolPreamble(tool: ChatTool): string {
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query.',
    '',
    'You are provided with function signatures within <tools></tools> XML tags:',
    '<tools>',
    JSON.stringify(tool),
    '</tools>',
    '',
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
    '<tool_call>',
    '{"name": <function-name>, "arguments": <args-json-object>}',
    '</tool_call>',
  ].join('\n');
}

/** Text that opens a tool result (VR-Thinker returns tool results as user turns starting this way). */
export const TOOL_RESULT_PREFIX = 'After selecting frames:';

/** The text before the selected frames' images in the released layout (with the newline the released code sends first). */
export const SELECTED_FRAMES_TEXT = `\n${TOOL_RESULT_PREFIX} Here are the selected frames`;

/** Text standing in for an image the visual memory window dropped. */
export const DROPPED_IMAGE = '< No Focus >';

/** Label before each image. */
export const frameLabel = (index: number): string => `Frame ${index}:`;
