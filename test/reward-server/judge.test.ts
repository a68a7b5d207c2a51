/** Reward server judging: inline and file videos, streaming, trace, decode failures, path checks, in-flight limits. */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol/index.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import type { BrightnessJudge } from './brightness-judge.js';
import { ArtifactFixture, fileUri, Peer, startServer, uniformVideo, within } from './helpers.js';

let fixture: ArtifactFixture;
let server: RewardServer;
let judge: BrightnessJudge;
const peers: Peer[] = [];

async function peer(url = server.url): Promise<Peer> {
  const p = await Peer.open(url);
  peers.push(p);
  return p;
}

function judgeMessage(id: string, videos: readonly object[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'judge', id, prompt: 'a red ball moves left', mode: videos.length === 2 ? 'pairwise' : 'pointwise', videos, ...extra };
}

function verdictOf(message: ServerMessage): Extract<ServerMessage, { type: 'verdict' }> {
  if (message.type !== 'verdict') throw new Error(`expected a verdict, got ${JSON.stringify(message)}`);
  return message;
}

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
  ({ server, judge } = await startServer(fixture));
});

afterEach(async () => {
  for (const p of peers.splice(0)) {
    expect(p.invalid).toEqual([]);
    await p.close();
  }
});

afterAll(async () => {
  await server.close();
  fixture.remove();
});

describe('inline and file videos', () => {
  it('judges two inline videos (brighter wins) and consumes the refs', async () => {
    const ws = await peer();
    ws.sendVideo('dark', uniformVideo(30));
    ws.sendVideo('bright', uniformVideo(220));
    ws.send(judgeMessage('j1', [{ inline: 'dark' }, { inline: 'bright' }]));
    const verdict = verdictOf(await ws.nextFor('j1'));
    expect(verdict).toMatchObject({ id: 'j1', mode: 'pairwise', rmVersion: 'test-rm-1', answer: { OA: 2, TA: 2, CF: 1 } });
    expect(verdict.scores.map((s) => s.overall)).toEqual([0, 1]);
    expect(verdict.framesViewed).toEqual([
      [0, 3],
      [0, 3],
    ]);
    // Refs are used once.
    ws.send(judgeMessage('j2', [{ inline: 'dark' }]));
    const reuse = await ws.nextError('j2');
    expect(reuse.code).toBe('INVALID_REQUEST');
    expect(reuse.message).toContain('videos.0.inline');
  });

  it('one inline ref may appear twice in a request', async () => {
    const ws = await peer();
    ws.sendVideo('same', uniformVideo(100));
    ws.send(judgeMessage('j', [{ inline: 'same' }, { inline: 'same' }]));
    expect(verdictOf(await ws.nextFor('j')).answer?.OA).toBe(0);
  });

  it('judges file:// videos under the artifact root, pairwise and pointwise', async () => {
    const ws = await peer();
    ws.send(judgeMessage('pair', [{ uri: fixture.uri('bright.mp4') }, { uri: fixture.uri('dark.mp4') }]));
    expect(verdictOf(await ws.nextFor('pair')).answer?.OA).toBe(1);
    ws.send(judgeMessage('point', [{ uri: fixture.uri('bright.mp4') }]));
    const point = verdictOf(await ws.nextFor('point'));
    expect(point.answer).toBeNull();
    expect(point.scores[0]?.overall).toBeGreaterThan(0.7);
    // A symlink that stays inside the root is fine, so is an inline + file mix.
    ws.sendVideo('mid', uniformVideo(120));
    ws.send(judgeMessage('mix', [{ inline: 'mid' }, { uri: fixture.uri('sub/inner-link.mp4') }]));
    expect(verdictOf(await ws.nextFor('mix')).answer?.OA).toBe(1);
  });

  it('decodes files at judgeSize when configured', async () => {
    const fx = await startServer(fixture, { judgeSize: { width: 8, height: 8 } });
    try {
      const ws = await peer(fx.server.url);
      ws.send(judgeMessage('j', [{ uri: fixture.uri('bright.mp4') }]));
      expect(verdictOf(await ws.nextFor('j')).scores[0]?.overall).toBeGreaterThan(0.7);
    } finally {
      await fx.server.close();
    }
  });
});

