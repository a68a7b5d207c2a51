import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { Media } from '../../src/media/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vrgrpo-cli-'));
let media: Media;
beforeAll(async () => {
  media = await Media.create();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `vr-grpo` entry point as a child process (bounded by a timeout). */
function cli(args: readonly string[], timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

describe('vr-grpo CLI', () => {
  it('generate writes a playable MP4 with the configured frame count and size', async () => {
    const out = join(dir, 'one.mp4');
    const run = await cli(['generate', '--prompt', 'a red circle moving left on a blue background'.replace('blue', 'navy'), '--out', out, '--seed', '3']);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const info = await media.probe(out);
    expect(info).toMatchObject({ frameCount: 48, width: 64, height: 64, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(info.fps).toBeCloseTo(8, 5);
    const line = JSON.parse(run.stdout.trim()) as { path: string; goldAccuracy: number | null };
    expect(line.path).toBe(out);
    expect(line.goldAccuracy).not.toBeNull();
  });

  it('generate --count N writes N videos; prompts outside the grammar still generate (no gold score)', async () => {
    const run = await cli(['generate', '--prompt', 'a sunset over the sea', '--out', join(dir, 'many.mp4'), '--count', '3']);
    expect(run.code).toBe(0);
    for (let i = 0; i < 3; i++) expect(existsSync(join(dir, `many-${i}.mp4`))).toBe(true);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { goldAccuracy: number | null });
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.goldAccuracy === null)).toBe(true);
  });

  it('the judge commands answer to their new names and their old spellings alike', async () => {
    const [perception, oldPerception, checkpoint, oldCheckpoint] = await Promise.all([
      cli(['train-perception', '--help']),
      cli(['train-reward-model', '--help']),
      cli(['judge-checkpoint', '--help']),
      cli(['rm', '--help']),
    ]);
    for (const r of [perception, oldPerception, checkpoint, oldCheckpoint]) expect(r.code, r.stderr).toBe(0);
    expect(perception.stdout).toMatch(/^Usage: vr-grpo train-perception\|train-reward-model /m);
    expect(oldPerception.stdout).toBe(perception.stdout);
    expect(checkpoint.stdout).toMatch(/^Usage: vr-grpo judge-checkpoint\|rm /m);
    expect(checkpoint.stdout).toMatch(/swap/);
    expect(oldCheckpoint.stdout).toBe(checkpoint.stdout);
  });

  it('exits 2 naming the field path when the config is invalid', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'training:\n  groupSize: eight\n');
    const run = await cli(['generate', '--config', bad, '--prompt', 'a red circle staying still on a gray background', '--out', join(dir, 'x.mp4')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONFIG_INVALID');
    expect(run.stderr).toContain('training.groupSize: expected integer >= 2 and <= 256, got "eight"');
    expect(existsSync(join(dir, 'x.mp4'))).toBe(false);
  });

  it('judge scores two videos in-process (JSON) and with --trace prints the reasoning', async () => {
    const a = join(dir, 'ja.mp4');
    const b = join(dir, 'jb.mp4');
    const gen = await cli([
      'generate',
      '--prompt',
      'a red circle moving left fast on a navy background',
      '--out',
      join(dir, 'j.mp4'),
      '--count',
      '2',
      '--seed',
      '4',
    ]);
    expect(gen.code).toBe(0);
    renameSync(join(dir, 'j-0.mp4'), a);
    renameSync(join(dir, 'j-1.mp4'), b);
    const run = await cli(['judge', '--prompt', 'a red circle moving left fast on a navy background', '--video', a, '--video', b, '--json']);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const verdict = JSON.parse(run.stdout) as { type: string; mode: string; answer: { OA: number }; rmVersion: string };
    expect(verdict).toMatchObject({ type: 'verdict', mode: 'pairwise', rmVersion: 'grpo-no-cot-gain' });
    expect([0, 1, 2]).toContain(verdict.answer.OA);
    const traced = await cli(['judge', '--prompt', 'a red circle moving left fast on a navy background', '--video', a, '--trace']);
    expect(traced.code).toBe(0);
    expect(traced.stdout).toContain('<snapshot>');
    expect(traced.stdout).toMatch(/video 1: TA \d\.\d\d/);
  });

  it('serve-reward prints its listening line, serves judge --server with a token, and drains on SIGTERM', async () => {
    const a = join(dir, 'ja.mp4');
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'vr-grpo.js'), 'serve-reward', '--port', '0', '--artifact-root', dir], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VRGRPO_TOKEN: 'tok' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error('no listening line')), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (ws:\/\/\S+)/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolveUrl(m[1]);
          }
        });
      });
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${url.replace('ws:', 'http:')}/healthz`)).json()) as { status: string; rmVersion: string };
      expect(health).toMatchObject({ status: 'ok', rmVersion: 'grpo-no-cot-gain' });
      const denied = await cli(['judge', '--prompt', 'a red circle moving left fast on a navy background', '--video', a, '--server', url, '--token', 'wrong']);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('UNAUTHORIZED');
      const ok = await cli([
        'judge',
        '--prompt',
        'a red circle moving left fast on a navy background',
        '--video',
        a,
        '--server',
        url,
        '--token',
        'tok',
        '--json',
      ]);
      expect(ok.code).toBe(0);
      expect((JSON.parse(ok.stdout) as { mode: string }).mode).toBe('pointwise');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('exits 2 on a bad option value and 1 on a missing checkpoint', async () => {
    const usage = await cli(['generate', '--prompt', 'x', '--count', 'zero']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--count: expected integer >= 1');
    const missing = await cli(['generate', '--prompt', 'x', '--checkpoint', join(dir, 'nope'), '--out', join(dir, 'y.mp4')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('CHECKPOINT_NOT_FOUND');
  });
});
