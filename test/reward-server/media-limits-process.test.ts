/**
 * The hostile-file finding on a real `vr-grpo serve-reward` child process (embedded judge, rm-v1): a 75 KB one-frame
 * 5000×5000 MP4 is judged at the decode size with the server's RSS growing at most 128 MiB and `/healthz` answering
 * throughout (a concurrent poller samples both; the latencies are printed), and refused from its header with the
 * default limits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import type { RawVideo } from '../../src/media/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { lavfiClip } from '../media/lavfi.js';
import { fileUri, Peer, within } from './helpers.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'vr-grpo.js');
const MiB = 1024 * 1024;
/**
 * A stall, not a latency target: the old code held /healthz for 2.7–26 s on these inputs. The ≤ 100 ms figure of issue
 * 19 is measured and reported (the printed lines, docs/reliability.md), not asserted: timings on 2 shared cores under
 * the parallel suite are not a test's business.
 */
const STALL_MS = 1_000;
/** Most measured runs per case; the best one must keep /healthz under STALL_MS (see `bestOf`). */
const ATTEMPTS = 5;

let base: string;
let root: string;
const children: ChildProcess[] = [];
const peers: Peer[] = [];

/** Starts `vr-grpo serve-reward` with `yaml` as its config; resolves with its URL and pid once it listens. */
async function serveReward(name: string, yaml: string): Promise<{ url: string; port: number; pid: number }> {
  const config = path.join(base, `${name}.yaml`);
  fs.writeFileSync(config, yaml);
  const child = spawn(
    process.execPath,
    [BIN, 'serve-reward', '--port', '0', '--checkpoint', path.join(PROJECT_ROOT, 'models', 'rm-v1'), '--artifact-root', root, '--config', config],
    { cwd: PROJECT_ROOT, env: { ...process.env, VRGRPO_LOG_LEVEL: 'warn', VRGRPO_TOKEN: '', VRGRPO_ADMIN_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^listening (ws:\/\/\S+)$/m.exec(stdout);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`serve-reward exited before listening: ${stderr.slice(-2000)}`)));
    }),
    'serve-reward to listen',
    90_000,
  );
  if (child.pid === undefined) throw new Error('no pid');
  return { url, port: Number(new URL(url).port), pid: child.pid };
}

/** Resident set size of `pid`, bytes (from /proc). */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m?.[1] === undefined) throw new Error('no VmRSS');
  return Number(m[1]) * 1024;
}

/** Time of one GET /healthz, ms (Infinity when it fails or takes more than 10 s). */
function healthzMs(port: number): Promise<number> {
  const started = performance.now();
  return new Promise<number>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Number.POSITIVE_INFINITY));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Number.POSITIVE_INFINITY));
  });
}

interface Sampled {
  readonly answer: ServerMessage;
  readonly maxHealthzMs: number;
  readonly healthzSamples: number;
  readonly rssGrowth: number;
}

