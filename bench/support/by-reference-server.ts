/**
 * A stand-in server process for `npm run bench:by-reference`, so the generator and the judges hold their videos on
 * event loops and heaps of their own, as on hosts of their own:
 * `node bin/run-ts.js bench/support/by-reference-server.ts generator WIDTH HEIGHT FRAMES FPS ARTIFACT_ROOT` (a generator
 * worker with a `WaitingGenerator` that answers at once, writing reference rollouts under ARTIFACT_ROOT; loopback, no
 * token) or `… judge TOKEN ARTIFACT_ROOT LIMITS` (a reward server with a `WaitingJudge` that reads `file://` videos under
 * ARTIFACT_ROOT; LIMITS is `default`, or `raised` for inline videos of up to 1 GiB). Prints `listening ws://HOST:PORT`;
 * drains on SIGTERM.
 */
import { createHash } from 'node:crypto';
import { silentLogger } from '../../src/common/logger.js';
import { GeneratorWorkerServer } from '../../src/generator/remote/worker-server.js';
import { RolloutArtifacts } from '../../src/generator/remote/rollout-artifacts.js';
import { Media } from '../../src/media/index.js';
import { installSignalDrain, RewardServer } from '../../src/reward-server/index.js';
import { WaitingGenerator, WaitingJudge } from './pipeline-standins.js';

/** Limits of the `raised` judge: room for a whole step of 480p × 81 inline videos (≈ 97 MiB each). */
const RAISED_LIMITS = {
  maxPayloadBytes: 1024 ** 3,
  maxInlineBytesPerConnection: 4 * 1024 ** 3,
  maxFrameMemoryBytes: 8 * 1024 ** 3,
} as const;

/**
 * The stand-in generator with a policy digest (the coordinator records one with every checkpoint, the final one
 * included): a hash of the updates it applied, so equal digests mean the same policy.
 */
class DigestedWaitingGenerator extends WaitingGenerator {
  policyDigest(): Promise<string> {
    return Promise.resolve(createHash('sha256').update(JSON.stringify(this.advantages)).digest('hex'));
  }
}

/** Time each stand-in judgment waits after reading its frame, in milliseconds (small: the bench measures transport). */
const JUDGMENT_MS = 5;

const [kind, ...args] = process.argv.slice(2);
const arg = (i: number): string => {
  const v = args[i];
  if (v === undefined) throw new Error(`by-reference-server.ts ${String(kind)}: argument ${i + 1} missing`);
  return v;
};
const log = silentLogger();
const media = await Media.create();
if (kind === 'generator') {
  const generator = new DigestedWaitingGenerator({
    generateMsPerVideo: 0,
    updateMs: 0,
    size: { width: Number(arg(0)), height: Number(arg(1)), frameCount: Number(arg(2)), fps: Number(arg(3)) },
  });
  const worker = await GeneratorWorkerServer.start({
    generator,
    log,
    host: '127.0.0.1',
    port: 0,
    artifacts: await RolloutArtifacts.open(arg(4), media),
  });
  process.stdout.write(`listening ${worker.url}\n`);
  await installSignalDrain(worker, log);
} else if (kind === 'judge') {
  const limits = arg(2);
  if (limits !== 'default' && limits !== 'raised') throw new Error(`by-reference-server.ts judge: LIMITS is default or raised, not ${limits}`);
  const server = await RewardServer.start({
    service: new WaitingJudge(JUDGMENT_MS),
    media,
    log,
    artifactRoot: arg(1),
    host: '127.0.0.1',
    port: 0,
    token: arg(0),
    maxInFlightPerConnection: 1024,
    ...(limits === 'raised' ? RAISED_LIMITS : {}),
  });
  process.stdout.write(`listening ${server.url}\n`);
  await installSignalDrain(server, log);
} else {
  throw new Error(`usage: by-reference-server.ts generator|judge …, not ${String(kind)}`);
}
