/** The error catalogue: every stable error code the project raises, with a one-line meaning and whether a retry can help. */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, summary: 'A configuration file or value failed validation; the message names the field path and the reason.' },
  CONFIG_NOT_FOUND: { retryable: false, summary: 'The configuration file does not exist or cannot be read.' },
  INVALID_ARGUMENT: { retryable: false, summary: 'A function or command received an argument outside its documented domain.' },
  INVALID_STATE: {
    retryable: false,
    summary:
      'An object was asked for something its lifecycle state does not allow: an illegal state transition (a second start, a run of a loop that is not ready) or a one-time binding made twice; the message names the state.',
  },
  CLOSED: {
    retryable: false,
    summary: 'The object the call went to (reward pool, VLM client, generator) was closed before or during the call; the call cannot complete there.',
  },
  NOT_SUPPORTED: {
    retryable: false,
    summary: 'The object cannot do what was asked in the configuration it was built with (e.g. an update on a generator created without trainer options).',
  },
  ABORTED: {
    retryable: false,
    summary: "The caller's abort signal fired before the operation finished (a cancelled judgment or benchmark run); cancelled work is not retried.",
  },
  ADDRESS_IN_USE: {
    retryable: false,
    summary: 'A server cannot listen because another socket holds its host:port (EADDRINUSE); `details` carries host, port and the errno code as `reason`.',
  },
  BIND_FAILED: {
    retryable: false,
    summary:
      'A server cannot listen on its host:port for another reason than a taken port (EACCES, EADDRNOTAVAIL, …); `details` carries host, port and the errno code as `reason`.',
  },
  TENSOR_BACKEND_UNAVAILABLE: { retryable: false, summary: 'The requested TensorFlow.js backend cannot be loaded on this machine.' },
  FFMPEG_NOT_FOUND: { retryable: false, summary: 'No usable ffmpeg/ffprobe binary was found (config, FFMPEG_PATH/FFPROBE_PATH, PATH, bundled package).' },
  BROWSER_NOT_FOUND: {
    retryable: false,
    summary:
      'No usable Chromium was found (option, CHROMIUM_PATH, a system chromium on PATH, or the one shipped in @sparticuz/chromium), or the shipped one could not be unpacked.',
  },
  VIDEO_DECODE_FAILED: { retryable: false, summary: 'A video file is missing, corrupt or cannot be probed/decoded; carries the tail of ffmpeg stderr.' },
  VIDEO_TOO_LARGE: {
    retryable: false,
    summary:
      'A video is beyond the configured media limits (pixels per frame, frames, duration, decoded bytes), found from its header before any frame is decoded; `details` names the limit.',
  },
  VIDEO_ENCODE_FAILED: { retryable: false, summary: 'ffmpeg failed to encode frames to a video file; carries the tail of ffmpeg stderr.' },
  CHECKPOINT_NOT_FOUND: { retryable: false, summary: 'A model checkpoint directory or its manifest does not exist.' },
  CHECKPOINT_INVALID: {
    retryable: false,
    summary: 'A checkpoint manifest or weight file is malformed, has the wrong version, or does not match the model shape.',
  },
  BAD_MESSAGE: {
    retryable: false,
    summary: 'A WebSocket text message is not valid JSON (or a binary message arrived without a video header). The connection stays open.',
  },
  INVALID_REQUEST: { retryable: false, summary: 'A message violates its schema; the message names the field. The connection stays open.' },
  UNKNOWN_TYPE: { retryable: false, summary: 'A message has a `type` the protocol does not define.' },
  PROTOCOL_MISMATCH: { retryable: false, summary: 'The client speaks a protocol version the server does not.' },
  DUPLICATE_ID: { retryable: false, summary: 'A judge request reuses the id of a request still in flight on the same connection.' },
  FORBIDDEN_PATH: {
    retryable: false,
    summary: 'A video URI is not a file:// URI under the configured artifact root, or a file a checkpoint names resolves outside its folder.',
  },
  OVERLOADED: {
    retryable: true,
    summary:
      "Too many requests in flight on this connection, or the server's memory budget for inline and decoded frames is full; retry later or on another replica.",
  },
  PAYLOAD_TOO_LARGE: { retryable: false, summary: 'A message exceeds the server payload limit; the connection is closed with code 1009.' },
  UNAUTHORIZED: { retryable: false, summary: 'Missing or wrong bearer token; the WebSocket upgrade is refused with HTTP 401.' },
  SLOW_CONSUMER: {
    retryable: true,
    summary: 'A peer left more than the server send-buffer limit unread and sent another message; the connection is closed with code 1008.',
  },
  FORBIDDEN_ORIGIN: {
    retryable: false,
    summary: 'A request names a Host (HTTP 421) or an upgrade carries an Origin (HTTP 403) that is not on the server allow-list.',
  },
  SHUTTING_DOWN: { retryable: true, summary: 'The server is draining (SIGTERM) and accepts no new judgments; retry on another replica.' },
  FORMAT_ERROR: { retryable: false, summary: 'The judge backend produced no parseable answer within its allowed turns and re-asks.' },
  JUDGE_FAILED: { retryable: true, summary: 'A judgment failed for a reason not covered by a more specific code (the message says why).' },
  CONNECTION_FAILED: {
    retryable: true,
    summary:
      "A connection to a server could not be opened: refused or unreachable, the WebSocket upgrade refused with an unexpected HTTP status, or closed before the server's hello.",
  },
  CONNECTION_LOST: {
    retryable: true,
    summary: 'The connection to a server closed (or a send on it failed) while a request was pending; the server may not have run the request.',
  },
  REQUEST_TIMEOUT: {
    retryable: true,
    summary: "A server did not answer a request (or the hello) within the client's timeout; the server may still be working on it.",
  },
  NO_REPLICA_REACHABLE: {
    retryable: true,
    summary:
      "No reward-server replica of a pool was connected with a free slot within the pool's `waitForReplicaMs`; replicas keep reconnecting in the background.",
  },
  PROTOCOL_VIOLATION: {
    retryable: false,
    summary: 'A server answered a request with a well-formed message of the wrong kind (e.g. another admin answer than the one asked for).',
  },
  NO_ANSWER: {
    retryable: false,
    summary: 'A pairwise verdict came back without an overall answer where one is required (benchmark evaluation), never replaced by a default.',
  },
  REWARD_SERVER_START_FAILED: {
    retryable: false,
    summary:
      'A reward server spawned by `train` (local mode) exited, or did not report listening within its start timeout; `details.stderrTail` carries its stderr.',
  },
  MODEL_INVALID: {
    retryable: false,
    summary: 'An ONNX model file or its manifest is missing, malformed, not a regular file, over the size limit, or has an unexpected input/output signature.',
  },
  GENERATOR_UNAVAILABLE: { retryable: true, summary: 'A remote generator worker cannot be reached, or its connection dropped while a request was pending.' },
  GENERATOR_STATE_LOST: {
    retryable: false,
    summary:
      'A remote generator worker came back with another policy than the run trained (it restarted without its state folder, or from an older state); retrying on it would silently train a reset policy.',
  },
  GENERATOR_FAILED: { retryable: false, summary: 'A generator (in-process or remote) failed to roll out or update; the message says why.' },
  UPDATE_REJECTED: {
    retryable: false,
    summary:
      'A policy update was refused because its loss, gradients or new parameters were not finite (absurd advantages, a diverging step); the policy and the optimizer state are kept as they were before it.',
  },
  GENERATOR_STATE_CORRUPT: {
    retryable: false,
    summary:
      "A generator worker's saved policy state (`serve-generator --state-dir`) is unreadable, does not fit the policy, or holds non-finite numbers; the worker refuses to start from it (or to save it).",
  },
  INFERENCE_FAILED: { retryable: false, summary: 'Running an ONNX session failed.' },
  TRAINING_DIVERGED: { retryable: false, summary: 'A training loss became non-finite (perception or judge-policy training); lower the learning rate.' },
  FILE_WRITE_FAILED: {
    retryable: false,
    summary: 'A file could not be written (permissions, a full disk, a path through a file); the message names the path.',
  },
  ASSET_MISSING: { retryable: false, summary: 'A file the package ships (a dashboard asset) is missing or unreadable: the installation is broken.' },
  BROWSER_TIMEOUT: {
    retryable: true,
    summary: 'A page in the headless browser did not reach the expected condition within its timeout (a slow machine, or a page that never renders).',
  },
  BACKEND_UNAVAILABLE: {
    retryable: true,
    summary: 'The VLM server cannot be reached, dropped the connection, or kept answering 408/429/5xx (or a malformed body) after the allowed retries.',
  },
  BACKEND_TIMEOUT: { retryable: true, summary: 'A request to the VLM server got no complete answer within the per-request timeout (judge.vlm.timeoutMs).' },
  BACKEND_REJECTED: {
    retryable: false,
    summary:
      'The VLM server refused a request with a 4xx status other than 408/429 (bad request, unknown model, context too long, authentication); the message carries the status and the server text.',
  },
  RM_VERSION_MIXED: {
    retryable: true,
    summary:
      "A group's judgments came from different judge versions (a swap mid-group) and re-judging did not settle on one; the group is dropped, never mixed.",
  },
  ADMIN_FORBIDDEN: {
    retryable: false,
    summary: 'An admin command (load_checkpoint, rollback, checkpoint_status) came without the right admin token, or the server has no admin token configured.',
  },
  CHECKPOINT_REJECTED: {
    retryable: false,
    summary:
      'A judge checkpoint loaded but was not switched to: its version label is already serving, or it agreed with the current version less than the agreement floor.',
  },
  CANARY_FAILED: {
    retryable: false,
    summary:
      'A judge checkpoint failed its canary: a canary judgment did not complete in time or did not parse as a verdict of that version, or its model probe or canary exceeded the memory or time budget.',
  },
  SWAP_IN_PROGRESS: { retryable: true, summary: 'A checkpoint load or rollback was asked for while another one is still running; retry when it has finished.' },
} as const satisfies Record<string, { readonly retryable: boolean; readonly summary: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
