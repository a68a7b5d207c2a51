/**
 * Generator-worker test helpers: a worker factory on 127.0.0.1:0 and a raw protocol peer that queues every worker
 * message (binary ones too, in order). Bounded waits and the HTTP / upgrade probes come from test/transport/helpers.ts.
 */
import { silentLogger } from '../../src/common/logger.js';
import type { Config } from '../../src/config/index.js';
import type { FlowGrpoOptions } from '../../src/generator/flow-grpo-trainer.js';
import { GeneratorWorkerServer, type GeneratorWorkerOptions } from '../../src/generator/remote/index.js';
import { parseGeneratorWorkerMessage, type GeneratorWorkerMessage } from '../../src/protocol/generator-messages.js';
import { openSocket, WirePeer, type PeerOptions } from '../transport/helpers.js';

export { httpGet, rejectionOf, upgradeStatus, WAIT_MS, within } from '../transport/helpers.js';

/** Flow-GRPO trainer options from `config.training` (what `serve-generator` uses). */
export function trainerOptions(config: Config): FlowGrpoOptions {
  const t = config.training;
  return {
    learningRate: t.learningRate,
    clipRange: t.clipRange,
    beta: t.beta,
    timestepFraction: t.timestepFraction,
    maxGradNorm: t.maxGradNorm,
    innerEpochs: t.innerEpochs,
  };
}

/** Starts a worker on 127.0.0.1:0 with quiet logs. */
export function startWorker(options: Omit<GeneratorWorkerOptions, 'log'> & Partial<Pick<GeneratorWorkerOptions, 'log'>>): Promise<GeneratorWorkerServer> {
  return GeneratorWorkerServer.start({ log: silentLogger(), host: '127.0.0.1', port: 0, ...options });
}

/** A binary message as the peer saw it. */
export interface BinaryEvent {
  readonly type: 'binary';
  readonly data: Buffer;
}
export type WireEvent = GeneratorWorkerMessage | BinaryEvent;

/** A raw protocol peer: sends anything, queues every worker message (text parsed, binary kept) in arrival order. */
export class Peer extends WirePeer<WireEvent> {
  /** Opens a connection and waits for the worker `hello`. */
  static async open(url: string, options: PeerOptions = {}): Promise<Peer> {
    const peer = new Peer(openSocket(url, options), (data, isBinary) => {
      if (isBinary) return { type: 'binary', data };
      const text = data.toString('utf8');
      const parsed = parseGeneratorWorkerMessage(text);
      return parsed.ok ? parsed.message : { invalid: text };
    });
    const hello = await peer.next();
    if (hello.type !== 'hello') throw new Error(`expected hello, got ${hello.type}`);
    return peer;
  }
}
