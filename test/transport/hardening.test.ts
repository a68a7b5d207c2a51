/**
 * Socket-level hardening of the shared transport (issue 19, findings 5 and 7): a peer that never reads is closed with
 * 1008 SLOW_CONSUMER while the server's send buffer stays bounded; upgrades beyond `maxConnections` get HTTP 503
 * OVERLOADED; a foreign `Host` gets 421 and a foreign `Origin` 403 (no `Origin` passes); error texts leave without
 * server paths or ffmpeg's stderr, an inline 2×2 video is INVALID_REQUEST, and `hello` advertises the documented
 * `maxInFlight`. Real servers on 127.0.0.1:0, real `ws` peers, a real reward server with real ffmpeg; every wait bounded.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileHostPolicy, hostNameOf } from '../../src/common/http.js';
import { silentLogger } from '../../src/common/logger.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { analyseFrame } from '../../src/judge/backends/embedded/perception/frame-analysis.js';
import type { Judgment, JudgmentHooks, JudgmentRequest } from '../../src/judge/judge-service.js';
import { DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION, type RewardServer } from '../../src/reward-server/index.js';
import {
  compileTransportServerOptions,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_SEND_BUFFER_BYTES,
  redactServerPaths,
  MAX_UNFLUSHED_MESSAGES,
  SLOW_CONSUMER_CLOSE_TIMEOUT_MS,
  TransportServer,
  type ConnectionHandler,
  type ServerConnection,
  type TransportServerOptions,
} from '../../src/transport/index.js';
import { ArtifactFixture, fileUri, Peer, startServer, uniformVideo } from '../reward-server/helpers.js';
import { BrightnessJudge } from '../reward-server/brightness-judge.js';
import { openSocket, upgradeRefusal, upgradeStatus, within, WirePeer } from './helpers.js';

// ---- a tiny "status" protocol: every text message is answered with a reply of `replyBytes` ----

interface Wire {
  readonly type: string;
  readonly [field: string]: unknown;
}

function decode(data: Buffer, isBinary: boolean): Wire | { readonly invalid: string } {
  if (isBinary) return { type: 'binary' };
  try {
    return JSON.parse(data.toString('utf8')) as Wire;
  } catch {
    return { invalid: data.toString('utf8') };
  }
}

interface Observed {
  /** Most bytes ever queued for a peer right after a reply was queued. */
  maxBuffered: number;
  /** Close codes the server saw, in order. */
  readonly closes: number[];
  /** The server side of every connection. */
  readonly connections: ServerConnection[];
}

class StatusHandler implements ConnectionHandler {
  constructor(
    readonly connection: ServerConnection,
    readonly observed: Observed,
    readonly padding: string,
  ) {}
  onMessage(): void {
    const reply = { type: 'status', padding: this.padding };
    this.connection.sendJson(reply);
    this.observed.maxBuffered = Math.max(this.observed.maxBuffered, this.connection.bufferedBytes);
  }
  onHandlerError(): void {
    // no handler errors in this protocol
  }
  onClose(code: number): void {
    this.observed.closes.push(code);
  }
}

const servers: TransportServer<StatusHandler>[] = [];
const peers: WirePeer<Wire>[] = [];

async function startStatusServer(
  extra: Partial<TransportServerOptions> & { readonly replyBytes?: number } = {},
): Promise<{ server: TransportServer<StatusHandler>; observed: Observed }> {
  const observed: Observed = { maxBuffered: 0, closes: [], connections: [] };
  const { replyBytes = 256, ...options } = extra;
  const padding = 'x'.repeat(replyBytes);
  const server = new TransportServer<StatusHandler>(
    {
      name: 'status server',
      log: silentLogger(),
      host: '127.0.0.1',
      port: 0,
      token: null,
      maxPayloadBytes: 1024 * 1024,
      heartbeatIntervalMs: 0,
      drainingRefusal: { code: 'SHUTTING_DOWN', message: 'shutting down' },
      goingAwayReason: 'bye',
      ...options,
    },
    {
      onRequest: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      },
      accept: (connection) => {
        observed.connections.push(connection);
        return new StatusHandler(connection, observed, padding);
      },
      drain: { name: 'nothing', run: () => Promise.resolve() },
    },
  );
  servers.push(server);
  await server.listen();
  return { server, observed };
}

/** A plain GET to 127.0.0.1:`port` with extra headers (e.g. a foreign `Host`). */
function request(port: number, pathName: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: pathName, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    `GET ${pathName}`,
  );
}

