/** Trims ffmpeg/ffprobe stderr to the tail that explains a failure, for error details and messages. */

/** Most lines of stderr kept in `details.stderrTail`. */
export const STDERR_TAIL_MAX_LINES = 20;
/** Most characters of stderr kept in `details.stderrTail`. */
export const STDERR_TAIL_MAX_CHARS = 2000;

/**
 * The last {@link STDERR_TAIL_MAX_LINES} non-empty lines of `stderr`, cut to its last
 * {@link STDERR_TAIL_MAX_CHARS} characters.
 */
export function stderrTail(stderr: string | null | undefined): string {
  if (stderr === null || stderr === undefined) return '';
  const lines = stderr
    .split(/\r\n|\r|\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0);
  const tail = lines.slice(-STDERR_TAIL_MAX_LINES).join('\n');
  return tail.length > STDERR_TAIL_MAX_CHARS ? tail.slice(-STDERR_TAIL_MAX_CHARS) : tail;
}

/** One-line summary of a tail for error messages: its last `maxLines` lines joined by ` | `, at most `maxChars`. */
export function shortTail(tail: string, maxLines = 3, maxChars = 300): string {
  const joined = tail.split('\n').slice(-maxLines).join(' | ');
  return joined.length > maxChars ? `…${joined.slice(-(maxChars - 1))}` : joined;
}

/** `message` followed by `: <short tail>` when there is any stderr to show. */
export function withTail(message: string, tail: string): string {
  return tail.length > 0 ? `${message}: ${shortTail(tail)}` : message;
}
