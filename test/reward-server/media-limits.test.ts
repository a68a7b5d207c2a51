/**
 * Media limits on a real reward server (loopback, BrightnessJudge): playlists inside the artifact root refused with
 * FORBIDDEN_PATH, oversized files and inline frames with VIDEO_TOO_LARGE, and one frame-memory budget shared by every
 * connection (inline videos and decoded files) refused with OVERLOADED when full and usable again once freed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lavfiClip } from '../media/lavfi.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import type { RewardServer } from '../../src/reward-server/index.js';
import { ArtifactFixture, fileUri, Peer, startServer, uniformVideo } from './helpers.js';

let fixture: ArtifactFixture;
const peers: Peer[] = [];
const servers: RewardServer[] = [];

async function serve(overrides: Parameters<typeof startServer>[1] = {}): Promise<RewardServer> {
  const { server } = await startServer(fixture, overrides);
  servers.push(server);
  return server;
}

async function peer(server: RewardServer): Promise<Peer> {
  const p = await Peer.open(server.url);
  peers.push(p);
  return p;
}

function judgeMessage(id: string, videos: readonly object[]): Record<string, unknown> {
  return { type: 'judge', id, prompt: 'a red ball moves left', mode: videos.length === 2 ? 'pairwise' : 'pointwise', videos };
}

function errorOf(message: ServerMessage): Extract<ServerMessage, { type: 'error' }> {
  if (message.type !== 'error') throw new Error(`expected an error, got ${JSON.stringify(message)}`);
  return message;
}

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
  const secret = path.join(fixture.outside, 'secret.mp4');
  fs.writeFileSync(path.join(fixture.root, 'hls.mp4'), `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${secret}\n#EXT-X-ENDLIST\n`);
  fs.writeFileSync(path.join(fixture.root, 'hls.m3u8'), `#EXTM3U\n#EXTINF:10,\nfile://${secret}\n`);
  fs.writeFileSync(path.join(fixture.root, 'concat.mp4'), `ffconcat version 1.0\nfile '${secret}'\n`);
  lavfiClip(path.join(fixture.root, 'big.mp4'), 'color=c=gray:s=5000x5000:r=1', 1); // a one-frame 5000×5000 MP4, about 75 KB
}, 60_000);

afterEach(async () => {
  for (const p of peers.splice(0)) {
    expect(p.invalid).toEqual([]);
    await p.close();
  }
  for (const s of servers.splice(0)) await s.close();
});

afterAll(() => {
  fixture.remove();
});

describe('ffmpeg confinement', () => {
  it('refuses a playlist inside the root that lists a file outside it (named .mp4 or .m3u8) and a concat list', async () => {
    const server = await serve();
    const p = await peer(server);
    for (const name of ['hls.mp4', 'hls.m3u8', 'concat.mp4']) {
      p.send(judgeMessage(name, [{ uri: fixture.uri(name) }]));
      const error = errorOf(await p.nextFor(name));
      expect(error.code, name).toBe('FORBIDDEN_PATH');
      expect(error.message).toMatch(/playlist/);
    }
    // The outside file itself is refused too, and an ordinary file inside the root is still judged.
    p.send(judgeMessage('direct', [{ uri: fileUri(path.join(fixture.outside, 'secret.mp4')) }]));
    expect(errorOf(await p.nextFor('direct')).code).toBe('FORBIDDEN_PATH');
    p.send(judgeMessage('fine', [{ uri: fixture.uri('bright.mp4') }]));
    expect((await p.nextFor('fine')).type).toBe('verdict');
  });
});

describe('media limits', () => {
  it('refuses a 5000×5000 file from its header with VIDEO_TOO_LARGE (default limits), without a path in the message', async () => {
    const server = await serve();
    const p = await peer(server);
    p.send(judgeMessage('big', [{ uri: fixture.uri('big.mp4') }]));
    const error = errorOf(await p.nextFor('big', 20_000));
    expect(error.code).toBe('VIDEO_TOO_LARGE');
    expect(error.message).toMatch(/maxPixelsPerFrame/);
    expect(error.message).not.toContain(fixture.root);
  });

  it('judges the same file at the decode size when its pixels are allowed', async () => {
    const server = await serve({ mediaLimits: { maxPixelsPerFrame: 5000 * 5000 }, decodeMaxPixels: 32 * 32 });
    const p = await peer(server);
    p.send(judgeMessage('big-ok', [{ uri: fixture.uri('big.mp4') }]));
    const verdict = await p.nextFor('big-ok', 30_000);
    expect(verdict.type).toBe('verdict');
    // Nothing is left held against the frame budget once the judgment is over.
    expect(server.options.frameMemory.bytesHeld).toBe(0);
  });

  it('refuses an inline header beyond maxInlinePixelsPerFrame with VIDEO_TOO_LARGE and drops its binary', async () => {
    const server = await serve({ maxInlinePixelsPerFrame: 32 * 32 });
    const p = await peer(server);
    p.sendVideo('wide', uniformVideo(100, 64, 32, 1));
    expect(errorOf(await p.nextFor('wide')).code).toBe('VIDEO_TOO_LARGE');
    p.sendVideo('ok', uniformVideo(100, 32, 32, 1));
    expect((await p.nextFor('ok')).type).toBe('video_received');
  });
});

describe('one frame-memory budget for the whole server', () => {
  const video = uniformVideo(120, 32, 32, 4); // 12288 bytes

  it('is shared by all connections: the fourth connection is refused with OVERLOADED until another frees its bytes', async () => {
    const bytes = video.data.length;
    const server = await serve({ maxFrameMemoryBytes: 3 * bytes, maxInlineBytesPerConnection: 10 * bytes });
    const conns = [await peer(server), await peer(server), await peer(server), await peer(server)];
    for (const [i, c] of conns.slice(0, 3).entries()) {
      c.sendVideo(`v${i}`, video);
      expect((await c.nextFor(`v${i}`)).type).toBe('video_received');
    }
    expect(server.options.frameMemory.bytesHeld).toBe(3 * bytes);
    const last = conns[3];
    if (last === undefined) throw new Error('no fourth connection');
    last.sendVideo('v3', video);
    const refused = errorOf(await last.nextFor('v3'));
    expect(refused.code).toBe('OVERLOADED');
    expect(refused.message).toMatch(/maxFrameMemoryBytes/);

    // A judgment that uses v0 releases its bytes when it ends; a closed connection releases what it stored.
    conns[0]?.send(judgeMessage('j0', [{ inline: 'v0' }]));
    expect((await conns[0]?.nextFor('j0'))?.type).toBe('verdict');
    last.sendVideo('v3', video);
    expect((await last.nextFor('v3')).type).toBe('video_received');
    await conns[1]?.close();
    await conns[2]?.close();
    const deadline = performance.now() + 5_000;
    while (server.options.frameMemory.bytesHeld > bytes && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.options.frameMemory.bytesHeld).toBe(bytes);
  });

  it('counts decoded file frames too: a file whose decode does not fit is refused with OVERLOADED, then fits once freed', async () => {
    // bright.mp4 is 32×32×6: 18432 decoded bytes. The budget holds one inline video (12288) or one decode, not both.
    const server = await serve({ maxFrameMemoryBytes: 20_000 });
    const a = await peer(server);
    const b = await peer(server);
    a.sendVideo('held', video);
    expect((await a.nextFor('held')).type).toBe('video_received');
    b.send(judgeMessage('file', [{ uri: fixture.uri('bright.mp4') }]));
    const refused = errorOf(await b.nextFor('file', 20_000));
    expect(refused.code).toBe('OVERLOADED');
    expect(refused.message).toMatch(/frame memory budget/);
    await a.close();
    const deadline = performance.now() + 5_000;
    while (server.options.frameMemory.bytesHeld > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    b.send(judgeMessage('file-again', [{ uri: fixture.uri('bright.mp4') }]));
    expect((await b.nextFor('file-again', 20_000)).type).toBe('verdict');
    expect(server.options.frameMemory.bytesHeld).toBe(0);
  });
});