describe('streaming and trace', () => {
  it('streams turns before the verdict when asked, and strips turns unless trace is set', async () => {
    const ws = await peer();
    ws.sendVideo('a', uniformVideo(200));
    ws.sendVideo('b', uniformVideo(10));
    ws.send(judgeMessage('s', [{ inline: 'a' }, { inline: 'b' }], { options: { stream: true } }));
    const first = await ws.nextFor('s');
    const second = await ws.nextFor('s');
    const last = await ws.nextFor('s');
    expect([first.type, second.type, last.type]).toEqual(['turn', 'turn', 'verdict']);
    if (first.type === 'turn' && second.type === 'turn') expect([first.turn.index, second.turn.index]).toEqual([0, 1]);
    expect(verdictOf(last)).not.toHaveProperty('turns');

    ws.sendVideo('a', uniformVideo(200));
    ws.sendVideo('b', uniformVideo(10));
    ws.send(judgeMessage('t', [{ inline: 'a' }, { inline: 'b' }], { options: { trace: true } }));
    const traced = verdictOf(await ws.nextFor('t'));
    expect(traced.turns?.map((t) => t.index)).toEqual([0, 1]);
    expect(traced.turns?.[1]?.text).toContain('OA = 1');
  });
});

describe('failures stay with their request', () => {
  it('a missing file → VIDEO_DECODE_FAILED for that request only, while a concurrent good request succeeds', async () => {
    const ws = await peer();
    ws.send(judgeMessage('bad', [{ uri: fixture.uri('bright.mp4') }, { uri: fixture.uri('no-such.mp4') }]));
    ws.send(judgeMessage('good', [{ uri: fixture.uri('dark.mp4') }, { uri: fixture.uri('bright.mp4') }]));
    const bad = await ws.nextError('bad');
    expect(bad.code).toBe('VIDEO_DECODE_FAILED');
    expect(bad.message).toContain('videos.1.uri');
    expect(verdictOf(await ws.nextFor('good')).answer?.OA).toBe(2);
    await ws.roundTrip();
  });

  it('a corrupt file fails lazily inside the judge → VIDEO_DECODE_FAILED, even when the backend hides the cause', async () => {
    const ws = await peer();
    ws.send(judgeMessage('c1', [{ uri: fixture.uri('corrupt.mp4') }]));
    ws.send({ ...judgeMessage('c2', [{ uri: fixture.uri('corrupt.mp4') }]), prompt: 'wrap-decode please' });
    expect((await ws.nextError('c1')).code).toBe('VIDEO_DECODE_FAILED');
    expect((await ws.nextError('c2')).code).toBe('VIDEO_DECODE_FAILED');
    await ws.roundTrip();
  });

  it('forwards a VrGrpoError code from the judge, maps anything else to JUDGE_FAILED, and rejects malformed verdicts', async () => {
    const ws = await peer();
    for (const [id, prompt, code] of [
      ['f', 'format-error', 'FORMAT_ERROR'],
      ['p', 'throw-plain', 'JUDGE_FAILED'],
      ['m', 'malformed', 'JUDGE_FAILED'],
    ] as const) {
      ws.sendVideo(`v-${id}`, uniformVideo(50));
      ws.send({ ...judgeMessage(id, [{ inline: `v-${id}` }]), prompt });
      const error = await ws.nextError(id);
      expect(error.code).toBe(code);
    }
    await ws.roundTrip();
  });
});

