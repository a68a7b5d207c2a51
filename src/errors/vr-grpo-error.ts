/** The one base error of the project: a stable `code` from the catalogue, readonly context, and the original `cause`. */
import { ERROR_CODES, type ErrorCode } from './codes.js';

export interface ErrorDetails {
  readonly [key: string]: unknown;
}

export class VrGrpoError extends Error {
  override readonly name: string = 'VrGrpoError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  /** Whether repeating the same operation may succeed (decided by code, never by message text). */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

/** Narrowing helper: `isVrGrpoError(e, 'VIDEO_DECODE_FAILED')`. */
export function isVrGrpoError(value: unknown, code?: ErrorCode): value is VrGrpoError {
  return value instanceof VrGrpoError && (code === undefined || value.code === code);
}

/** Exhaustiveness guard for switches over tagged unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new VrGrpoError('INVALID_ARGUMENT', `unexpected ${what}: ${JSON.stringify(value)}`);
}
