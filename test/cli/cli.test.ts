import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(info).toMatchObject({ frameCount: 24, width: 64, height: 64, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(info.fps).toBeCloseTo(8, 5);
    const line = JSON.parse(run.stdout.trim()) as { path: string; goldAccuracy: number | null };
    expect(line.path).toBe(out);
    expect(line.goldAccuracy).not.toBeNull();
  });

  it('generate --count N writes N videos; prompts outside the grammar still generate (no gold score)', async () => {
    const run = await cli(['generate', '--prompt', 'a sunset over the sea', '--out', join(dir, 'many.mp4'), '--count', '3']);
    expect(run.code).toBe(0);
    for (let i = 0; i < 3; i++) expect(existsSync(join(dir, `many-${i}.mp4`))).toBe(true);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { goldAccuracy: number | null });
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.goldAccuracy === null)).toBe(true);
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

  it('exits 2 on a bad option value and 1 on a missing checkpoint', async () => {
    const usage = await cli(['generate', '--prompt', 'x', '--count', 'zero']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--count: expected integer >= 1');
    const missing = await cli(['generate', '--prompt', 'x', '--checkpoint', join(dir, 'nope'), '--out', join(dir, 'y.mp4')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('CHECKPOINT_NOT_FOUND');
  });
});
