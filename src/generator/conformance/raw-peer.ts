/**
 * A raw connection to a generator worker for the conformance checks that send what `RemoteGenerator` never would (not
 * JSON, unknown types, schema violations, binary messages, `1e999`): it stands on the project's transport client and
 * queues every worker text message, parsed, for bounded waits.
 */
import { silentLogger } from '../../common/logger.js';
import { VrGrpoError } from '../../errors/index.js';
import { GENERATOR_PROTOCOL_VERSION, parseGeneratorWorkerMessage, type GeneratorWorkerMessage, type WorkerHello } from '../../protocol/generator-messages.js';
import { connectClient, type ClientConnection } from '../../transport/index.js';

function unavailable(message: string): VrGrpoError {
  return new VrGrpoError('GENERATOR_UNAVAILABLE', message);
}

export class RawWorkerPeer {
  readonly #connection: ClientConnection;
  readonly #queue: GeneratorWorkerMessage[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  private constructor(connection: ClientConnection) {
    this.#connection = connection;
    connection.attach({
      onMessage: (data, isBinary) => {
        if (isBinary) return; // video frames of a rollout on this connection: not looked at
        const parsed = parseGeneratorWorkerMessage(data.toString('utf8'));
        if (parsed.ok) this.#queue.push(parsed.message);
        this.#notify();
      },
      onClose: () => {
        this.#closed = true;
        this.#notify();
      },
    });
  }

  /** Opens a connection (protocol v2 hello) and waits, at most `timeoutMs`, for the worker `hello`. */
  static async open(url: string, options: { readonly token?: string; readonly timeoutMs: number }): Promise<RawWorkerPeer> {
    const { connection } = await connectClient<WorkerHello>({
      url,
      ...(options.token === undefined ? {} : { token: options.token }),
      connectTimeoutMs: options.timeoutMs,
      clientHello: { type: 'hello', protocol: GENERATOR_PROTOCOL_VERSION, client: 'vr-grpo-check-generator' },
      readHandshake: (text) => {
        const parsed = parseGeneratorWorkerMessage(text);
        return parsed.ok && parsed.message.type === 'hello' ? { hello: parsed.message } : null;
      },
      errors: {
        handshakeTimeout: (ms) => unavailable(`no hello from ${url} within ${ms} ms`),
        upgradeRefused: (status) => unavailable(`upgrade to ${url} refused with HTTP ${status}`),
        connectFailed: (error) => unavailable(`cannot connect to ${url}: ${error.message}`),
        closedBeforeHello: (code) => unavailable(`${url} closed (${code}) before hello`),
        notOpen: (id) => unavailable(`connection closed (${id})`),
        requestTimeout: (id, ms) => unavailable(`no answer to ${id} within ${ms} ms`),
        sendFailed: (id, error) => unavailable(`sending ${id} failed: ${error.message}`),
      },
      name: 'conformance raw peer',
      log: silentLogger(),
    });
    return new RawWorkerPeer(connection);
  }

  get isOpen(): boolean {
    return this.#connection.isOpen;
  }

  /** Sends a text message exactly as given (need not be JSON). */
  sendText(text: string): void {
    this.#connection.sendText(text);
  }

  sendBinary(data: Uint8Array): void {
    this.#connection.sendBinary(data);
  }

  /**
   * The first queued (or arriving) message `match` accepts, removed from the queue, waiting at most `timeoutMs`;
   * rejects on timeout or when the connection closes first.
   */
  async next(match: (m: GeneratorWorkerMessage) => boolean, what: string, timeoutMs: number): Promise<GeneratorWorkerMessage> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.#queue.findIndex(match);
      if (index >= 0) return this.#queue.splice(index, 1)[0] as GeneratorWorkerMessage;
      if (this.#closed) throw new Error(`the connection closed while waiting for ${what} (${this.#closeText()})`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
  }

  /** Sends `message` (an object with `id`, or raw text for the given id) and waits for the answer to that id. */
  async request(message: object | string, id: string, timeoutMs: number): Promise<GeneratorWorkerMessage> {
    this.sendText(typeof message === 'string' ? message : JSON.stringify(message));
    return this.next((m) => 'id' in m && m.id === id && m.type !== 'video' && m.type !== 'video_ref', `an answer to ${id}`, timeoutMs);
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  #closeText(): string {
    const info = this.#connection.closeInfo;
    return info === null ? 'no close frame' : `${info.code}${info.reason === '' ? '' : ` ${info.reason}`}`;
  }

  #notify(): void {
    this.#wake?.();
  }
}
