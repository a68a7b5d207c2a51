/**
 * A stand-in server process for `BENCH_MODE=accelerator npm run bench:pipeline`, so the stand-ins' transport runs on
 * their own event loops as on their own hosts: `node bin/run-ts.js bench/support/pipeline-standin-server.ts judge
 * JUDGMENT_MS TOKEN` (a reward server with a `WaitingJudge`) or `… generator MS_PER_VIDEO UPDATE_MS WIDTH HEIGHT FRAMES
 * FPS` (a generator worker with a `WaitingGenerator`, loopback, no token). Prints `listening ws://HOST:PORT`; drains on
 * SIGTERM.
 */
import { silentLogger } from '../../src/common/logger.js';
import { installSignalDrain } from '../../src/reward-server/index.js';
import { startStandinGeneratorWorker, startStandinRewardServers, WaitingGenerator } from './pipeline-standins.js';

const [kind, ...args] = process.argv.slice(2);
const num = (i: number): number => Number(args[i]);
const log = silentLogger();
if (kind === 'judge') {
  const servers = await startStandinRewardServers(1, num(0), args[1] ?? 'standin');
  process.stdout.write(`listening ${servers.urls[0] ?? ''}\n`);
  await installSignalDrain({ close: () => servers.close(), closed: servers.closed }, log);
} else if (kind === 'generator') {
  const generator = new WaitingGenerator({
    generateMsPerVideo: num(0),
    updateMs: num(1),
    size: { width: num(2), height: num(3), frameCount: num(4), fps: num(5) },
  });
  const worker = await startStandinGeneratorWorker(generator);
  process.stdout.write(`listening ${worker.url}\n`);
  await installSignalDrain(worker, log);
} else {
  throw new Error(`usage: pipeline-standin-server.ts judge|generator …, not ${String(kind)}`);
}
