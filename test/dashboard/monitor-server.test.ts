import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { SampledGroup, StepMetrics } from '../../src/coordinator/coordinator.js';
import { MonitorServer, type GroupRecord, type HistoryBody, type StepRecord } from '../../src/dashboard/index.js';
import { encodeFrameStrip } from '../../src/dashboard/frame-strip.js';
import { parseRange } from '../../src/dashboard/run-videos.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { Media } from '../../src/media/index.js';
import { CoordinatorMetrics } from '../../src/metrics/index.js';
import { SseReader, request } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-dash-'));
const runDir = join(root, 'run-a');
const videoRel = 'videos/step-000001/v0.mp4';
const stripRel = 'videos/step-000001/v0.frames.png';
let mp4: Buffer;
let strip: Buffer;
const servers: MonitorServer[] = [];

async function start(options: Parameters<typeof MonitorServer.start>[0] = {}): Promise<MonitorServer> {
  const s = await MonitorServer.start({ port: 0, runDir, ...options });
  servers.push(s);
  return s;
}

const history = async (s: MonitorServer): Promise<HistoryBody> => JSON.parse((await request(s.url, '/api/history')).body.toString('utf8')) as HistoryBody;

const step = (n: number, extra: Record<string, unknown> = {}): StepRecord => ({
  step: n,
  reward: { combined: n / 10, TA: 0.5, MQ: 0.5, VQ: 0.5, overall: 0.5 },
  ...extra,
});

