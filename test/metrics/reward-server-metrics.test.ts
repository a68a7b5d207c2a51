/**
 * A real reward server (embedded judge, rm-v2 ONNX perception) on loopback judges inline and file videos; its
 * `/metrics` is scraped over HTTP, passes `promtool check metrics`, and counts what the client saw: verdicts, failures,
 * latency observations, tool calls, frames, hallucinations, errors sent, connections, the checkpoint served. Plus the
 * endpoint's auth, methods and refusal counters.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, deriveSeed } from '../../src/common/rng.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { createEmbeddedJudge } from '../../src/judge/backends/embedded/index.js';
import type { JudgeEngine } from '../../src/judge/engine.js';
import type { RawVideo } from '../../src/media/index.js';
import { RewardServerMetrics } from '../../src/metrics/index.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import { PromptGenerator, decodeLatent, promptText, renderScene, sampleDataLatent } from '../../src/world/index.js';
import { ArtifactFixture, Peer, startServer, upgradeStatus, within } from '../reward-server/helpers.js';
import { SKIP_PROMTOOL, expectPromtoolCleanMetrics, parseExposition, sampleSum, sampleValue, type Sample } from './helpers.js';

type Verdict = Extract<ServerMessage, { type: 'verdict' }>;

/** GET (or another method) on the server's HTTP side: status, headers and raw body. */
function request(
  port: number,
  pathName: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; contentType: string; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: pathName, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    `HTTP ${options.method ?? 'GET'} ${pathName}`,
  );
}

async function scrape(port: number): Promise<{ text: string; samples: Sample[] }> {
  const r = await request(port, '/metrics');
  expect(r.status).toBe(200);
  expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: r.body, samples: parseExposition(r.body) };
}

/** Scenes of the world's grammar, rendered like the embedded default (64×64, 24 frames). */
function scenes(n: number, seed: number): { prompt: string; video: RawVideo }[] {
  const specs = new PromptGenerator({ seed, split: 'train', splitSeed: 7, heldOutFraction: 0.2, secondObjectProbability: 0.25 });
  const rng = Rng.fromSeed(deriveSeed(seed, 1));
  return Array.from({ length: n }, () => {
    const spec = specs.next();
    const latent = sampleDataLatent(spec, rng, { attributeNoise: 0.35, defectProbability: 0.5, jitter: 0.3 });
    return { prompt: promptText(spec), video: renderScene(decodeLatent(latent), { frames: 24, fps: 8 }) };
  });
}

let fixture: ArtifactFixture;
let judge: JudgeEngine;
let server: RewardServer;

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
  judge = await createEmbeddedJudge({ modelDir: path.join(PROJECT_ROOT, 'models', 'rm-v2') });
  ({ server } = await startServer(fixture, { service: judge }));
});

afterAll(async () => {
  await server.close();
  await judge.close();
  fixture.remove();
});

