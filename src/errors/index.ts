/** Public face of the error catalogue. */
export { ERROR_CODES, ALL_ERROR_CODES, type ErrorCode } from './codes.js';
export { VrGrpoError, isVrGrpoError, assertNever, type ErrorDetails } from './vr-grpo-error.js';
export { listenError } from './listen-error.js';
