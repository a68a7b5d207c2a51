/**
 * `npm run bench:transport`: the reward server's transport with a null judge (frames read, no judging) against a bare
 * node:http JSON endpoint doing the same work, in the same run: judgments per second and p50/p99 latency at 1, 8 and
 * 64 concurrent clients (each client one connection, one judgment at a time; the WebSocket client sends the raw video
 * as a binary message, the HTTP client as base64 in the JSON body). Median of BENCH_REPEATS (3) rounds of
 * BENCH_JUDGMENTS (400) judgments per point. Results to bench/results/transport.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.js';
import type { RawVideo } from '../src/media/index.js';
import { RewardServerClient } from '../src/reward-client/index.js';
import { machineInfo, median } from './machine.js';
import { startChildServer, stopChildServer } from './support/child-server.js';

const JUDGMENTS = Number(process.env.BENCH_JUDGMENTS ?? 400);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,8,64').split(',').map(Number);
const TOKEN = 'bench-transport';
const video: RawVideo = { width: 64, height: 64, frameCount: 24, fps: 8, data: new Uint8Array(64 * 64 * 3 * 24).fill(120) };
const videoBase64 = Buffer.from(video.data).toString('base64');

interface Point {
  readonly judgmentsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** JUDGMENTS judgments spread over `clients` sequential workers. */
async function measure(clients: number, judgeOnce: (worker: number, seq: number) => Promise<void>): Promise<Point> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      while (next < JUDGMENTS) {
        const seq = next++;
        const t0 = performance.now();
        await judgeOnce(worker, seq);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { judgmentsPerSecond: JUDGMENTS / ((performance.now() - started) / 1000), p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

function medianPoint(points: readonly Point[]): Point {
  return {
    judgmentsPerSecond: median(points.map((p) => p.judgmentsPerSecond)),
    p50Ms: median(points.map((p) => p.p50Ms)),
    p99Ms: median(points.map((p) => p.p99Ms)),
  };
}

function postJson(agent: http.Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/judge',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: string };
          if (res.statusCode !== 200 || answer.type !== 'verdict') reject(new Error(`bare endpoint answered ${String(res.statusCode)}`));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ws = await startChildServer('fixed-cost-server.ts', ['0', TOKEN]);
const bare = await startChildServer('bare-http-server.ts', []);
const rows: { clients: number; rewardServer: Point; bareHttp: Point }[] = [];
try {
  for (const clients of CLIENTS) {
    const conns = await Promise.all(Array.from({ length: clients }, () => RewardServerClient.connect(ws.url, { token: TOKEN })));
    const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const bareUrl = new URL(bare.url);
    const wsOnce = async (worker: number, seq: number): Promise<void> => {
      const c = conns[worker];
      if (c === undefined) throw new Error('no connection');
      const id = `b${seq}`;
      await Promise.all([
        c.sendInlineVideo(`${id}-v`, video),
        c.judge({ id, prompt: 'a red circle moving left', mode: 'pointwise', videos: [{ inline: `${id}-v` }] }),
      ]);
    };
    const httpOnce = (worker: number, seq: number): Promise<void> => {
      const agent = agents[worker];
      if (agent === undefined) throw new Error('no agent');
      const body = JSON.stringify({
        id: `h${seq}`,
        prompt: 'a red circle moving left',
        mode: 'pointwise',
        video: { width: video.width, height: video.height, frameCount: video.frameCount, fps: video.fps, data: videoBase64 },
      });
      return postJson(agent, bareUrl, body);
    };
    try {
      await measure(clients, wsOnce); // warm-up
      await measure(clients, httpOnce);
      const a: Point[] = [];
      const b: Point[] = [];
      // Interleaved, so both see the same machine state.
      for (let i = 0; i < REPEATS; i++) {
        a.push(await measure(clients, wsOnce));
        b.push(await measure(clients, httpOnce));
      }
      const row = { clients, rewardServer: medianPoint(a), bareHttp: medianPoint(b) };
      rows.push(row);
      process.stderr.write(
        `${clients} client(s): reward server ${row.rewardServer.judgmentsPerSecond.toFixed(0)}/s, bare http ${row.bareHttp.judgmentsPerSecond.toFixed(0)}/s\n`,
      );
    } finally {
      await Promise.all(conns.map((c) => c.close()));
      for (const agent of agents) agent.destroy();
    }
  }
} finally {
  await Promise.all([stopChildServer(ws), stopChildServer(bare)]);
}
const result = {
  benchmark: 'transport',
  date: new Date().toISOString(),
  machine: machineInfo(),
  setup: { judgments: JUDGMENTS, repeats: REPEATS, video: '64×64, 24 frames (295 kB raw)' },
  rows,
};
mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'transport.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