describe('a real reward server with the embedded judge', () => {
  it('exports zero series for the served checkpoint before any judgment', async () => {
    const { samples } = await scrape(server.port);
    expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_info', { rm_version: judge.rmVersion(), backend: judge.backendName })).toBe(1);
    expect(sampleSum(samples, 'vrgrpo_rm_judgments_total')).toBe(0);
    expect(sampleValue(samples, 'vrgrpo_rm_judgments_total', { mode: 'pairwise', outcome: 'failed', rm_version: judge.rmVersion() })).toBe(0);
    expect(sampleValue(samples, 'vrgrpo_rm_connections')).toBe(0);
  });

  let judgedText = '';

  it('judges a few requests; the scrape counts what the client saw', async () => {
    const before = (await scrape(server.port)).samples;
    const peer = await Peer.open(server.url);
    try {
      const items = scenes(7, 11);
      const item = (i: number): { prompt: string; video: RawVideo } => {
        const x = items[i];
        if (x === undefined) throw new Error(`no scene ${i}`);
        return x;
      };
      await fixture.media.encodeMp4(item(6).video, path.join(fixture.root, 'scene.mp4'));
      // 3 pairwise inline judgments, 1 pointwise file judgment, 1 file that fails to decode, 1 request refused at admission.
      for (let i = 0; i < 3; i++) {
        peer.sendVideo(`a${i}`, item(2 * i).video);
        peer.sendVideo(`b${i}`, item(2 * i + 1).video);
        peer.send({ type: 'judge', id: `pair${i}`, prompt: item(2 * i).prompt, mode: 'pairwise', videos: [{ inline: `a${i}` }, { inline: `b${i}` }] });
      }
      peer.send({ type: 'judge', id: 'point', prompt: item(6).prompt, mode: 'pointwise', videos: [{ uri: fixture.uri('scene.mp4') }] });
      peer.send({ type: 'judge', id: 'broken', prompt: 'x', mode: 'pointwise', videos: [{ uri: fixture.uri('corrupt.mp4') }] });
      peer.send({ type: 'judge', id: 'refused', prompt: 'x', mode: 'pointwise', videos: [{ inline: 'never-sent' }] });
      const verdicts: Verdict[] = [];
      for (const id of ['pair0', 'pair1', 'pair2', 'point']) {
        const m = await peer.next((x) => x.type === 'verdict' && x.id === id, 30_000);
        if (m.type !== 'verdict') throw new Error('expected a verdict');
        verdicts.push(m);
      }
      expect((await peer.nextError('broken', 30_000)).code).toBe('VIDEO_DECODE_FAILED');
      expect((await peer.nextError('refused')).code).toBe('INVALID_REQUEST');

      const { text, samples } = await scrape(server.port);
      judgedText = text;
      const delta = (name: string, labels: Record<string, string> = {}): number => sampleSum(samples, name, labels) - sampleSum(before, name, labels);
      const rm = judge.rmVersion();
      // Judgments by mode and outcome, and the latency histogram counts every one of them.
      expect(delta('vrgrpo_rm_judgments_total', { mode: 'pairwise', outcome: 'ok', rm_version: rm })).toBe(3);
      expect(delta('vrgrpo_rm_judgments_total', { mode: 'pointwise', outcome: 'ok', rm_version: rm })).toBe(1);
      expect(delta('vrgrpo_rm_judgments_total', { mode: 'pointwise', outcome: 'failed' })).toBe(1);
      expect(delta('vrgrpo_rm_judgments_total')).toBe(5);
      expect(delta('vrgrpo_rm_judgment_duration_seconds_count')).toBe(5);
      expect(delta('vrgrpo_rm_judgment_duration_seconds_count', { mode: 'pairwise', outcome: 'ok' })).toBe(3);
      expect(delta('vrgrpo_rm_judgment_duration_seconds_sum')).toBeGreaterThan(0);
      expect(delta('vrgrpo_rm_judgment_duration_seconds_bucket', { mode: 'pairwise', outcome: 'ok', le: '+Inf' })).toBe(3);
      expect(delta('vrgrpo_rm_judgment_failures_total', { code: 'VIDEO_DECODE_FAILED' })).toBe(1);
      // Verdict contents.
      const sumOf = (f: (v: Verdict) => number): number => verdicts.reduce((s, v) => s + f(v), 0);
      expect(delta('vrgrpo_rm_judgment_tool_calls_count')).toBe(4);
      expect(delta('vrgrpo_rm_judgment_tool_calls_sum')).toBe(sumOf((v) => v.toolCalls));
      expect(delta('vrgrpo_rm_judgment_frames_viewed_sum')).toBe(sumOf((v) => v.framesViewed.reduce((s, f) => s + f.length, 0)));
      expect(sumOf((v) => v.framesViewed.reduce((s, f) => s + f.length, 0))).toBeGreaterThan(0);
      expect(delta('vrgrpo_rm_judgment_turns_count')).toBe(4);
      expect(delta('vrgrpo_rm_judgment_turns_sum')).toBeGreaterThanOrEqual(4);
      expect(delta('vrgrpo_rm_format_errors_total')).toBe(sumOf((v) => v.formatErrors));
      expect(delta('vrgrpo_rm_hallucinations_total')).toBe(sumOf((v) => v.hallucinations.length));
      expect(sampleValue(samples, 'vrgrpo_rm_hallucination_window_judgments') - sampleValue(before, 'vrgrpo_rm_hallucination_window_judgments')).toBe(4);
      // Errors sent: the decode failure and the refused request (not a judgment).
      expect(delta('vrgrpo_rm_errors_sent_total', { code: 'INVALID_REQUEST' })).toBe(1);
      expect(delta('vrgrpo_rm_errors_sent_total', { code: 'VIDEO_DECODE_FAILED' })).toBe(1);
      // Frames were read from inline videos and from the file; the connection is open, nothing is in flight.
      expect(delta('vrgrpo_rm_frames_decoded_total', { source: 'inline' })).toBeGreaterThan(0);
      expect(delta('vrgrpo_rm_frames_decoded_total', { source: 'file' })).toBeGreaterThan(0);
      expect(delta('vrgrpo_rm_frame_decode_duration_seconds_count', { source: 'file' })).toBeGreaterThan(0);
      expect(sampleValue(samples, 'vrgrpo_rm_connections')).toBe(1);
      expect(delta('vrgrpo_rm_connections_opened_total')).toBe(1);
      expect(sampleValue(samples, 'vrgrpo_rm_requests_in_flight')).toBe(0);
      expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_info', { rm_version: rm })).toBe(1);
      expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_changes_total')).toBe(0);
      // No prompt text or request id reaches a label.
      expect(text).not.toContain('pair0');
      expect(text).not.toContain(item(0).prompt);
    } finally {
      await peer.close();
    }
  });

  it.skipIf(SKIP_PROMTOOL)('that scrape passes promtool check metrics', async () => {
    await expectPromtoolCleanMetrics(judgedText);
  });
});

