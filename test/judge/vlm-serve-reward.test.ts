/**
 * Pointing the reward server at a VLM: `vr-grpo serve-reward` (a real child process) with `judge.backend: vlm` in its
 * config judges through a chat-completions server on loopback, and reports the server's failures as error codes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/index.js';
import type { RawVideo } from '../../src/media/index.js';
import { Peer } from '../reward-server/helpers.js';
import { ScriptedChatServer, sensibleScript } from './scripted-chat-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-vlm-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function video(level: number): RawVideo {
  return { width: 16, height: 16, frameCount: 12, fps: 8, data: new Uint8Array(16 * 16 * 3 * 12).fill(level) };
}

/** configs/reward-vlm.yaml pointed at `baseUrl`, on a free port, with fast small images. */
function config(baseUrl: string): string {
  const c = parseYaml(readFileSync(join(PROJECT_ROOT, 'configs', 'reward-vlm.yaml'), 'utf8')) as {
    judge: { vlm: Record<string, unknown> };
    rewardServer: Record<string, unknown>;
  };
  Object.assign(c.judge.vlm, { baseUrl, maxAttempts: 2, retryBaseDelayMs: 10, imageFormat: 'png', initialMaxPixels: 3136, selectedMaxPixels: 3136 });
  Object.assign(c.rewardServer, { port: 0, artifactRoot: dir });
  const file = join(dir, 'reward-vlm.yaml');
  writeFileSync(file, stringifyYaml(c));
  return file;
}

describe('serve-reward with judge.backend vlm', () => {
  it('judges through the VLM server and turns its failures into error codes', async () => {
    const chat = await ScriptedChatServer.start(sensibleScript);
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-reward', '--config', config(chat.baseUrl)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VRGRPO_VLM_API_KEY: 'sk-serve', VRGRPO_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let peer: Peer | null = null;
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 60_000);
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (ws:\/\/\S+)/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolveUrl(m[1]);
          }
        });
      });
      peer = await Peer.open(url);
      expect(peer.hello).toMatchObject({ backend: 'vlm', rmVersion: 'vlm:vr-thinker' });
      peer.sendVideo('dark', video(30));
      peer.sendVideo('bright', video(220));
      peer.send({
        type: 'judge',
        id: 'j1',
        prompt: 'a bright scene',
        mode: 'pairwise',
        videos: [{ inline: 'dark' }, { inline: 'bright' }],
        options: { bothOrders: false },
      });
      const verdict = await peer.nextFor('j1', 30_000);
      expect(verdict).toMatchObject({ type: 'verdict', rmVersion: 'vlm:vr-thinker', answer: { OA: 1 } });
      expect(chat.requests.length).toBeGreaterThanOrEqual(2);
      expect(chat.requests[0]?.headers.authorization).toBe('Bearer sk-serve');
      expect(chat.bodies[0]).toMatchObject({ model: 'vr-thinker', temperature: 0, max_tokens: 2048 });
      // The GPU server goes bad: the client gets BACKEND_UNAVAILABLE, not a verdict.
      chat.setScript(() => ({ kind: 'status', status: 502 }));
      peer.sendVideo('dark2', video(30));
      peer.sendVideo('bright2', video(220));
      peer.send({ type: 'judge', id: 'j2', prompt: 'a bright scene', mode: 'pairwise', videos: [{ inline: 'dark2' }, { inline: 'bright2' }] });
      const error = await peer.nextError('j2', 30_000);
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
    } finally {
      peer?.ws.close();
      child.kill('SIGTERM');
      await chat.close();
    }
    expect(await exited).toBe(0);
  });
});