/** Sends one judge request and, until its answer (and 300 ms after), polls /healthz and the server's RSS every 20 ms. */
async function judgeWhileSampling(server: { url: string; port: number; pid: number }, id: string, video: string | RawVideo): Promise<Sampled> {
  const peer = await Peer.open(server.url);
  peers.push(peer);
  if (typeof video !== 'string') {
    peer.sendVideo(`v-${id}`, video);
    const stored = await peer.nextFor(`v-${id}`, 30_000);
    if (stored.type !== 'video_received') throw new Error(`inline video refused: ${JSON.stringify(stored)}`);
  }
  const baseline = rss(server.pid);
  let maxRss = baseline;
  let maxHealthz = 0;
  let samples = 0;
  let stop = false;
  const poller = (async (): Promise<void> => {
    const deadline = performance.now() + 120_000;
    while (!stop && performance.now() < deadline) {
      maxHealthz = Math.max(maxHealthz, await healthzMs(server.port));
      maxRss = Math.max(maxRss, rss(server.pid));
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const ref = typeof video === 'string' ? { uri: video } : { inline: `v-${id}` };
  peer.send({ type: 'judge', id, prompt: 'a red ball moves left', mode: 'pointwise', videos: [ref] });
  const answer = await peer.nextFor(id, 90_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  stop = true;
  await poller;
  return { answer, maxHealthzMs: maxHealthz, healthzSamples: samples, rssGrowth: maxRss - baseline };
}

/**
 * Runs `judgeWhileSampling` up to ATTEMPTS times, checking `check` and the RSS bound on each run, and returns the
 * lowest maximum /healthz time. The machine running the suite is shared (2 cores, test files in parallel): one run can
 * stall for scheduling reasons alone (60–150 ms seen with next to no work), while the old code stalled /healthz for
 * seconds on every run (2.7–4.8 s for this file, 3.4 s for the inline frames).
 */
async function bestOf(
  server: { url: string; port: number; pid: number },
  id: string,
  video: string | RawVideo,
  check: (run: Sampled) => void,
): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ATTEMPTS && best > STALL_MS; i += 1) {
    const run = await judgeWhileSampling(server, `${id}-${i}`, video);
    process.stdout.write(
      `${id}: rss +${(run.rssGrowth / MiB).toFixed(1)} MiB, max /healthz ${run.maxHealthzMs.toFixed(1)} ms over ${run.healthzSamples} samples\n`,
    );
    check(run);
    expect(run.healthzSamples).toBeGreaterThan(3);
    expect(run.rssGrowth).toBeLessThanOrEqual(128 * MiB);
    best = Math.min(best, run.maxHealthzMs);
  }
  return best;
}

beforeAll(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-media-proc-')));
  root = path.join(base, 'artifacts');
  fs.mkdirSync(root);
  lavfiClip(path.join(root, 'big.mp4'), 'color=c=gray:s=5000x5000:r=1', 1);
  lavfiClip(path.join(root, 'small.mp4'), 'testsrc=s=64x64:r=8', 8);
}, 60_000);

afterAll(async () => {
  for (const p of peers.splice(0)) await p.close();
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  fs.rmSync(base, { recursive: true, force: true });
}, 30_000);

describe('a tiny 5000×5000 MP4 against serve-reward', () => {
  it('is judged at the decode size when allowed: RSS +≤128 MiB, /healthz never stalls', async () => {
    expect(fs.statSync(path.join(root, 'big.mp4')).size).toBeLessThan(200_000);
    const server = await serveReward('allowed', 'rewardServer:\n  media:\n    maxPixelsPerFrame: 25000000\n');
    // Warm the judge up on a small file first, so the baseline includes what any first judgment allocates.
    const warm = await judgeWhileSampling(server, 'warm', fileUri(path.join(root, 'small.mp4')));
    process.stdout.write(`warm: max /healthz ${warm.maxHealthzMs.toFixed(1)} ms\n`);
    expect(warm.answer.type).toBe('verdict');
    const best = await bestOf(server, 'big', fileUri(path.join(root, 'big.mp4')), (big) => {
      expect(big.answer.type).toBe('verdict');
    });
    expect(best).toBeLessThanOrEqual(STALL_MS);
  }, 180_000);

  it('is refused from its header with VIDEO_TOO_LARGE under the default limits, /healthz never stalls', async () => {
    const server = await serveReward('default', 'rewardServer: {}\n');
    const best = await bestOf(server, 'big', fileUri(path.join(root, 'big.mp4')), (big) => {
      expect(big.answer).toMatchObject({ type: 'error', code: 'VIDEO_TOO_LARGE' });
    });
    expect(best).toBeLessThanOrEqual(STALL_MS);
  }, 180_000);

  it('five inline 1024×1024 frames are judged at the judge size without stalling /healthz; 4096×4096 ones are refused', async () => {
    const server = await serveReward('inline', 'rewardServer: {}\n');
    // A grey gradient with a bright square moving right: what a generator sends, only larger.
    const clip = (side: number, frames: number): RawVideo => {
      const data = new Uint8Array(side * side * 3 * frames);
      for (let f = 0; f < frames; f += 1) {
        for (let y = 0; y < side; y += 1) {
          for (let x = 0; x < side; x += 1) {
            const square = x >= (f + 1) * (side / 8) && x < (f + 2) * (side / 8) && y >= side / 3 && y < side / 2;
            data.fill(square ? 230 : 40 + Math.floor((60 * y) / side), ((f * side + y) * side + x) * 3, ((f * side + y) * side + x + 1) * 3);
          }
        }
      }
      return { width: side, height: side, frameCount: frames, fps: 8, data };
    };
    const warm = await judgeWhileSampling(server, 'warm-inline', clip(64, 5));
    expect(warm.answer.type).toBe('verdict');
    const best = await bestOf(server, 'inline-1024', clip(1024, 5), (run) => {
      expect(run.answer.type).toBe('verdict');
    });
    expect(best).toBeLessThanOrEqual(STALL_MS);
    const peer = await Peer.open(server.url);
    peers.push(peer);
    peer.send({ type: 'video', ref: 'huge', width: 4096, height: 4096, frameCount: 1, pixelFormat: 'rgb24', fps: 8 });
    expect(await peer.nextFor('huge')).toMatchObject({ type: 'error', code: 'VIDEO_TOO_LARGE' });
  }, 180_000);
});
