/** The error catalogue: every stable error code the project raises, with a one-line meaning and whether a retry can help. */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, summary: 'A configuration file or value failed validation; the message names the field path and the reason.' },
  CONFIG_NOT_FOUND: { retryable: false, summary: 'The configuration file does not exist or cannot be read.' },
  INVALID_ARGUMENT: { retryable: false, summary: 'A function or command received an argument outside its documented domain.' },
  TENSOR_BACKEND_UNAVAILABLE: { retryable: false, summary: 'The requested TensorFlow.js backend cannot be loaded on this machine.' },
  FFMPEG_NOT_FOUND: { retryable: false, summary: 'No usable ffmpeg/ffprobe binary was found (config, FFMPEG_PATH/FFPROBE_PATH, PATH, bundled package).' },
  VIDEO_DECODE_FAILED: { retryable: false, summary: 'A video file is missing, corrupt or cannot be probed/decoded; carries the tail of ffmpeg stderr.' },
  VIDEO_ENCODE_FAILED: { retryable: false, summary: 'ffmpeg failed to encode frames to a video file; carries the tail of ffmpeg stderr.' },
  CHECKPOINT_NOT_FOUND: { retryable: false, summary: 'A model checkpoint directory or its manifest does not exist.' },
  CHECKPOINT_INVALID: { retryable: false, summary: 'A checkpoint manifest or weight file is malformed, has the wrong version, or does not match the model shape.' },
} as const satisfies Record<string, { readonly retryable: boolean; readonly summary: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
