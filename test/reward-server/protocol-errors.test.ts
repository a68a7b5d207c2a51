/** Reward server against bad input: every recoverable error is answered with its code and the connection stays served. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import { ArtifactFixture, Peer, startServer, uniformVideo } from './helpers.js';

const MAX_PAYLOAD_BYTES = 64 * 1024;

let fixture: ArtifactFixture;
let server: RewardServer;
const peers: Peer[] = [];

async function peer(url = server.url): Promise<Peer> {
  const p = await Peer.open(url);
  peers.push(p);
  return p;
}

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
  ({ server } = await startServer(fixture, { maxPayloadBytes: MAX_PAYLOAD_BYTES }));
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

describe('handshake and basics', () => {
  it('sends hello on open with protocol, versions and limits; answers ping and status', async () => {
    const ws = await peer();
    expect(ws.hello).toEqual({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: 'vr-grpo-reward-server',
      rmVersion: 'test-rm-1',
      backend: 'test-brightness',
      limits: { maxPayloadBytes: MAX_PAYLOAD_BYTES, maxInFlight: 64 },
    });
    ws.send({ type: 'status', id: 's1' });
    const status = await ws.nextFor('s1');
    expect(status).toMatchObject({ type: 'status', id: 's1', rmVersion: 'test-rm-1', backend: 'test-brightness', state: 'running', inFlight: 0 });
    ws.send({ type: 'ping', id: 'p1', t: 42 });
    expect(await ws.nextFor('p1')).toEqual({ type: 'pong', id: 'p1', t: 42 });
    ws.send({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'test' });
    await ws.roundTrip();
    expect(ws.queued).toEqual([]);
  });

  it('a client hello with another protocol version gets PROTOCOL_MISMATCH, then close 1002', async () => {
    const ws = await peer();
    ws.send({ type: 'hello', protocol: PROTOCOL_VERSION + 1 });
    const error = await ws.nextError(null);
    expect(error.code).toBe('PROTOCOL_MISMATCH');
    expect((await ws.whenClosed()).code).toBe(1002);
  });
});

describe('malformed messages keep the connection open', () => {
  it('invalid JSON → BAD_MESSAGE', async () => {
    const ws = await peer();
    ws.send('{"type": "ping", ');
    expect((await ws.nextError(null)).code).toBe('BAD_MESSAGE');
    await ws.roundTrip();
  });

  it('JSON that is not an object → INVALID_REQUEST', async () => {
    const ws = await peer();
    for (const text of ['[1,2]', '"judge"', 'null', '42']) {
      ws.send(text);
      expect((await ws.nextError(null)).code).toBe('INVALID_REQUEST');
    }
    await ws.roundTrip();
  });

  it('schema violation → INVALID_REQUEST naming the field, with the request id', async () => {
    const ws = await peer();
    ws.send({ type: 'judge', id: 'j1', mode: 'pairwise', videos: [{ inline: 'a' }, { inline: 'b' }] });
    const missingPrompt = await ws.nextError('j1');
    expect(missingPrompt.code).toBe('INVALID_REQUEST');
    expect(missingPrompt.message).toContain('prompt');

    ws.send({ type: 'judge', id: 'j2', prompt: 'p', mode: 'pairwise', videos: [{ inline: 'a' }] });
    const oneVideo = await ws.nextError('j2');
    expect(oneVideo.code).toBe('INVALID_REQUEST');
    expect(oneVideo.message).toContain('videos');

    ws.send({ type: 'judge', id: 'j3', prompt: 'p', mode: 'pointwise', videos: [{ inline: 'a' }], options: { initialFrames: 99 } });
    expect((await ws.nextError('j3')).message).toContain('options.initialFrames');
    ws.send({ type: 'judge', id: 'j4', prompt: 'p', mode: 'pointwise', videos: [{ inline: 'a' }], options: { initialView: { index: 2, of: 2 } } });
    expect((await ws.nextError('j4')).message).toContain('options.initialView');

    ws.send({ type: 'ping', id: 'p', extra: true });
    expect((await ws.nextError('p')).message).toContain('extra');
    await ws.roundTrip();
  });

  it('unknown type → UNKNOWN_TYPE', async () => {
    const ws = await peer();
    ws.send({ type: 'reboot', id: 'x1' });
    const error = await ws.nextError('x1');
    expect(error.code).toBe('UNKNOWN_TYPE');
    expect(error.message).toContain('reboot');
    await ws.roundTrip();
  });

  it('a judge request naming an inline video that was never sent → INVALID_REQUEST naming videos.N.inline', async () => {
    const ws = await peer();
    ws.sendVideo('have', uniformVideo(10));
    await ws.nextFor('have');
    ws.send({ type: 'judge', id: 'j', prompt: 'p', mode: 'pairwise', videos: [{ inline: 'have' }, { inline: 'missing' }] });
    const error = await ws.nextError('j');
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('videos.1.inline');
    // The refused request did not consume 'have'.
    ws.send({ type: 'judge', id: 'j2', prompt: 'p', mode: 'pointwise', videos: [{ inline: 'have' }] });
    expect((await ws.nextFor('j2')).type).toBe('verdict');
  });
});

describe('inline video framing', () => {
  it('acknowledges a header + exact binary with video_received', async () => {
    const ws = await peer();
    const video = uniformVideo(10, 8, 6, 3);
    ws.sendVideo('v', video);
    expect(await ws.nextFor('v')).toEqual({ type: 'video_received', ref: 'v', bytes: 8 * 6 * 3 * 3 });
  });

  it('a binary message without a header → BAD_MESSAGE', async () => {
    const ws = await peer();
    ws.sendBinary(new Uint8Array(300));
    expect((await ws.nextError(null)).code).toBe('BAD_MESSAGE');
    await ws.roundTrip();
  });

  it('a header followed by the wrong byte count → INVALID_REQUEST for that ref; the ref can then be sent again', async () => {
    const ws = await peer();
    ws.send({ type: 'video', ref: 'v', width: 4, height: 4, frameCount: 2, pixelFormat: 'rgb24' });
    ws.sendBinary(new Uint8Array(4 * 4 * 3 * 2 - 1));
    const error = await ws.nextError('v');
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('96 bytes');
    await ws.roundTrip();
    ws.sendVideo('v', uniformVideo(1, 4, 4, 2));
    expect((await ws.nextFor('v')).type).toBe('video_received');
  });

  it('a header followed by a text message → INVALID_REQUEST for that ref, and the text message is still handled', async () => {
    const ws = await peer();
    ws.send({ type: 'video', ref: 'v', width: 4, height: 4, frameCount: 2, pixelFormat: 'rgb24' });
    ws.send({ type: 'ping', id: 'after' });
    expect((await ws.nextError('v')).code).toBe('INVALID_REQUEST');
    expect((await ws.nextFor('after')).type).toBe('pong');
  });

  it('a header announcing more than maxPayloadBytes → INVALID_REQUEST; its binary is dropped without a second error', async () => {
    const ws = await peer();
    ws.send({ type: 'video', ref: 'big', width: 256, height: 256, frameCount: 2, pixelFormat: 'rgb24' });
    expect((await ws.nextError('big')).code).toBe('INVALID_REQUEST');
    ws.sendBinary(new Uint8Array(1000));
    await ws.roundTrip();
    expect(ws.queued).toEqual([]);
  });

  it('a message over maxPayloadBytes closes the connection with 1009', async () => {
    const ws = await peer();
    ws.send({ type: 'video', ref: 'v', width: 128, height: 128, frameCount: 1, pixelFormat: 'rgb24' });
    ws.sendBinary(new Uint8Array(MAX_PAYLOAD_BYTES + 1));
    expect((await ws.whenClosed()).code).toBe(1009);
    // The server survives and serves new connections.
    const again = await peer();
    await again.roundTrip();
  });

  it('over the per-connection inline budget → OVERLOADED; a video alone over it → INVALID_REQUEST; budget frees after use', async () => {
    const fx = await startServer(fixture, { maxInlineBytesPerConnection: 2 * 16 * 16 * 3 * 4 });
    try {
      const ws = await peer(fx.server.url);
      ws.sendVideo('a', uniformVideo(200));
      ws.sendVideo('b', uniformVideo(40));
      ws.sendVideo('c', uniformVideo(90));
      expect((await ws.nextFor('a')).type).toBe('video_received');
      expect((await ws.nextFor('b')).type).toBe('video_received');
      expect((await ws.nextError('c')).code).toBe('OVERLOADED');
      ws.sendVideo('huge', uniformVideo(1, 16, 16, 9));
      expect((await ws.nextError('huge')).code).toBe('INVALID_REQUEST');
      ws.send({ type: 'judge', id: 'j', prompt: 'p', mode: 'pairwise', videos: [{ inline: 'a' }, { inline: 'b' }] });
      expect((await ws.nextFor('j')).type).toBe('verdict');
      await ws.roundTrip(); // the judgment's bytes are released after its verdict
      ws.sendVideo('c', uniformVideo(90));
      expect((await ws.nextFor('c')).type).toBe('video_received');
    } finally {
      await fx.server.close();
    }
  });
});

describe('robustness', () => {
  it('a text frame with invalid UTF-8 closes that connection with 1007; the server keeps serving others', async () => {
    const ws = await peer();
    ws.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await ws.whenClosed()).code).toBe(1007);
    await (await peer()).roundTrip();
  });

  it('survives 400 seeded mutations of valid messages on one connection and still answers', async () => {
    const rng = Rng.fromSeed(20_240_601);
    const ws = await peer();
    const valid: Record<string, unknown>[] = [
      { type: 'ping', id: 'p', t: 1 },
      { type: 'status', id: 's' },
      { type: 'video', ref: 'r', width: 4, height: 4, frameCount: 1, pixelFormat: 'rgb24', fps: 8 },
      { type: 'judge', id: 'j', prompt: 'p', mode: 'pairwise', videos: [{ inline: 'r' }, { inline: 'q' }], options: { stream: true } },
      { type: 'judge', id: 'k', prompt: 'p', mode: 'pointwise', videos: [{ uri: fixture.uri('nope.mp4') }] },
    ];
    const values: unknown[] = [null, -1, 0, 1.5, 1e308, '', 'x'.repeat(5000), [], [1, 'a'], {}, { inline: 'r' }, true, 'judge', 'hello'];
    for (let i = 0; i < 400; i += 1) {
      const base: Record<string, unknown> = { ...rng.pick(valid) };
      const keys = Object.keys(base);
      const action = rng.int(5);
      if (action === 0) delete base[rng.pick(keys)];
      else if (action === 1) base[rng.pick(keys)] = rng.pick(values);
      else if (action === 2) base[`extra${rng.int(3)}`] = rng.pick(values);
      let text = JSON.stringify(base);
      if (action === 3) text = text.slice(0, rng.int(text.length));
      if (action === 4) {
        const at = rng.int(text.length);
        text = `${text.slice(0, at)}${String.fromCharCode(32 + rng.int(90))}${text.slice(at + 1)}`;
      }
      if (base.type === 'hello') continue; // a hello with another version legitimately closes the connection
      ws.send(text);
      if (rng.bool(0.05)) ws.sendBinary(new Uint8Array(rng.int(100)));
    }
    await ws.roundTrip('final');
    expect(ws.ws.readyState).toBe(ws.ws.OPEN);
  });
});
