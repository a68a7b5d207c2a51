/**
 * Reward-server test helpers: an artifact root with real MP4s (and files/symlinks outside it), a server factory, a
 * raw protocol peer that queues every server message, and bounded waits. Every wait has a timeout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../../src/common/logger.js';
import { Media, type RawVideo } from '../../src/media/index.js';
import { parseServerMessage, type ServerMessage } from '../../src/protocol/index.js';
import { RewardServer, type RewardServerOptions } from '../../src/reward-server/index.js';
import { openSocket, WAIT_MS, WirePeer, type PeerOptions } from '../transport/helpers.js';
import { BrightnessJudge } from './brightness-judge.js';

export { httpGet, rawText, upgradeStatus, WAIT_MS, within } from '../transport/helpers.js';

/** A clip whose every byte is `level`. */
export function uniformVideo(level: number, width = 16, height = 16, frameCount = 4, fps = 8): RawVideo {
  return { width, height, frameCount, fps, data: new Uint8Array(width * height * 3 * frameCount).fill(level) };
}

export function fileUri(file: string): string {
  return pathToFileURL(file).href;
}

/** A temp artifact root with bright.mp4 (level 200), dark.mp4 (level 40), corrupt.mp4, and traps pointing outside. */
export class ArtifactFixture {
  private constructor(
    readonly base: string,
    readonly root: string,
    readonly outside: string,
    readonly media: Media,
  ) {}

  static async create(): Promise<ArtifactFixture> {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-rs-')));
    const root = path.join(base, 'artifacts');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    const media = await Media.create();
    await Promise.all([
      media.encodeMp4(uniformVideo(200, 32, 32, 6), path.join(root, 'bright.mp4')),
      media.encodeMp4(uniformVideo(40, 32, 32, 6), path.join(root, 'dark.mp4')),
    ]);
    fs.copyFileSync(path.join(root, 'bright.mp4'), path.join(outside, 'secret.mp4'));
    fs.writeFileSync(path.join(root, 'corrupt.mp4'), Buffer.from('this is not an mp4 file at all'.repeat(20)));
    fs.symlinkSync(path.join(outside, 'secret.mp4'), path.join(root, 'escape.mp4'));
    fs.symlinkSync(outside, path.join(root, 'escape-dir'));
    fs.symlinkSync(path.join(root, 'dark.mp4'), path.join(root, 'sub', 'inner-link.mp4'));
    return new ArtifactFixture(base, root, outside, media);
  }

  /** `file://` URI of `name` under the root. */
  uri(name: string): string {
    return fileUri(path.join(this.root, name));
  }

  remove(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

/** Starts a server on 127.0.0.1:0 with a fresh BrightnessJudge (unless given) and quiet logs. */
export async function startServer(
  fixture: ArtifactFixture,
  overrides: Partial<RewardServerOptions> = {},
): Promise<{ server: RewardServer; judge: BrightnessJudge }> {
  const judge = overrides.service instanceof BrightnessJudge ? overrides.service : new BrightnessJudge();
  const server = await RewardServer.start({
    service: judge,
    media: fixture.media,
    log: silentLogger(),
    artifactRoot: fixture.root,
    host: '127.0.0.1',
    port: 0,
    ...overrides,
  });
  return { server, judge };
}

/** A raw protocol peer: sends anything, queues every server message parsed with `parseServerMessage`. */
export class Peer extends WirePeer<ServerMessage> {
  /** The server `hello` received on open. */
  hello: ServerMessage | null = null;

  /** Opens a connection and waits for the server `hello`. */
  static async open(url: string, options: PeerOptions = {}): Promise<Peer> {
    const peer = new Peer(openSocket(url, options), (data, isBinary) => {
      const text = isBinary ? '<binary>' : data.toString('utf8');
      const parsed = parseServerMessage(text);
      return parsed.ok ? parsed.message : { invalid: text };
    });
    const hello = await peer.next();
    if (hello.type !== 'hello') throw new Error(`expected hello, got ${hello.type}`);
    peer.hello = hello;
    return peer;
  }

  /** Sends a video header and its frames. */
  sendVideo(ref: string, video: RawVideo): void {
    this.send({ type: 'video', ref, width: video.width, height: video.height, frameCount: video.frameCount, pixelFormat: 'rgb24', fps: video.fps });
    this.sendBinary(video.data);
  }

  /** The next message about `id` (error, verdict, turn, pong, status) or `ref` (video_received). */
  override nextFor(id: string, ms = WAIT_MS): Promise<ServerMessage> {
    return this.next((m) => ('id' in m && m.id === id) || (m.type === 'video_received' && m.ref === id), ms);
  }
}
