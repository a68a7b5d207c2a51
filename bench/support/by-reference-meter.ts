/**
 * Meters of `npm run bench:by-reference`, run inside the coordinator process: the bytes of its TCP sockets to given
 * ports (every client socket the process opens is seen through the `net.client.socket` diagnostics channel, so nothing
 * sits between the coordinator and its peers) and its resident set size, sampled on a timer.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/** Bytes one side of the coordinator's sockets carried. */
export interface SocketBytes {
  /** Bytes the coordinator read from the peers (the generator's videos, the judges' verdicts). */
  readonly read: number;
  /** Bytes the coordinator wrote to the peers (requests, inline videos to the judges). */
  readonly written: number;
}

const CHANNEL = 'net.client.socket';

/** Counts the bytes of every client socket this process opens to one of `ports` on loopback, from now until `stop()`. */
export class SocketByteMeter {
  readonly #sockets: { readonly socket: Socket; port: number | null }[] = [];
  readonly #listener = (message: unknown): void => {
    const socket = (message as { socket?: Socket } | null)?.socket;
    if (socket === undefined) return;
    const entry: { readonly socket: Socket; port: number | null } = { socket, port: null };
    this.#sockets.push(entry);
    // The remote port is known once connected (and forgotten once closed): read it then.
    socket.once('connect', () => {
      entry.port = socket.remotePort ?? null;
    });
  };
  #stopped = false;

  private constructor(private readonly ports: ReadonlySet<number>) {}

  /** Starts counting sockets to `ports` (the ports of the generator worker and the reward servers). */
  static start(ports: readonly number[]): SocketByteMeter {
    const meter = new SocketByteMeter(new Set(ports));
    subscribe(CHANNEL, meter.#listener);
    return meter;
  }

  /** Bytes so far of the sockets to the metered ports, by peer port (open sockets included). */
  byPort(): ReadonlyMap<number, SocketBytes> {
    const out = new Map<number, SocketBytes>();
    for (const { socket, port } of this.#sockets) {
      if (port === null || !this.ports.has(port)) continue;
      const was = out.get(port) ?? { read: 0, written: 0 };
      out.set(port, { read: was.read + socket.bytesRead, written: was.written + socket.bytesWritten });
    }
    return out;
  }

  /** Stops watching for new sockets (idempotent); the counts stay readable. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    unsubscribe(CHANNEL, this.#listener);
  }
}

/** Samples `process.memoryUsage().rss` every `intervalMs` until `stop()`, which returns the peak (the last sample included). */
export class RssSampler {
  #peak: number;
  #samples = 1;
  readonly #timer: NodeJS.Timeout;

  private constructor(intervalMs: number) {
    this.#peak = process.memoryUsage().rss;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  static start(intervalMs: number): RssSampler {
    return new RssSampler(intervalMs);
  }

  #sample(): void {
    this.#peak = Math.max(this.#peak, process.memoryUsage().rss);
    this.#samples += 1;
  }

  /** Stops the timer (idempotent) and answers the peak RSS in bytes and how many samples it saw. */
  stop(): { readonly peakBytes: number; readonly samples: number } {
    clearInterval(this.#timer);
    this.#sample();
    return { peakBytes: this.#peak, samples: this.#samples };
  }
}