describe('artifact root', () => {
  const cases: readonly (readonly [string, (f: ArtifactFixture) => string])[] = [
    ['a file outside the root', (f) => fileUri(path.join(f.outside, 'secret.mp4'))],
    ['.. segments', (f) => `${fileUri(f.root)}/../outside/secret.mp4`],
    ['encoded %2e%2e segments', (f) => `${fileUri(f.root)}/%2e%2e/outside/secret.mp4`],
    ['an encoded slash', (f) => `${fileUri(f.root)}/..%2f..%2foutside/secret.mp4`],
    ['a symlink pointing out', (f) => f.uri('escape.mp4')],
    ['a symlinked directory pointing out', (f) => f.uri('escape-dir/secret.mp4')],
    ['a missing file behind a symlinked directory', (f) => f.uri('escape-dir/nothing.mp4')],
    ['an http:// URI', () => 'http://127.0.0.1/video.mp4'],
    ['a bare path', (f) => path.join(f.root, 'bright.mp4')],
    ['a remote file host', () => 'file://evil.example/etc/passwd'],
    ['a query string', (f) => `${f.uri('bright.mp4')}?x=1`],
  ];

  for (const [name, uriOf] of cases) {
    it(`refuses ${name} with FORBIDDEN_PATH`, async () => {
      const ws = await peer();
      ws.send(judgeMessage('forbidden', [{ uri: uriOf(fixture) }]));
      const error = await ws.nextError('forbidden');
      expect(error.code).toBe('FORBIDDEN_PATH');
      expect(error.message).toContain('videos.0.uri');
      await ws.roundTrip();
    });
  }

  it('never calls the judge for a refused path', () => {
    expect(judge.calls).not.toContain('forbidden');
  });
});

describe('in-flight limits', () => {
  it('a judge id still in flight → DUPLICATE_ID; the first request still completes', async () => {
    const ws = await peer();
    ws.sendVideo('a', uniformVideo(1));
    ws.sendVideo('b', uniformVideo(2));
    ws.send({ ...judgeMessage('dup', [{ inline: 'a' }]), prompt: 'gate' });
    await within(judge.whenStarted('dup'), 'the judge to start');
    ws.send({ ...judgeMessage('dup', [{ inline: 'b' }]), prompt: 'gate' });
    expect((await ws.nextError('dup')).code).toBe('DUPLICATE_ID');
    judge.release('dup');
    expect((await ws.nextFor('dup')).type).toBe('verdict');
    // Once finished, the id may be used again (and 'b' was not consumed by the refused duplicate).
    ws.send(judgeMessage('dup', [{ inline: 'b' }]));
    expect((await ws.nextFor('dup')).type).toBe('verdict');
  });

  it('one request over maxInFlightPerConnection → OVERLOADED; other connections are not affected', async () => {
    const fx = await startServer(fixture, { maxInFlightPerConnection: 2 });
    try {
      const ws = await peer(fx.server.url);
      expect(ws.hello).toMatchObject({ limits: { maxInFlight: 2 } });
      for (const id of ['g1', 'g2']) ws.send({ ...judgeMessage(id, [{ uri: fixture.uri('dark.mp4') }]), prompt: 'gate' });
      await within(Promise.all([fx.judge.whenStarted('g1'), fx.judge.whenStarted('g2')]), 'both judgments to start');
      ws.send(judgeMessage('g3', [{ uri: fixture.uri('dark.mp4') }]));
      const error = await ws.nextError('g3');
      expect(error.code).toBe('OVERLOADED');
      const other = await peer(fx.server.url);
      other.send(judgeMessage('o1', [{ uri: fixture.uri('bright.mp4') }]));
      expect((await other.nextFor('o1')).type).toBe('verdict');
      fx.judge.release('g1');
      fx.judge.release('g2');
      expect((await ws.nextFor('g1')).type).toBe('verdict');
      expect((await ws.nextFor('g2')).type).toBe('verdict');
      ws.send(judgeMessage('g3', [{ uri: fixture.uri('dark.mp4') }]));
      expect((await ws.nextFor('g3')).type).toBe('verdict');
    } finally {
      await fx.server.close();
    }
  });
});
