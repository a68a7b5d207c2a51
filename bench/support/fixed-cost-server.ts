/**
 * A reward-server process with the fixed-cost judge, for the benchmarks: `node bin/run-ts.js
 * bench/support/fixed-cost-server.ts COST_MS TOKEN [cpu|sleep]` prints `listening ws://HOST:PORT` and drains on SIGTERM.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/logger.js';
import { Media } from '../../src/media/index.js';
import { RewardServer, installSignalDrain } from '../../src/reward-server/index.js';
import { FixedCostJudge } from './fixed-cost-judge.js';

const costMs = Number(process.argv[2] ?? 0);
const token = process.argv[3] ?? 'bench';
const kind = process.argv[4] === 'sleep' ? 'sleep' : 'cpu';
const log = silentLogger();
const server = await RewardServer.start({
  service: new FixedCostJudge(costMs, kind),
  media: await Media.create(),
  log,
  artifactRoot: mkdtempSync(join(tmpdir(), 'vrgrpo-bench-rs-')),
  port: 0,
  token,
  maxInFlightPerConnection: 256,
});
process.stdout.write(`listening ${server.url}\n`);
await installSignalDrain(server, log);
