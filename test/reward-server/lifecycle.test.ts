/** Reward server lifecycle: auth on upgrade, /healthz, drain on close, abort on disconnect, heartbeat, signals, start errors. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { installSignalDrain, RewardServer } from '../../src/reward-server/index.js';
import { BrightnessJudge } from './brightness-judge.js';
import { ArtifactFixture, httpGet, Peer, startServer, uniformVideo, upgradeStatus, within } from './helpers.js';

let fixture: ArtifactFixture;

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
});

afterAll(() => {
  fixture.remove();
});

function gateJudge(id: string): Record<string, unknown> {
  return { type: 'judge', id, prompt: 'gate', mode: 'pointwise', videos: [{ inline: `v-${id}` }] };
}

describe('authentication', () => {
  it('refuses an upgrade without or with a wrong bearer token with HTTP 401; the right token connects', async () => {
    const { server } = await startServer(fixture, { token: 's3cret-token' });
    try {
      expect(await upgradeStatus(server.url)).toBe(401);
      expect(await upgradeStatus(server.url, { authorization: 'Bearer wrong' })).toBe(401);
      expect(await upgradeStatus(server.url, { authorization: 'Basic s3cret-token' })).toBe(401);
      expect(await upgradeStatus(server.url, { authorization: 'Bearer s3cret-token' })).toBe(101);
      const ws = await Peer.open(server.url, { token: 's3cret-token' });
      await ws.roundTrip();
      await ws.close();
      // Health checks need no token.
      expect((await httpGet(server.port, '/healthz')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('/healthz and other paths', () => {
  it('answers 200 with status, rmVersion, backend, inFlight and connections; 404 elsewhere; 405 for POST', async () => {
    const { server } = await startServer(fixture);
    try {
      const ws = await Peer.open(server.url);
      expect(await httpGet(server.port, '/healthz')).toEqual({
        status: 200,
        body: { status: 'ok', rmVersion: 'test-rm-1', backend: 'test-brightness', inFlight: 0, connections: 1 },
      });
      expect((await httpGet(server.port, '/nope')).status).toBe(404);
      expect((await httpGet(server.port, '/')).status).toBe(404);
      expect((await httpGet(server.port, '/healthz', 'POST')).status).toBe(405);
      await ws.close();
    } finally {
      await server.close();
    }
  });
});

describe('drain', () => {
  it('close() lets an in-flight judgment finish, answers new requests with SHUTTING_DOWN, then closes sockets with 1001', async () => {
    const { server, judge } = await startServer(fixture);
    const ws = await Peer.open(server.url);
    ws.sendVideo('v-a', uniformVideo(100));
    ws.send(gateJudge('a'));
    await within(judge.whenStarted('a'), 'the judgment to start');

    const closing = server.close();
    expect(server.close()).toBe(closing);
    expect(server.state).toBe('draining');
    ws.sendVideo('v-b', uniformVideo(100));
    ws.send(gateJudge('b'));
    expect((await ws.nextError('b')).code).toBe('SHUTTING_DOWN');
    await ws.roundTrip(); // still served while draining
    const health = await httpGet(server.port, '/healthz');
    expect(health).toMatchObject({ status: 503, body: { status: 'draining', inFlight: 1 } });
    expect(await upgradeStatus(server.url)).toBe(503);

    judge.release('a');
    expect((await ws.nextFor('a')).type).toBe('verdict');
    await within(closing, 'close() to resolve');
    expect(server.state).toBe('closed');
    expect((await ws.whenClosed()).code).toBe(1001);
    expect(judge.aborted).toEqual([]);
    await within(server.closed, 'the closed promise');
    // Nothing listens any more.
    await expect(upgradeStatus(server.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('aborts judgments that outlive drainTimeoutMs and reports SHUTTING_DOWN to their clients', async () => {
    const { server, judge } = await startServer(fixture, { drainTimeoutMs: 100 });
    const ws = await Peer.open(server.url);
    ws.sendVideo('v-h', uniformVideo(100));
    ws.send({ ...gateJudge('h'), prompt: 'hang' });
    await within(judge.whenStarted('h'), 'the judgment to start');
    const closing = server.close();
    const error = await ws.nextError('h');
    expect(error.code).toBe('SHUTTING_DOWN');
    expect(judge.aborted).toEqual(['h']);
    await within(closing, 'close() to resolve');
    expect((await ws.whenClosed()).code).toBe(1001);
  });

  it('installSignalDrain closes the server once on the signal, resolves with it and removes its handlers', async () => {
    const { server } = await startServer(fixture);
    const before = process.listenerCount('SIGUSR2');
    const drained = installSignalDrain(server, silentLogger(), ['SIGUSR2']);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await within(drained, 'the drain')).toBe('SIGUSR2');
    expect(server.state).toBe('closed');
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('installSignalDrain resolves null and uninstalls when the server is closed some other way', async () => {
    const { server } = await startServer(fixture);
    const before = process.listenerCount('SIGUSR2');
    const drained = installSignalDrain(server, silentLogger(), ['SIGUSR2']);
    await server.close();
    expect(await within(drained, 'the drain')).toBeNull();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});

describe('disconnects and dead peers', () => {
  it('a client disconnect aborts its in-flight judgment through the AbortSignal', async () => {
    const { server, judge } = await startServer(fixture);
    try {
      const ws = await Peer.open(server.url);
      ws.sendVideo('v-h', uniformVideo(100));
      ws.send({ ...gateJudge('h'), prompt: 'hang' });
      await within(judge.whenStarted('h'), 'the judgment to start');
      expect(server.inFlight).toBe(1);
      ws.ws.terminate();
      await within(judge.whenAborted('h'), 'the abort');
      expect(judge.aborted).toEqual(['h']);
      await within(
        (async () => {
          while (server.inFlight > 0 || server.connectionCount > 0) await new Promise((r) => setTimeout(r, 5));
        })(),
        'the server to forget the connection',
      );
    } finally {
      await server.close();
    }
  });

  it('terminates a peer that stops answering heartbeat pings; a live peer stays connected', async () => {
    const { server } = await startServer(fixture, { heartbeatIntervalMs: 150 });
    try {
      const live = await Peer.open(server.url);
      const dead = await Peer.open(server.url, { autoPong: false });
      expect((await dead.whenClosed(3_000)).code).toBe(1006);
      await live.roundTrip();
      expect(server.connectionCount).toBe(1);
      await live.close();
    } finally {
      await server.close();
    }
  });
});

describe('start', () => {
  it('rejects a relative or missing artifact root and bad numbers with INVALID_ARGUMENT naming the field', async () => {
    const base = { service: new BrightnessJudge(), media: fixture.media, log: silentLogger() };
    for (const [options, field] of [
      [{ artifactRoot: 'relative/dir' }, 'artifactRoot'],
      [{ artifactRoot: `${fixture.root}/does-not-exist` }, 'artifactRoot'],
      [{ artifactRoot: fixture.root, maxInFlightPerConnection: 0 }, 'maxInFlightPerConnection'],
      [{ artifactRoot: fixture.root, port: 70_000 }, 'port'],
      [{ artifactRoot: fixture.root, token: '' }, 'token'],
    ] as const) {
      const error: unknown = await RewardServer.start({ ...base, ...options }).catch((e: unknown) => e);
      expect(isVrGrpoError(error, 'INVALID_ARGUMENT')).toBe(true);
      if (isVrGrpoError(error)) expect(error.details.field).toBe(field);
    }
  });

  it('rejects a port already in use, leaving nothing open', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    try {
      const error: unknown = await startServer(fixture, { port }).catch((e: unknown) => e);
      expect(isVrGrpoError(error, 'ADDRESS_IN_USE')).toBe(true);
      if (isVrGrpoError(error)) expect(error.details.reason).toBe('EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('leaves no server, socket or timer behind after close()', async () => {
    const census = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) if (/TCP|Timeout/.test(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
      return counts;
    };
    const before = census();
    const { server, judge } = await startServer(fixture, { heartbeatIntervalMs: 1_000 });
    const a = await Peer.open(server.url);
    const b = await Peer.open(server.url);
    a.sendVideo('v-g', uniformVideo(9));
    a.send(gateJudge('g'));
    await within(judge.whenStarted('g'), 'the judgment to start');
    const closing = server.close();
    judge.release('g');
    await within(closing, 'close() to resolve');
    await Promise.all([a.whenClosed(), b.whenClosed()]);
    // Earlier tests' handles may still be finishing their close, so counts may only go down.
    const after = census();
    for (const [kind, count] of Object.entries(after)) expect({ kind, count }).toEqual({ kind, count: Math.min(count, before[kind] ?? 0) });
  });

  it('reports its url and port and a closed server can be closed again', async () => {
    const { server } = await startServer(fixture);
    expect(server.state).toBe('running');
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
    expect(Object.isFrozen(server.options)).toBe(true);
    await server.close();
    await server.close();
    expect(server.state).toBe('closed');
  });
});
