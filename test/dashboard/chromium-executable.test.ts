/**
 * Finding Chromium: an explicit path or CHROMIUM_PATH must work (no silent fallback), a system browser on PATH wins over
 * the npm one, and the npm one (@sparticuz/chromium) is unpacked once, atomically, into its cache and runs headless.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveChromium } from '../../src/dashboard/chromium-executable.js';
import { VrGrpoError } from '../../src/errors/index.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-chromium-exe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fakeBrowser = (dir: string, name: string): string => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
};

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    return error instanceof VrGrpoError ? error.code : `not a VrGrpoError: ${String(error)}`;
  }
  return 'resolved';
};

describe('resolveChromium', () => {
  it('uses the explicit path, then CHROMIUM_PATH, then a system browser on PATH', async () => {
    const sys = fakeBrowser(join(root, 'sys'), 'chromium-browser');
    const mine = fakeBrowser(join(root, 'mine'), 'my-chrome');
    const env = { PATH: `/nonexistent:${join(root, 'sys')}` };
    expect(await resolveChromium({ env })).toEqual({ path: sys, source: 'path' });
    expect(await resolveChromium({ env: { ...env, CHROMIUM_PATH: mine } })).toEqual({ path: mine, source: 'env' });
    expect(await resolveChromium({ env: { ...env, CHROMIUM_PATH: sys }, executablePath: mine })).toEqual({ path: mine, source: 'option' });
  });

  it('refuses a named browser that is missing or not executable, with BROWSER_NOT_FOUND, instead of falling back', async () => {
    const env = { PATH: join(root, 'sys') };
    expect(await codeOf(resolveChromium({ env: { ...env, CHROMIUM_PATH: join(root, 'missing') } }))).toBe('BROWSER_NOT_FOUND');
    const plain = join(root, 'plain');
    writeFileSync(plain, 'not a program', { mode: 0o644 });
    expect(await codeOf(resolveChromium({ env, executablePath: plain }))).toBe('BROWSER_NOT_FOUND');
  });

  it('falls back to the npm Chromium, unpacked atomically into its cache: concurrent callers get one complete binary that runs', async () => {
    const cache = join(root, 'cache');
    const env = { PATH: '/nonexistent', VRGRPO_CHROMIUM_CACHE: cache };
    const [a, b] = await Promise.all([resolveChromium({ env }), resolveChromium({ env })]);
    expect(a.source).toBe('bundled');
    expect(b).toEqual(a);
    expect(a.path.startsWith(cache)).toBe(true);
    // Nothing half-written is left beside it, and it is a real program of browser size.
    const folder = join(a.path, '..');
    expect(readdirSync(folder)).toEqual(['chromium']);
    expect(statSync(a.path).size).toBeGreaterThan(50 * 1024 * 1024);
    const { stdout } = await promisify(execFile)(a.path, ['--version'], { timeout: 30_000 });
    expect(stdout).toMatch(/Chromium \d+\./);
    // A second resolution reuses the unpacked copy.
    const mtime = statSync(a.path).mtimeMs;
    expect(await resolveChromium({ env })).toEqual(a);
    expect(statSync(a.path).mtimeMs).toBe(mtime);
  });
});
