/**
 * `npm run bench:scaling`: judgments per second through the reward pool against 1, 2 and 4 reward-server processes,
 * each with a fixed-cost judge — BENCH_COST_MS (8) per judgment of CPU time (`cpu`: the judge shares this machine's
 * cores) and of waiting (`sleep`: the judge has its own accelerator or host, as in a multi-host deployment) — does
 * throughput scale with replicas?
 * Each point: BENCH_JUDGMENTS (600) pointwise judgments of a small inline video, BENCH_CONCURRENCY (64) in flight,
 * median of BENCH_REPEATS (3) rounds after a warm-up round. Results to bench/results/scaling.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.js';
import type { RawVideo } from '../src/media/index.js';
import { RewardClientPool } from '../src/reward-client/pool.js';
import { machineInfo, median } from './machine.js';
import { startChildServer, stopChildServer, type ChildServer } from './support/child-server.js';

const COST_MS = Number(process.env.BENCH_COST_MS ?? 8);
const JUDGMENTS = Number(process.env.BENCH_JUDGMENTS ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,4').split(',').map(Number);
const TOKEN = 'bench-scaling';

const video: RawVideo = { width: 32, height: 32, frameCount: 8, fps: 8, data: new Uint8Array(32 * 32 * 3 * 8).fill(90) };

type CostKind = 'cpu' | 'sleep';
const KINDS: readonly CostKind[] = ['cpu', 'sleep'];

const startServer = (kind: CostKind): Promise<ChildServer> => startChildServer('fixed-cost-server.ts', [String(COST_MS), TOKEN, kind]);

/** One round: JUDGMENTS judgments with CONCURRENCY in flight; judgments per second. */
async function round(pool: RewardClientPool): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < JUDGMENTS) {
        next += 1;
        await pool.judge({ prompt: 'a red circle moving left', mode: 'pointwise', videos: [video] });
      }
    }),
  );
  return JUDGMENTS / ((performance.now() - started) / 1000);
}

const points: { kind: CostKind; replicas: number; judgmentsPerSecond: number; rounds: number[] }[] = [];
for (const kind of KINDS) {
  for (const n of REPLICAS) {
    const servers = await Promise.all(Array.from({ length: n }, () => startServer(kind)));
    const pool = await RewardClientPool.create({ urls: servers.map((s) => s.url), token: TOKEN });
    try {
      await round(pool); // warm-up
      const rounds: number[] = [];
      for (let i = 0; i < REPEATS; i++) rounds.push(await round(pool));
      points.push({ kind, replicas: n, judgmentsPerSecond: median(rounds), rounds });
      process.stderr.write(`${kind}, ${n} replica(s): ${median(rounds).toFixed(1)} judgments/s\n`);
    } finally {
      await pool.close();
      await Promise.all(servers.map(stopChildServer));
    }
  }
}
const cores = machineInfo().cores;
const result = {
  benchmark: 'scaling',
  date: new Date().toISOString(),
  machine: machineInfo(),
  setup: { costMs: COST_MS, judgments: JUDGMENTS, concurrency: CONCURRENCY, repeats: REPEATS, video: '32×32, 8 frames, inline' },
  // Ideal: cpu — min(replicas, cores) × one replica (the coordinator shares the cores too); sleep — replicas × one replica.
  points: points.map((p) => {
    const base = points.find((q) => q.kind === p.kind && q.replicas === 1)?.judgmentsPerSecond ?? NaN;
    return { ...p, scaling: p.judgmentsPerSecond / base, ideal: p.kind === 'cpu' ? Math.min(p.replicas, cores) : p.replicas };
  }),
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'scaling.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
