/** resolveArtifactUri on its own: what resolves, what is FORBIDDEN_PATH, what is VIDEO_DECODE_FAILED. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVrGrpoError } from '../../src/errors/index.js';
import { resolveArtifactUri } from '../../src/reward-server/index.js';
import { ArtifactFixture, fileUri } from './helpers.js';

let fixture: ArtifactFixture;

beforeAll(async () => {
  fixture = await ArtifactFixture.create();
});

afterAll(() => {
  fixture.remove();
});

async function codeOf(uri: string): Promise<string> {
  const error: unknown = await resolveArtifactUri(uri, fixture.root).then(
    () => 'resolved',
    (e: unknown) => e,
  );
  if (error === 'resolved') return 'resolved';
  if (!isVrGrpoError(error)) throw new Error(`unexpected ${String(error)}`);
  return error.code;
}

describe('resolveArtifactUri', () => {
  it('resolves a file under the root to its real path, following inner symlinks and collapsing inner ..', async () => {
    expect(await resolveArtifactUri(fixture.uri('bright.mp4'), fixture.root)).toBe(path.join(fixture.root, 'bright.mp4'));
    expect(await resolveArtifactUri(fixture.uri('sub/inner-link.mp4'), fixture.root)).toBe(path.join(fixture.root, 'dark.mp4'));
    expect(await resolveArtifactUri(fixture.uri('sub/../dark.mp4'), fixture.root)).toBe(path.join(fixture.root, 'dark.mp4'));
    fs.writeFileSync(path.join(fixture.root, '..dots.mp4'), 'x');
    expect(await resolveArtifactUri(fixture.uri('..dots.mp4'), fixture.root)).toBe(path.join(fixture.root, '..dots.mp4'));
    expect(await resolveArtifactUri(`file://localhost${path.join(fixture.root, 'dark.mp4')}`, fixture.root)).toBe(path.join(fixture.root, 'dark.mp4'));
  });

  it('is VIDEO_DECODE_FAILED for a missing file, a missing directory, or a directory inside the root', async () => {
    expect(await codeOf(fixture.uri('missing.mp4'))).toBe('VIDEO_DECODE_FAILED');
    expect(await codeOf(fixture.uri('no-dir/missing.mp4'))).toBe('VIDEO_DECODE_FAILED');
    expect(await codeOf(fixture.uri('sub'))).toBe('VIDEO_DECODE_FAILED');
    expect(await codeOf(fileUri(fixture.root))).toBe('VIDEO_DECODE_FAILED');
  });

  it('is FORBIDDEN_PATH for anything that leaves the root or is not a plain local file URI', async () => {
    for (const uri of [
      fileUri(path.join(fixture.outside, 'secret.mp4')),
      fileUri(path.join(fixture.outside, 'missing.mp4')),
      `${fileUri(fixture.root)}/../outside/secret.mp4`,
      `${fileUri(fixture.root)}/%2E%2E/outside/secret.mp4`,
      `${fileUri(fixture.root)}/.%2e/outside/secret.mp4`,
      `${fileUri(fixture.root)}/..%2Foutside%2Fsecret.mp4`,
      `${fileUri(fixture.root)}/bright.mp4%00.txt`,
      `${fileUri(fixture.root)}/bright.mp4#frag`,
      fixture.uri('escape.mp4'),
      fixture.uri('escape-dir/secret.mp4'),
      fixture.uri('escape-dir/missing.mp4'),
      `${fileUri(fixture.root)}-sibling/x.mp4`,
      'file://example.com/etc/passwd',
      'http://localhost/bright.mp4',
      'data:video/mp4;base64,AAAA',
      'bright.mp4',
      '',
    ]) {
      expect({ uri, code: await codeOf(uri) }).toEqual({ uri, code: 'FORBIDDEN_PATH' });
    }
  });
});
