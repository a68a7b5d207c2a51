/**
 * Protocol fuzz of a real reward server on loopback: ≥ 10 000 seeded malformed and hostile messages (bad JSON, wrong
 * types, huge arrays, negative and enormous numbers, wrong binary and frame headers, unicode edge cases, path
 * traversal in file URIs, oversized payloads, slow and half-open connections). Every message must be answered with
 * the error code its case expects (from the catalogue) or close the connection with the right close code; afterwards
 * the server still judges, answers /healthz, and its heap is flat.
 *
 * Reproduce: FUZZ_SEED=<n> (default below) gives the same corpus; FUZZ_CORPUS_OUT=<file> writes it as JSON lines.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Media } from '../../src/media/index.js';
import { RewardServerClient } from '../../src/reward-client/index.js';
import { RewardServer } from '../../src/reward-server/index.js';
import { Rng } from '../../src/common/rng.js';
import { ARTIFACT_LAYOUT, CATEGORIES, corpusToJsonLines, generateCorpus, type Corpus, type CorpusLimits, type FuzzCase } from './corpus.js';
import { FuzzJudge } from './fuzz-judge.js';
import { RawConnection, WsLane, emptyStats, maskedTextFrame, playRaw, type CaseFailure } from './runner.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x9f00d);
const LIMITS: CorpusLimits = { maxPayloadBytes: 1024 * 1024, maxInFlight: 8, maxInlineBytes: 256 * 1024 };
const WS_LANES = 4;
const RAW_LANES = 2;
/** Cases played before the heap baseline is taken (lazy compilation, pools, caches). */
const WARM_UP_CASES = 1_000;
/** Allowed heap growth between the baseline and the end of the run, after GC. */
const HEAP_BOUND_BYTES = 16 * 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** The artifact root of ARTIFACT_LAYOUT under a fresh temp folder; returns the base folder and the root. */
function makeArtifactRoot(): { base: string; root: string } {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-fuzz-')));
  const root = path.join(base, ARTIFACT_LAYOUT.rootName);
  for (const folder of ARTIFACT_LAYOUT.folders) fs.mkdirSync(path.join(root, folder), { recursive: true });
  for (const file of ARTIFACT_LAYOUT.files) fs.writeFileSync(path.join(root, file), 'not decoded by the fuzz judge');
  fs.mkdirSync(path.join(base, 'outside'));
  fs.writeFileSync(path.join(base, 'outside', 'secret.mp4'), 'secret');
  fs.symlinkSync(path.join(base, 'outside', 'secret.mp4'), path.join(root, ARTIFACT_LAYOUT.escapeFile));
  fs.symlinkSync(path.join(base, 'outside'), path.join(root, ARTIFACT_LAYOUT.escapeDir));
  return { base, root };
}

