/**
 * What a server may tell a peer about its own machine: error texts go out without absolute server paths (a path is cut
 * to `…/<base name>`, which the peer named itself); the full text stays in the server's log.
 */

/** An absolute POSIX path (optionally a `file://` URI) standing as its own word: not `a/b`, `http://h/x`, `2/3`. */
const ABSOLUTE_PATH = /(?<![\w.~/:\\-])(?:file:\/\/)?\/[^\s'"`<>|(),;]+/g;

/** `text` with every absolute path replaced by `…/<base name>`. */
export function redactServerPaths(text: string): string {
  return text.replace(ABSOLUTE_PATH, (found) => {
    const base = found.replace(/\/+$/, '').split('/').pop() ?? '';
    return base.length === 0 || base === 'file:' ? '…/' : `…/${base}`;
  });
}