beforeAll(async () => {
  // A real MP4 (H.264, +faststart) in the run directory, a secret next to it, and a symlink pointing out.
  mkdirSync(join(runDir, 'videos', 'step-000001'), { recursive: true });
  const media = await Media.create();
  const w = 32,
    h = 32,
    frames = 16;
  const data = new Uint8Array(w * h * 3 * frames).map((_, i) => (i * 7) % 251);
  await media.encodeMp4({ width: w, height: h, frameCount: frames, fps: 8, data }, join(runDir, videoRel));
  mp4 = readFileSync(join(runDir, videoRel));
  strip = encodeFrameStrip({ width: w, height: h, frameCount: frames, fps: 8, data }, [0, 4, 15]).png;
  writeFileSync(join(runDir, stripRel), strip);
  writeFileSync(join(root, 'outside.png'), strip);
  writeFileSync(join(runDir, 'thumbs.png'), strip);
  symlinkSync(join(root, 'outside.png'), join(runDir, 'videos', 'step-000001', 'escape.png'));
  writeFileSync(join(runDir, 'config.json'), '{"secret":true}');
  writeFileSync(join(root, 'outside.mp4'), mp4);
  writeFileSync(join(runDir, 'videos', 'notes.txt'), 'not a video');
  symlinkSync(join(root, 'outside.mp4'), join(runDir, 'videos', 'step-000001', 'escape.mp4'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('MonitorServer: options and lifecycle', () => {
  it('rejects bad options with INVALID_ARGUMENT naming the field, and an occupied port with ADDRESS_IN_USE', async () => {
    await expect(MonitorServer.start({ port: 70_000 })).rejects.toSatisfy((e) => isVrGrpoError(e, 'INVALID_ARGUMENT') && e.details.field === 'port');
    await expect(MonitorServer.start({ port: 0, maxSteps: 0 })).rejects.toSatisfy(
      (e) => isVrGrpoError(e, 'INVALID_ARGUMENT') && e.details.field === 'maxSteps',
    );
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    try {
      await expect(MonitorServer.start({ port })).rejects.toSatisfy(
        (e) => isVrGrpoError(e, 'ADDRESS_IN_USE') && e.details.reason === 'EADDRINUSE' && e.details.port === port,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('listens on loopback port 0, answers /healthz, and close() is idempotent and ends feeds', async () => {
    const s = await start();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(s.port).toBeGreaterThan(0);
    s.publishStep(step(3));
    const health = await request(s.url, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString('utf8'))).toMatchObject({ status: 'ok', step: 3 });
    const feed = await SseReader.open(s.url, '/feed');
    await feed.waitFor((m) => m.event === 'hello');
    expect(s.feedClients).toBe(1);
    const [a, b] = [s.close(), s.close()];
    expect(a).toBe(b);
    await a;
    await feed.waitEnded();
    expect(s.state).toBe('closed');
    s.publishStep(step(4)); // ignored, never throws
    await expect(request(s.url, '/healthz')).rejects.toThrow();
  });
});

describe('MonitorServer: page and assets', () => {
  it('serves the page with a strict CSP, its script and styles, and uPlot from node_modules', async () => {
    const s = await start();
    const page = await request(s.url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const html = page.body.toString('utf8');
    for (const src of ['static/uPlot.iife.min.js', 'static/uPlot.min.css', 'static/app.js', 'static/app.css']) {
      expect(html).toContain(src);
      const asset = await request(s.url, `/${src}`);
      expect(asset.status, src).toBe(200);
      expect(asset.headers['content-type']).toMatch(src.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    }
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const require = createRequire(import.meta.url);
    const uplot = await request(s.url, '/static/uPlot.iife.min.js');
    expect(uplot.body.equals(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')))).toBe(true);
    const etag = (await request(s.url, '/static/app.js')).headers.etag;
    expect(etag).toMatch(/^".+"$/);
    expect((await request(s.url, '/static/app.js', { headers: { 'if-none-match': String(etag) } })).status).toBe(304);
    expect((await request(s.url, '/static/../package.json')).status).toBe(404);
    expect((await request(s.url, '/static/nope.js')).status).toBe(404);
    expect((await request(s.url, '/nope')).status).toBe(404);
    const post = await request(s.url, '/api/history', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('MonitorServer: history and feed', () => {
  it('/api/history returns every step, event (with the step it followed) and the latest groups, in order', async () => {
    const s = await start({ maxSteps: 5, maxGroups: 2 });
    s.publishEvent({ time: 't0', event: 'start', steps: 9 });
    for (let n = 1; n <= 7; n++) s.publishStep(step(n));
    s.publishEvent({ time: 't1', event: 'rm_version_change', to: 'rm-v2' });
    const group = (n: number): GroupRecord => ({ step: n, prompt: `p${n}`, videos: [], verdicts: [] });
    for (const n of [2, 4, 6]) s.publishGroup(group(n));
    const h = await history(s);
    expect(h.title).toBe('run-a');
    expect(h.seq).toBe(1 + 7 + 1 + 3);
    expect(h.steps.map((r) => r.step)).toEqual([3, 4, 5, 6, 7]); // bounded: the oldest dropped
    expect(h.events).toEqual([
      { time: 't0', event: 'start', steps: 9, atStep: 0 },
      { time: 't1', event: 'rm_version_change', to: 'rm-v2', atStep: 7 },
    ]);
    expect(h.groups.map((g) => g.prompt)).toEqual(['p4', 'p6']);
    // A resumed run repeats steps 6..: they replace what was there.
    s.publishStep(step(6, { resumed: true }));
    expect((await history(s)).steps.map((r) => [r.step, r.resumed ?? false])).toEqual([
      [3, false],
      [4, false],
      [5, false],
      [6, true],
    ]);
  });

  it('never throws into the training loop: an unserialisable or step-less record is dropped', async () => {
    const s = await start();
    expect(() => s.publishStep({ step: 1, big: 1n })).not.toThrow();
    expect(() => s.publishStep({ step: Number.NaN })).not.toThrow();
    const cyclic: Record<string, unknown> = { event: 'x' };
    cyclic.self = cyclic;
    expect(() => s.publishEvent(cyclic)).not.toThrow();
    s.publishStep(step(2));
    expect((await history(s)).steps.map((r) => r.step)).toEqual([2]);
  });

  it('SSE delivers published steps, events and groups live, numbered, and replays what a reconnecting client missed', async () => {
    const s = await start({ heartbeatIntervalMs: 50 });
    s.publishStep(step(1));
    const feed = await SseReader.open(s.url, '/feed?since=1');
    expect(feed.status).toBe(200);
    const hello = await feed.waitFor((m) => m.event === 'hello');
    expect(JSON.parse(hello.data)).toEqual({ seq: 1 });
    const record = step(2, { kl: 0.01, drift: { psi: 0.2 } });
    s.publishStep(record);
    const got = await feed.waitFor((m) => m.event === 'step');
    expect(got.id).toBe('2');
    expect(JSON.parse(got.data)).toEqual(record);
    s.publishEvent({ event: 'drift', detector: 'psi' });
    const ev = await feed.waitFor((m) => m.event === 'event');
    expect(JSON.parse(ev.data)).toEqual({ event: 'drift', detector: 'psi', atStep: 2 });
    s.publishGroup({ step: 2, prompt: 'a red ball', videos: [], verdicts: [] });
    expect(JSON.parse((await feed.waitFor((m) => m.event === 'group')).data)).toMatchObject({ step: 2, prompt: 'a red ball' });
    // Step 1 came before the client's `since`: not repeated.
    expect(feed.messages.filter((m) => m.event === 'step')).toHaveLength(1);
    await feed.waitFor((m) => m.comment); // heartbeat
    feed.close();
    // The browser reconnects with Last-Event-ID: it gets exactly what came after.
    s.publishStep(step(3));
    const again = await SseReader.open(s.url, '/feed', { 'last-event-id': '3' });
    await again.waitFor((m) => m.event === 'group');
    await again.waitFor((m) => m.event === 'step' && m.id === '5');
    expect(again.messages.filter((m) => m.id !== null).map((m) => m.id)).toEqual(['4', '5']);
    again.close();
    for (let i = 0; i < 50 && s.feedClients > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.feedClients).toBe(0);
  });

  it('bounds feed clients and drops one that stops reading instead of buffering without end', async () => {
    const s = await start({ maxClients: 1, maxSteps: 4, maxClientBufferBytes: 64 * 1024 });
    const slow = await SseReader.open(s.url, '/feed');
    await slow.waitFor((m) => m.event === 'hello');
    const refused = await request(s.url, '/feed');
    expect(refused.status).toBe(503);
    slow.pause();
    const padding = 'x'.repeat(64 * 1024);
    let published = 0;
    // Loopback socket buffers hold a few MiB; past them the server's queue grows and the client must be dropped.
    while (s.feedClients > 0 && published < 2_000) {
      s.publishStep(step(++published, { padding }));
      if (published % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(s.feedClients).toBe(0);
    expect(published).toBeLessThan(2_000);
    slow.close();
  });
});

describe('MonitorServer: /metrics', () => {
  it('passes a prom-client registry through with its content type; 404 without one; 500 when collection fails', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'vrgrpo_test_steps_total', help: 'Steps.', registers: [registry] });
    c.inc(3);
    const s = await start({ metrics: registry });
    const res = await request(s.url, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(registry.contentType);
    expect(res.body.toString('utf8')).toBe(await registry.metrics());
    expect(res.body.toString('utf8')).toContain('vrgrpo_test_steps_total 3');
    // The coordinator's own metrics (a MetricsSource) go through the same endpoint.
    const coordinatorMetrics = new CoordinatorMetrics();
    coordinatorMetrics.recordStep(step(7, { kl: 0.25 }));
    const viaSource = await request((await start({ metrics: coordinatorMetrics })).url, '/metrics');
    expect(viaSource.status).toBe(200);
    expect(viaSource.headers['content-type']).toBe(coordinatorMetrics.registry.contentType);
    expect(viaSource.body.toString('utf8')).toBe((await coordinatorMetrics.exposition()).body);
    expect(viaSource.body.toString('utf8')).toMatch(/^vrgrpo_\w*kl\w* 0\.25$/m);
    await expect(MonitorServer.start({ port: 0, metrics: {} as Registry })).rejects.toSatisfy(
      (e) => isVrGrpoError(e, 'INVALID_ARGUMENT') && e.details.field === 'metrics',
    );
    const bare = await start();
    expect((await request(bare.url, '/metrics')).status).toBe(404);
    const broken = await start({ metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) } });
    expect((await request(broken.url, '/metrics')).status).toBe(500);
  });
});

describe('MonitorServer: run videos', () => {
  it('serves an MP4 whole and by byte ranges (206, suffix, open-ended, 416), HEAD without a body', async () => {
    const s = await start();
    const path = `/runs/${videoRel}`;
    const whole = await request(s.url, path);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(mp4)).toBe(true);
    const size = mp4.length;
    expect(size).toBeGreaterThan(200);
    const first = await request(s.url, path, { headers: { range: 'bytes=0-99' } });
    expect(first.status).toBe(206);
    expect(first.headers['content-range']).toBe(`bytes 0-99/${size}`);
    expect(first.headers['content-length']).toBe('100');
    expect(first.body.equals(mp4.subarray(0, 100))).toBe(true);
    const middle = await request(s.url, path, { headers: { range: 'bytes=100-' } });
    expect(middle.status).toBe(206);
    expect(middle.body.equals(mp4.subarray(100))).toBe(true);
    const suffix = await request(s.url, path, { headers: { range: 'bytes=-50' } });
    expect(suffix.headers['content-range']).toBe(`bytes ${size - 50}-${size - 1}/${size}`);
    expect(suffix.body.equals(mp4.subarray(size - 50))).toBe(true);
    const beyond = await request(s.url, path, { headers: { range: `bytes=${size}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${size}`);
    const head = await request(s.url, path, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(size));
    expect(head.body.length).toBe(0);
  });

  it("serves the judge's thumbnail strips as image/png, confined to videos/ like the MP4s", async () => {
    const s = await start();
    const res = await request(s.url, `/runs/${stripRel}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body.equals(strip)).toBe(true);
    for (const path of [
      '/runs/thumbs.png',
      '/runs/videos/step-000001/escape.png',
      '/runs/videos/step-000001/..%2F..%2Fthumbs.png',
      '/runs/videos/..%2F..%2Foutside.png',
      '/runs/videos/step-000001%5c..%5c..%5cthumbs.png',
    ]) {
      const refused = await request(s.url, path);
      expect(refused.status, path).toBe(403);
      expect(refused.headers['content-type'], path).not.toBe('image/png');
    }
    for (const path of ['/runs/videos/../thumbs.png', '/runs/videos/../../outside.png']) {
      const res2 = await request(s.url, path);
      expect([403, 404], path).toContain(res2.status);
      expect(res2.headers['content-type'], path).not.toBe('image/png');
    }
    expect((await request(s.url, '/runs/videos/step-000001/missing.png')).status).toBe(404);
    expect((await request(s.url, '/runs/videos/step-000001/v0.frames.gif')).status).toBe(404);
  });

  it('parses ranges as RFC 9110 says (several ranges or another unit: the whole file)', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=2-4', 10)).toEqual({ start: 2, end: 4 });
    expect(parseRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
    expect(parseRange('bytes=5-2', 10)).toBeNull();
  });

  it('refuses traversal, paths outside videos/, backslashes and symlinks out with 403; unknown files 404', async () => {
    const s = await start();
    const refused = [
      '/runs/videos/..%2f..%2fouts.mp4',
      '/runs/videos%2f..%2fconfig.json',
      '/runs/videos/step-000001/..%2F..%2F..%2Foutside.mp4',
      '/runs/config.json',
      '/runs/videos/step-000001%5c..%5c..%5cconfig.json',
      '/runs/videos/step-000001/escape.mp4',
      '/runs/videos//step-000001/v0.mp4',
    ];
    for (const path of refused) {
      const res = await request(s.url, path);
      expect(res.status, path).toBe(403);
      expect(res.body.toString('utf8')).not.toContain('secret');
    }
    // Sent raw: the server's URL parser resolves the dot segments first, so these land outside /runs/videos/.
    for (const path of ['/runs/videos/../config.json', '/runs/videos/../../outside.mp4', '/runs/../run-a/config.json']) {
      const res = await request(s.url, path);
      expect([403, 404], path).toContain(res.status);
      expect(res.body.toString('utf8')).not.toContain('secret');
      expect(res.headers['content-type']).not.toBe('video/mp4');
    }
    expect((await request(s.url, '/runs/videos/step-000001/missing.mp4')).status).toBe(404);
    expect((await request(s.url, '/runs/videos/notes.txt')).status).toBe(404);
    expect((await request(s.url, '/runs/videos/%E0%A4%A.mp4')).status).toBe(400);
    const noRun = await start({ runDir: null });
    expect((await request(noRun.url, `/runs/${videoRel}`)).status).toBe(404);
  });
});

describe('records', () => {
  it("accepts the coordinator's step metrics and sampled groups as they are", () => {
    expectTypeOf<StepMetrics>().toExtend<StepRecord>();
    expectTypeOf<SampledGroup>().toExtend<GroupRecord>();
  });
});