function httpGet(port: number, pathName: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathName, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Server log lines at error level (an internal failure the fuzz provoked). */
const errorLogs: string[] = [];
const log = pino({ level: 'error' }, { write: (line: string) => errorLogs.push(line) });

let base: string;
let root: string;
let media: Media;
let judge: FuzzJudge;
let server: RewardServer;
let corpus: Corpus;

beforeAll(async () => {
  ({ base, root } = makeArtifactRoot());
  media = await Media.create();
  judge = new FuzzJudge();
  server = await RewardServer.start({
    service: judge,
    media,
    log,
    artifactRoot: root,
    host: '127.0.0.1',
    port: 0,
    maxPayloadBytes: LIMITS.maxPayloadBytes,
    maxInFlightPerConnection: LIMITS.maxInFlight,
    maxInlineBytesPerConnection: LIMITS.maxInlineBytes,
  });
  corpus = generateCorpus({ seed: SEED, ...LIMITS });
  const out = process.env.FUZZ_CORPUS_OUT;
  if (out !== undefined && out !== '') fs.writeFileSync(out, corpusToJsonLines(corpus));
});

afterAll(async () => {
  await server.close();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('the fuzz corpus', () => {
  it('is reproducible from its seed, covers every category, and holds at least 10 000 hostile messages', () => {
    const again = generateCorpus({ seed: SEED, ...LIMITS });
    expect(corpusToJsonLines(again)).toBe(corpusToJsonLines(corpus));
    const small = (seed: number): string => corpusToJsonLines(generateCorpus({ seed, ...LIMITS, minHostile: 300 }));
    expect(small(SEED + 1)).not.toBe(small(SEED));
    expect(corpus.hostileMessages).toBeGreaterThanOrEqual(10_000);
    const seen = new Set(corpus.cases.map((c) => c.category));
    for (const category of CATEGORIES) expect(seen.has(category), category).toBe(true);
  });
});

describe('reward server under the fuzz corpus', () => {
  it('answers every case as expected (catalogue codes, right close codes), keeps serving, and its heap stays flat', async () => {
    const stats = emptyStats();
    const failures: CaseFailure[] = [];
    const rootUrlPath = pathToFileURL(root).pathname;
    const { port } = server;
    const wsLanes = Array.from({ length: WS_LANES }, () => new WsLane(server.url, rootUrlPath, stats));

    const play = async (cases: readonly FuzzCase[]): Promise<void> => {
      const ws = cases.filter((c) => c.transport === 'ws');
      const raw = cases.filter((c) => c.transport === 'raw');
      const record = (c: FuzzCase, problems: readonly string[]): void => {
        for (const problem of problems) failures.push({ index: c.index, category: c.category, note: c.note, problem });
      };
      await Promise.all([
        ...wsLanes.map(async (lane, l) => {
          for (let i = l; i < ws.length; i += WS_LANES) {
            const c = ws[i];
            if (c !== undefined) record(c, await lane.play(c));
          }
        }),
        ...Array.from({ length: RAW_LANES }, async (_, l) => {
          for (let i = l; i < raw.length; i += RAW_LANES) {
            const c = raw[i];
            if (c !== undefined) record(c, await playRaw(port, c, stats));
          }
        }),
      ]);
    };

    const started = performance.now();
    await play(corpus.cases.slice(0, WARM_UP_CASES));
    const heapBefore = heapAfterGc();
    await play(corpus.cases.slice(WARM_UP_CASES));
    const seconds = (performance.now() - started) / 1000;
    for (const lane of wsLanes) await lane.close();

    // Let closing sockets settle, then measure.
    const settleDeadline = Date.now() + 5_000;
    while ((server.connectionCount > 0 || server.inFlight > 0) && Date.now() < settleDeadline) await new Promise((r) => setTimeout(r, 20));
    const heapAfter = heapAfterGc();

    process.stdout.write(
      `fuzz seed ${SEED}: ${stats.cases} cases, ${stats.hostileMessages} hostile messages in ${seconds.toFixed(1)} s; ` +
        `errors ${JSON.stringify(stats.errors)}; closes ${JSON.stringify(stats.closes)}; replies ${JSON.stringify(stats.replies)}; ` +
        `longest error message ${stats.longestErrorMessage} chars; heap ${(heapBefore / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MiB\n`,
    );
    if (failures.length > 0)
      process.stdout.write(
        `first failures:\n${failures
          .slice(0, 25)
          .map((f) => `  #${f.index} [${f.category}] ${f.note}: ${f.problem}`)
          .join('\n')}\n`,
      );

    expect(failures).toEqual([]);
    expect(stats.cases).toBe(corpus.cases.length);
    expect(stats.hostileMessages).toBeGreaterThanOrEqual(10_000);
    for (const lane of wsLanes) expect(lane.unparsed).toEqual([]);
    expect(errorLogs).toEqual([]);
    // Error texts stay bounded whatever the input (no echo of a megabyte of hostile keys).
    expect(stats.longestErrorMessage).toBeLessThanOrEqual(2_048);

    // Still serving: a valid judgment through the real client, /healthz, status.
    expect(server.state).toBe('running');
    expect(server.connectionCount).toBe(0);
    expect(server.inFlight).toBe(0);
    const health = await httpGet(port, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', connections: 0, inFlight: 0 });
    const client = await RewardServerClient.connect(server.url);
    try {
      const verdict = await client.judge({
        id: 'after-fuzz',
        prompt: 'a red circle',
        mode: 'pointwise',
        videos: [{ uri: pathToFileURL(path.join(root, 'bright.mp4')).href }],
      });
      expect(verdict).toMatchObject({ type: 'verdict', id: 'after-fuzz', rmVersion: 'fuzz-rm-1' });
    } finally {
      await client.close();
    }
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_BOUND_BYTES);
  });
});

describe('slow and half-open connections', () => {
  it('terminates silent WebSocket peers at the heartbeat, survives stalled handshakes, and keeps serving others', async () => {
    const heartbeatMs = 200;
    const hb = await RewardServer.start({
      service: judge,
      media,
      log,
      artifactRoot: root,
      host: '127.0.0.1',
      port: 0,
      heartbeatIntervalMs: heartbeatMs,
      maxPayloadBytes: LIMITS.maxPayloadBytes,
    });
    const rng = Rng.fromSeed(SEED ^ 0x5a5a);
    const stalledHttp: RawConnection[] = [];
    const stalledWs: RawConnection[] = [];
    const silentClients: WebSocket[] = [];
    try {
      // TCP connections that send nothing, or part of the upgrade request, then stall.
      for (let i = 0; i < 8; i++)
        stalledHttp.push(await RawConnection.connect(hb.port, i % 2 === 0 ? { handshake: false } : { handshakeBytes: 1 + rng.int(120) }));
      // Upgraded connections that stall mid-frame: a partial header, or a header announcing more bytes than follow.
      for (let i = 0; i < 8; i++) {
        const connection = await RawConnection.connect(hb.port);
        const deadline = Date.now() + 5_000;
        while (connection.status === null && (await connection.event(deadline)));
        expect(connection.status).toBe(101);
        const partial = i % 2 === 0 ? Buffer.from([0x81]) : Buffer.concat([Buffer.from([0x81, 0xfe, 0x03, 0xe8]), Buffer.alloc(4 + rng.int(500), 1)]);
        await connection.write(partial);
        stalledWs.push(connection);
      }
      // A slow reader: asks for 300 answers, then stops reading (and so never answers a ping).
      const slowReader = await RawConnection.connect(hb.port);
      const readerDeadline = Date.now() + 5_000;
      while (slowReader.status === null && (await slowReader.event(readerDeadline)));
      expect(slowReader.status).toBe(101);
      slowReader.socket.pause();
      for (let k = 0; k < 300; k++) await slowReader.write(maskedTextFrame(JSON.stringify({ type: 'status', id: `s${k}` })));
      stalledWs.push(slowReader);
      // WebSocket clients that never answer pings.
      for (let i = 0; i < 4; i++) {
        const ws = new WebSocket(hb.url, { autoPong: false });
        ws.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => {
          ws.once('message', () => resolve());
          ws.once('error', reject);
        });
        silentClients.push(ws);
      }
      const silentClosed = silentClients.map((ws) => new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))));

      // Meanwhile a well-behaved client is served.
      const client = await RewardServerClient.connect(hb.url);
      try {
        const verdict = await client.judge({
          id: 'alive',
          prompt: 'slow: still served',
          mode: 'pointwise',
          videos: [{ uri: pathToFileURL(path.join(root, 'dark.mp4')).href }],
        });
        expect(verdict.id).toBe('alive');
        expect((await httpGet(hb.port, '/healthz')).status).toBe(200);

        // Silent peers, stalled frames and the slow reader are dropped within a few heartbeats: only the good client is left.
        const dropDeadline = Date.now() + 10 * heartbeatMs + 2_000;
        while (hb.connectionCount > 1 && Date.now() < dropDeadline) await new Promise((r) => setTimeout(r, 20));
        expect(hb.connectionCount).toBe(1);
        const codes = await Promise.race([Promise.all(silentClosed), new Promise<null>((r) => setTimeout(() => r(null), 2_000))]);
        expect(codes).not.toBeNull();
        for (const code of codes ?? []) expect(code).toBe(1006); // terminated without a close frame
        slowReader.socket.resume();
        for (const connection of stalledWs) expect(await connection.whenEnded(2_000)).toBe(true);
        // The good client answered every ping and is still connected.
        expect(await client.ping()).toBeGreaterThanOrEqual(0);
        expect(hb.connectionCount).toBe(1);
      } finally {
        await client.close();
      }
      // Stalled handshakes do not keep the server from closing, and are dropped by it.
      const closing = performance.now();
      await hb.close();
      expect(performance.now() - closing).toBeLessThan(5_000);
      for (const connection of stalledHttp) expect(await connection.whenEnded(2_000)).toBe(true);
    } finally {
      for (const c of [...stalledHttp, ...stalledWs]) c.destroy();
      for (const ws of silentClients) ws.terminate();
      await hb.close();
    }
  });
});
