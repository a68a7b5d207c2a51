/** Loopback HTTP helpers for the dashboard tests: plain requests (raw paths allowed) and an SSE reader. */
import http from 'node:http';

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request to `base` + `path`, sent as written (no URL normalisation on this side). */
export function request(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface SseMessage {
  readonly id: string | null;
  readonly event: string;
  readonly data: string;
  readonly comment: boolean;
}

/** A `/feed` connection that collects messages (and comments) as they arrive. */
export class SseReader {
  readonly messages: SseMessage[] = [];
  status = 0;
  ended = false;
  #buffer = '';
  #waiters: (() => void)[] = [];
  #req: http.ClientRequest | null = null;
  #res: http.IncomingMessage | null = null;

  static open(base: string, path: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    const url = new URL(base);
    return new Promise((resolve, reject) => {
      const req = http.get({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
        reader.status = res.statusCode ?? 0;
        reader.#res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => reader.#feed(chunk));
        res.on('end', () => {
          reader.ended = true;
          reader.#wake();
        });
        res.on('error', () => undefined);
        resolve(reader);
      });
      reader.#req = req;
      req.on('error', reject);
    });
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let cut: number;
    while ((cut = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, cut);
      this.#buffer = this.#buffer.slice(cut + 2);
      let id: string | null = null;
      let event = 'message';
      const data: string[] = [];
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      this.messages.push({ id, event, data: data.join('\n'), comment: comment && data.length === 0 });
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first message (from the start) matching `predicate`; rejects after `timeoutMs`. */
  async waitFor(predicate: (m: SseMessage) => boolean, timeoutMs = 5_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found !== undefined) return found;
      if (this.ended) throw new Error('feed ended before the expected message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching feed message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((m) => m.event))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server ended the stream; rejects after `timeoutMs`. */
  async waitEnded(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('feed did not end');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops reading without closing (a stalled browser tab). */
  pause(): void {
    this.#res?.pause();
  }

  close(): void {
    this.#req?.destroy();
  }
}
