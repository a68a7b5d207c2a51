/** A bounded in-memory Writable that collects ffmpeg's raw-frame stdout without temp files. */
import { Writable } from 'node:stream';

/**
 * Collects up to `maxBytes` bytes; one byte more fails the stream (fluent-ffmpeg then kills ffmpeg), so a file whose
 * header understates its size cannot exhaust memory.
 *
 * `emitClose: false` because fluent-ffmpeg 2.1.3 treats an output stream's 'close' as "closed early" and reports an
 * error 20 ms later unless ffmpeg's exit has been processed by then — a race under load.
 */
export class FrameSink extends Writable {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private exceeded = false;

  constructor(private readonly maxBytes: number) {
    super({ emitClose: false });
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.received;
  }

  /** Whether more than `maxBytes` arrived (the stream then failed). */
  get overflowed(): boolean {
    return this.exceeded;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.received + chunk.length > this.maxBytes) {
      this.exceeded = true;
      callback(new Error(`ffmpeg produced more than the expected ${this.maxBytes} bytes`));
      return;
    }
    this.chunks.push(chunk);
    this.received += chunk.length;
    callback();
  }

  /** All bytes received, copied into one exactly-sized, unpooled `Uint8Array`. */
  toUint8Array(): Uint8Array {
    const out = new Uint8Array(this.received);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