describe('the /metrics endpoint', () => {
  it('is scrapable without the bearer token by default, counts refused upgrades, answers HEAD and refuses POST', async () => {
    const fx = await startServer(fixture, { token: 'secret-token' });
    try {
      expect(await upgradeStatus(fx.server.url)).toBe(401);
      expect((await request(fx.server.port, '/metrics')).status).toBe(200);
      const { samples } = await scrape(fx.server.port);
      expect(sampleValue(samples, 'vrgrpo_rm_upgrades_refused_total', { reason: 'unauthorized' })).toBe(1);
      expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_info', { rm_version: 'test-rm-1' })).toBe(1);
      const head = await request(fx.server.port, '/metrics', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect((await request(fx.server.port, '/metrics', { method: 'POST' })).status).toBe(405);
      expect((await request(fx.server.port, '/healthz')).status).toBe(200);
      expect((await request(fx.server.port, '/metricsx')).status).toBe(404);
    } finally {
      await fx.server.close();
    }
  });

  it('needs the bearer token when metricsRequireToken is set', async () => {
    const fx = await startServer(fixture, { token: 'secret-token', metricsRequireToken: true });
    try {
      expect((await request(fx.server.port, '/metrics')).status).toBe(401);
      expect((await request(fx.server.port, '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await request(fx.server.port, '/metrics', { headers: { authorization: 'Bearer secret-token' } });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('vrgrpo_rm_judgments_total');
    } finally {
      await fx.server.close();
    }
  });

  it('uses the metrics object it is given (one per server) and follows a version change at scrape time', async () => {
    const metrics = new RewardServerMetrics();
    const fx = await startServer(fixture, { metrics });
    try {
      const versions = ['rm-a'];
      fx.judge.rmVersion = (): string => versions[0] ?? 'none';
      let text = (await metrics.exposition()).body;
      expect(text).toContain('vrgrpo_rm_checkpoint_info{rm_version="rm-a",backend="test-brightness"} 1');
      versions[0] = 'rm-b';
      const { samples } = await scrape(fx.server.port);
      expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_info', { rm_version: 'rm-b' })).toBe(1);
      expect(samples.filter((s) => s.name === 'vrgrpo_rm_checkpoint_info')).toHaveLength(1);
      expect(sampleValue(samples, 'vrgrpo_rm_checkpoint_changes_total')).toBe(2);
      text = (await metrics.exposition()).body;
      expect(text).not.toContain('rm-a');
      await expect(startServer(fixture, { metrics })).rejects.toThrow(/already bound/);
    } finally {
      await fx.server.close();
    }
  });
});