async function openPeer(url: string): Promise<WirePeer<Wire>> {
  const ws = openSocket(url);
  const peer = new WirePeer<Wire>(ws, decode);
  peers.push(peer);
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    'the socket to open',
  );
  return peer;
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('bounded send buffers', () => {
  it('closes a peer that sends without reading with 1008 SLOW_CONSUMER, its queued bytes bounded by the limit', async () => {
    const limit = 256 * 1024;
    const replyBytes = 32 * 1024;
    const { server, observed } = await startStatusServer({ maxSendBufferBytes: limit, replyBytes });
    const peer = await openPeer(server.url);
    peer.ws.pause(); // never reads: the server's replies pile up in the kernel, then in its send buffer
    const request = JSON.stringify({ type: 'status' });
    // Far more than the kernel's loopback buffers and the limit together (~128 MiB of replies); stops once closed.
    const closing = (): boolean => observed.connections.some((c) => c.closing);
    for (let sent = 0; sent < 4_000 && !closing(); sent += 50) {
      for (let i = 0; i < 50; i += 1) peer.ws.send(request);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until(closing, 'the server to start closing the slow peer');
    peer.ws.resume(); // now it reads: what was queued, then the close frame
    const closed = await peer.whenClosed(10_000);
    // Each reply is checked against the limit before it is queued: at most the limit plus one reply and its framing.
    expect(observed.maxBuffered).toBeGreaterThan(limit);
    expect(observed.maxBuffered).toBeLessThanOrEqual(limit + 2 * replyBytes);
    await until(() => server.connectionCount === 0, 'the connection to be gone');
    expect(closed).toEqual({ code: 1008, reason: 'SLOW_CONSUMER: send buffer limit exceeded; read your messages' });
  });

  it('bounds a flood of tiny answers by count too (MAX_UNFLUSHED_MESSAGES), far below the byte limit', async () => {
    const { server, observed } = await startStatusServer({ replyBytes: 16 }); // default byte limit: 64 MiB
    const peer = await openPeer(server.url);
    peer.ws.pause();
    const closing = (): boolean => observed.connections.some((c) => c.closing);
    for (let batch = 0; batch < 1_000 && !closing(); batch += 1) {
      for (let i = 0; i < 1_000; i += 1) peer.ws.send('{"type":"status"}');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(closing, 'the server to close the peer for its unread answers');
    expect(observed.maxBuffered).toBeLessThan(DEFAULT_MAX_SEND_BUFFER_BYTES / 4);
    peer.ws.resume();
    expect((await peer.whenClosed(10_000)).code).toBe(1008);
    expect(MAX_UNFLUSHED_MESSAGES).toBeGreaterThanOrEqual(4_096);
  });

  it('drops a peer that never takes its close frame, releasing what was queued for it', async () => {
    const { server, observed } = await startStatusServer({ maxSendBufferBytes: 128 * 1024, replyBytes: 32 * 1024 });
    const peer = await openPeer(server.url);
    peer.ws.pause(); // and never resumes
    const closing = (): boolean => observed.connections.some((c) => c.closing);
    for (let sent = 0; sent < 4_000 && !closing(); sent += 50) {
      for (let i = 0; i < 50; i += 1) peer.ws.send('{"type":"status"}');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until(closing, 'the server to start closing the slow peer');
    const started = Date.now();
    await until(() => server.connectionCount === 0, 'the socket to be dropped', SLOW_CONSUMER_CLOSE_TIMEOUT_MS + 3_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_CONSUMER_CLOSE_TIMEOUT_MS - 100);
    expect(observed.closes).toHaveLength(1);
    peer.ws.terminate(); // our side: it never read, so it would not finish a closing handshake either
  });

  it('keeps serving a peer that reads, however many requests it sends', async () => {
    const { server, observed } = await startStatusServer({ maxSendBufferBytes: 64 * 1024, replyBytes: 1024 });
    const peer = await openPeer(server.url);
    for (let i = 0; i < 500; i += 1) peer.send({ type: 'status', i });
    for (let i = 0; i < 500; i += 1) expect((await peer.next()).type).toBe('status');
    expect(observed.closes).toEqual([]);
    expect(server.connectionCount).toBe(1);
  });

  it('has documented defaults and refuses limits beyond their maxima, naming the field', () => {
    const base: TransportServerOptions = {
      name: 'x',
      log: silentLogger(),
      host: '127.0.0.1',
      port: 0,
      token: null,
      maxPayloadBytes: 1024,
      heartbeatIntervalMs: 0,
      drainingRefusal: { code: 'SHUTTING_DOWN', message: 'x' },
      goingAwayReason: 'x',
    };
    const compiled = compileTransportServerOptions(base);
    expect(compiled.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
    expect(compiled.maxSendBufferBytes).toBe(DEFAULT_MAX_SEND_BUFFER_BYTES);
    expect(compiled.allowedHosts).toBeNull();
    expect(compiled.allowedOrigins).toEqual([]);
    for (const [field, value] of [
      ['maxConnections', 0],
      ['maxConnections', 1e9],
      ['maxSendBufferBytes', 1e15],
      ['maxPayloadBytes', 1e15],
    ] as const) {
      let caught: unknown = null;
      try {
        compileTransportServerOptions({ ...base, [field]: value });
      } catch (error) {
        caught = error;
      }
      expect(isVrGrpoError(caught, 'INVALID_ARGUMENT'), `${field}=${value}`).toBe(true);
      expect(isVrGrpoError(caught) ? caught.details.field : null).toBe(field);
    }
  });
});

describe('connection limit', () => {
  it('refuses the upgrade beyond maxConnections with HTTP 503 OVERLOADED, and accepts again once one left', async () => {
    const { server } = await startStatusServer({ maxConnections: 2 });
    const first = await openPeer(server.url);
    await openPeer(server.url);
    await until(() => server.connectionCount === 2, 'two connections');
    const refused = await upgradeRefusal(server.url);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'OVERLOADED' });
    await first.close();
    await until(() => server.connectionCount === 1, 'one connection to leave');
    expect(await upgradeStatus(server.url)).toBe(101);
  });
});

describe('Host and Origin', () => {
  it('answers a foreign Host with 421 (plain requests and upgrades); loopback names pass', async () => {
    const { server } = await startStatusServer();
    expect((await request(server.port, '/healthz')).status).toBe(200);
    expect((await request(server.port, '/healthz', { host: `localhost:${server.port}` })).status).toBe(200);
    const foreign = await request(server.port, '/healthz', { host: 'attacker.example' });
    expect(foreign.status).toBe(421);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'FORBIDDEN_ORIGIN' });
    expect(await upgradeStatus(server.url, { host: `attacker.example:${server.port}` })).toBe(421);
    expect(await upgradeStatus(server.url, { host: `[::1]:${server.port}` })).toBe(101);
  });

  it('refuses an upgrade with a foreign Origin (403); no Origin or an allowed one passes', async () => {
    const { server } = await startStatusServer({ allowedOrigins: ['http://localhost:3000'] });
    const refused = await upgradeRefusal(server.url, { origin: 'http://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'FORBIDDEN_ORIGIN' });
    expect(await upgradeStatus(server.url, { origin: 'http://localhost:3000' })).toBe(101);
    expect(await upgradeStatus(server.url)).toBe(101);
  });

  it('takes configured allow-lists; "*" allows any host', async () => {
    const { server } = await startStatusServer({ allowedHosts: ['rm.internal'] });
    expect((await request(server.port, '/', { host: 'rm.internal' })).status).toBe(200);
    expect((await request(server.port, '/', { host: '127.0.0.1' })).status).toBe(421);
    const any = await startStatusServer({ allowedHosts: ['*'] });
    expect((await request(any.server.port, '/', { host: 'anything.example' })).status).toBe(200);
  });

  it('defaults: loopback names plus the bound host; any host on a wildcard bind', () => {
    expect([...(compileHostPolicy('10.0.0.5', null, []).hosts ?? [])].sort()).toEqual(['10.0.0.5', '127.0.0.1', '::1', 'localhost']);
    expect(compileHostPolicy('0.0.0.0', null, []).hosts).toBeNull();
    expect(hostNameOf('[::1]:80')).toBe('::1');
    expect(hostNameOf('Example.COM:8080')).toBe('example.com');
    expect(hostNameOf('a@b')).toBeNull();
  });
});

describe('redaction', () => {
  it('cuts absolute paths to their base name and leaves other slashes alone', () => {
    expect(redactServerPaths('video file not found: /srv/vr-grpo/runs/r1/s12.mp4')).toBe('video file not found: …/s12.mp4');
    expect(redactServerPaths('videos.0.uri: file:///srv/x/a.mp4 is outside')).toBe('videos.0.uri: …/a.mp4 is outside');
    expect(redactServerPaths('TA / MQ 2/3 http://host/x and/or')).toBe('TA / MQ 2/3 http://host/x and/or');
  });
});

// ---- the reward server on the transport: what a client is told ----

/** A BrightnessJudge that first runs the embedded judge's real frame analysis on each video's first frame. */
class PerceivingJudge extends BrightnessJudge {
  override async judge(request: JudgmentRequest, hooks: JudgmentHooks): Promise<Judgment> {
    for (const source of request.videos) {
      const [frame] = await source.frames([0]);
      const { width, height } = await source.size();
      if (frame !== undefined) analyseFrame(frame, width, height);
    }
    return super.judge(request, hooks);
  }
}

describe('reward server: client-facing errors', () => {
  let fixture: ArtifactFixture;
  let rs: RewardServer | null = null;
  const logged: string[] = [];

  beforeAll(async () => {
    fixture = await ArtifactFixture.create();
    // A real MP4 cut short: it passes the container sniff, then ffmpeg fails and writes to stderr.
    const whole = fs.readFileSync(path.join(fixture.root, 'bright.mp4'));
    fs.writeFileSync(path.join(fixture.root, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString('utf8'));
        done();
      },
    });
    ({ server: rs } = await startServer(fixture, { service: new PerceivingJudge(), log: pino({ level: 'info' }, sink) }));
  });

  afterAll(async () => {
    await rs?.close();
    fixture.remove();
  });

  it('names no server path and no ffmpeg output; the log has them', async () => {
    if (rs === null) throw new Error('no server');
    const peer = await Peer.open(rs.url);
    try {
      peer.send({ type: 'judge', id: 'missing', mode: 'pointwise', prompt: 'a red ball', videos: [{ uri: fixture.uri('nope.mp4') }] });
      const missing = await peer.nextError('missing');
      expect(missing.code).toBe('VIDEO_DECODE_FAILED');
      expect(missing.message).toContain('nope.mp4');
      expect(missing.message).not.toContain(fixture.root);
      expect(missing.message).not.toMatch(/(^|\s)\/\w/);

      peer.send({ type: 'judge', id: 'cut', mode: 'pointwise', prompt: 'a red ball', videos: [{ uri: fileUri(path.join(fixture.root, 'truncated.mp4')) }] });
      const cut = await peer.nextError('cut', 20_000);
      expect(cut.code).toBe('VIDEO_DECODE_FAILED');
      expect(cut.message).not.toContain(fixture.root);
      expect(cut.message).not.toMatch(/moov atom|Invalid data|\[mov,mp4|ffmpeg version/i);
      await within(
        (async () => {
          while (!logged.some((line) => line.includes(fixture.root) && line.includes('truncated.mp4'))) await new Promise((r) => setTimeout(r, 20));
        })(),
        'the full failure in the server log',
      );
    } finally {
      await peer.close();
    }
  });

  it('answers an inline 2×2 video the judge cannot use with INVALID_REQUEST, a code of the protocol table', async () => {
    if (rs === null) throw new Error('no server');
    const peer = await Peer.open(rs.url);
    try {
      peer.sendVideo('tiny', uniformVideo(100, 2, 2, 4));
      expect((await peer.nextFor('tiny')).type).toBe('video_received');
      peer.send({ type: 'judge', id: 'j-tiny', mode: 'pointwise', prompt: 'a red ball', videos: [{ inline: 'tiny' }] });
      const error = await peer.nextError('j-tiny');
      expect(error.code).toBe('INVALID_REQUEST');
      const table = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'protocol.md'), 'utf8');
      expect(table).toMatch(new RegExp(`^\\| \`${error.code}\` \\|`, 'm'));
    } finally {
      await peer.close();
    }
  });

  it('advertises the maxInFlight that docs/protocol.md documents as the default', async () => {
    if (rs === null) throw new Error('no server');
    const peer = await Peer.open(rs.url);
    await peer.close();
    const hello = peer.hello;
    const advertised = hello !== null && hello.type === 'hello' ? hello.limits.maxInFlight : null;
    expect(advertised).toBe(DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION);
    const docs = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'protocol.md'), 'utf8');
    const row = /^\| `maxInFlightPerConnection` \| ([\d ]+) \|/m.exec(docs);
    expect(Number(row?.[1]?.replace(/ /g, ''))).toBe(advertised);
    const example = /"maxInFlight":(\d+)/.exec(docs);
    expect(Number(example?.[1])).toBe(advertised);
  });
});
