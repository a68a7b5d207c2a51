/** Tests the ffmpeg/ffprobe lookup order (option → env → PATH → bundled) with fake executables in a temp dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Media, resolveFfmpegBinaries } from '../../src/media/index.js';
import { rejection, thrown, writeScript } from './fixtures.js';

let root: string;
/** A directory holding executable fakes named ffmpeg and ffprobe, used as a PATH entry. */
let pathDir: string;
/** Fakes referenced explicitly (option / env). */
let configFfmpeg: string;
let configFfprobe: string;
let envFfmpeg: string;
let envFfprobe: string;
let emptyDir: string;
let nonExecDir: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-grpo-binaries-'));
  pathDir = path.join(root, 'bin');
  emptyDir = path.join(root, 'empty');
  nonExecDir = path.join(root, 'nonexec');
  for (const dir of [pathDir, emptyDir, nonExecDir, path.join(root, 'config'), path.join(root, 'env')]) fs.mkdirSync(dir);
  writeScript(path.join(pathDir, 'ffmpeg'), 'exit 0');
  writeScript(path.join(pathDir, 'ffprobe'), 'exit 0');
  fs.writeFileSync(path.join(nonExecDir, 'ffmpeg'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  configFfmpeg = writeScript(path.join(root, 'config', 'my-ffmpeg'), 'exit 0');
  configFfprobe = writeScript(path.join(root, 'config', 'my-ffprobe'), 'exit 0');
  envFfmpeg = writeScript(path.join(root, 'env', 'env-ffmpeg'), 'exit 0');
  envFfprobe = writeScript(path.join(root, 'env', 'env-ffprobe'), 'exit 0');
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('resolveFfmpegBinaries', () => {
  it('uses the explicit paths over env and PATH', () => {
    const env = { FFMPEG_PATH: envFfmpeg, FFPROBE_PATH: envFfprobe, PATH: pathDir };
    const found = resolveFfmpegBinaries({ ffmpegPath: configFfmpeg, ffprobePath: configFfprobe, env });
    expect(found).toEqual({ ffmpeg: configFfmpeg, ffprobe: configFfprobe, source: { ffmpeg: 'config', ffprobe: 'config' } });
  });

  it('uses FFMPEG_PATH / FFPROBE_PATH over PATH', () => {
    const found = resolveFfmpegBinaries({ env: { FFMPEG_PATH: envFfmpeg, FFPROBE_PATH: envFfprobe, PATH: pathDir } });
    expect(found).toEqual({ ffmpeg: envFfmpeg, ffprobe: envFfprobe, source: { ffmpeg: 'env', ffprobe: 'env' } });
  });

  it('finds executables named ffmpeg/ffprobe on PATH, skipping empty dirs and non-executable files', () => {
    const env = { PATH: ['', emptyDir, nonExecDir, pathDir].join(path.delimiter) };
    const found = resolveFfmpegBinaries({ env });
    expect(found.ffmpeg).toBe(path.join(pathDir, 'ffmpeg'));
    expect(found.ffprobe).toBe(path.join(pathDir, 'ffprobe'));
    expect(found.source).toEqual({ ffmpeg: 'path', ffprobe: 'path' });
  });

  it('resolves each binary independently', () => {
    const found = resolveFfmpegBinaries({ ffmpegPath: configFfmpeg, env: { FFPROBE_PATH: envFfprobe, PATH: pathDir } });
    expect(found.source).toEqual({ ffmpeg: 'config', ffprobe: 'env' });
    const mixed = resolveFfmpegBinaries({ ffprobePath: configFfprobe, env: { PATH: pathDir } });
    expect(mixed.source).toEqual({ ffmpeg: 'path', ffprobe: 'config' });
  });

  it('falls back to the bundled npm binaries when nothing else is there', () => {
    const found = resolveFfmpegBinaries({ env: { PATH: emptyDir } });
    expect(found.source).toEqual({ ffmpeg: 'bundled', ffprobe: 'bundled' });
    expect(found.ffmpeg).toContain(`@ffmpeg-installer${path.sep}`);
    expect(found.ffprobe).toContain(`@ffprobe-installer${path.sep}`);
    expect(() => {
      fs.accessSync(found.ffmpeg, fs.constants.X_OK);
      fs.accessSync(found.ffprobe, fs.constants.X_OK);
    }).not.toThrow();
  });

  it('rejects a configured path that does not exist instead of falling back', () => {
    const missing = path.join(root, 'nope', 'ffmpeg');
    const error = thrown(() => resolveFfmpegBinaries({ ffmpegPath: missing, env: { PATH: pathDir } }));
    expect(error.code).toBe('FFMPEG_NOT_FOUND');
    expect(error.message).toContain(missing);
    expect(error.details).toMatchObject({ binary: 'ffmpeg', source: 'config', path: missing, reason: 'does not exist' });
  });

  it('rejects a configured file that is not executable, and a directory', () => {
    const notExec = path.join(nonExecDir, 'ffmpeg');
    expect(thrown(() => resolveFfmpegBinaries({ ffprobePath: notExec, env: { PATH: pathDir } })).details).toMatchObject({
      binary: 'ffprobe',
      reason: 'is not executable',
    });
    expect(thrown(() => resolveFfmpegBinaries({ ffmpegPath: pathDir, env: { PATH: pathDir } })).details).toMatchObject({
      reason: 'is not a regular file',
    });
  });

  it('rejects an env path that does not exist instead of falling back to PATH', () => {
    const missing = path.join(root, 'nope', 'ffprobe');
    const error = thrown(() => resolveFfmpegBinaries({ env: { FFPROBE_PATH: missing, PATH: pathDir } }));
    expect(error.code).toBe('FFMPEG_NOT_FOUND');
    expect(error.message).toContain(`FFPROBE_PATH="${missing}"`);
    expect(error.details).toMatchObject({ binary: 'ffprobe', source: 'env', path: missing });
  });
});

describe('Media.create', () => {
  it('exposes the resolved binaries, starts no process, and rejects bad options', async () => {
    const media = await Media.create({ env: { PATH: pathDir } });
    expect(media.binaries.ffmpeg).toBe(path.join(pathDir, 'ffmpeg'));
    expect(media.binaries.source.ffprobe).toBe('path');
    expect(media.timeoutMs).toBe(60_000);
    expect(media.spawnCount).toBe(0);

    expect((await rejection(Media.create({ ffmpegPath: path.join(root, 'missing') }))).code).toBe('FFMPEG_NOT_FOUND');
    expect((await rejection(Media.create({ env: { PATH: pathDir }, timeoutMs: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(Media.create({ env: { PATH: pathDir }, timeoutMs: 1.5 }))).code).toBe('INVALID_ARGUMENT');
  });
});
