/**
 * The benchmark readers at the edge: CSV (quoting, CRLF, BOM), JSON and JSONL files; VideoGen-RewardBench's and
 * GenAI-Bench's rows in their released field names and values; errors with stable codes naming file, line and column;
 * video paths that must stay inside the data folder after symlinks (FORBIDDEN_PATH) or are missing.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVrGrpoError, type VrGrpoError } from '../../src/errors/index.js';
import { genAiBenchVideoPath, loadBenchmark, readAnnotationFile, realDataDir, resolvePairs, resolveVideo, splitCsv } from '../../src/judge/benchmarks/index.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'vrgrpo-bench-readers-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh folder under the test's temp dir with `files` written into it. */
function folder(files: Record<string, string>): string {
  const dir = join(base, `d${n++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function thrown(fn: () => unknown): VrGrpoError {
  try {
    fn();
  } catch (e) {
    if (isVrGrpoError(e)) return e;
    throw e;
  }
  throw new Error('expected a VrGrpoError');
}

const HEADER = 'path_A,path_B,A_model,B_model,prompt,VQ,MQ,TA,Overall,fps_A,num_frames_A,fps_B,num_frames_B';

describe('annotation files', () => {
  it('splits RFC 4180 CSV: quoted commas, doubled quotes, line breaks inside quotes, CRLF, blank lines', () => {
    const text = 'a,b\r\n"x, y","say ""hi"""\r\n\r\n"two\nlines",z\n';
    expect(splitCsv('f.csv', text)).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x, y', 'say "hi"'] },
      { line: 4, cells: ['two\nlines', 'z'] },
    ]);
    expect(thrown(() => splitCsv('f.csv', 'a,b\n"open,b\n')).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => splitCsv('f.csv', 'a,b\n"q"x,b\n')).message).toContain('line 2: text after a closing quote');
  });

  it('reads CSV (with a BOM), a JSON array and JSON Lines into the same rows', () => {
    const row = { prompt: 'a red circle, "fast"', path_A: 'a.mp4', path_B: 'b.mp4', Overall: 'A' };
    const dir = folder({
      'x.csv': '\uFEFFprompt,path_A,path_B,Overall\n"a red circle, ""fast""",a.mp4,b.mp4,A\n',
      'x.json': JSON.stringify([row]),
      'x.jsonl': `\n${JSON.stringify(row)}\n\n`,
    });
    const csv = readAnnotationFile(join(dir, 'x.csv'));
    expect(csv.format).toBe('csv');
    expect(csv.rows).toEqual([{ line: 2, fields: row }]);
    expect(readAnnotationFile(join(dir, 'x.json')).rows).toEqual([{ line: 1, fields: row }]);
    expect(readAnnotationFile(join(dir, 'x.jsonl')).rows).toEqual([{ line: 2, fields: row }]);
  });

  it('refuses missing, empty and malformed files with INVALID_ARGUMENT naming the line', () => {
    const dir = folder({ 'ragged.csv': 'a,b\n1,2\n3\n', 'bad.jsonl': '{"a":1}\n[1]\n', 'bad.json': '{"a":1}', 'empty.csv': '\n', 'dup.csv': 'a,a\n1,2\n' });
    expect(thrown(() => readAnnotationFile(join(dir, 'none.csv'))).message).toContain('does not exist');
    expect(thrown(() => readAnnotationFile(join(dir, 'ragged.csv'))).message).toContain('line 3: 1 fields, the header has 2');
    expect(thrown(() => readAnnotationFile(join(dir, 'bad.jsonl'))).message).toContain('line 2: expected a JSON object');
    expect(thrown(() => readAnnotationFile(join(dir, 'bad.json'))).message).toContain('must hold an array of objects');
    expect(thrown(() => readAnnotationFile(join(dir, 'empty.csv'))).message).toContain('no records');
    expect(thrown(() => readAnnotationFile(join(dir, 'dup.csv'))).message).toContain('column "a" twice');
  });
});

describe('VideoGen-RewardBench rows', () => {
  it('reads the released columns: A → video 1, B → video 2, same → tie, for Overall, VQ, MQ, TA; extra columns ignored', () => {
    const dir = folder({
      'videogen-rewardbench.csv': `${HEADER}\nvideos/kling1.5/kling1.5_00103.mp4,videos/minimax/minimax_00103.mp4,kling1.5,minimax,"Static camera, a metal ball rolls on a smooth tabletop.",A,same,B,A,24.0,144,25.0,141\n./videos/x.mp4,videos/y.mp4,x,y,p,b,SAME , a,B,24,1,24,1\n`,
    });
    const { file, pairs } = loadBenchmark({ bench: 'videogen-rewardbench', dataDir: dir });
    expect(file.path).toBe(join(dir, 'videogen-rewardbench.csv'));
    expect(pairs).toEqual([
      {
        id: 'videogen-rewardbench:2',
        prompt: 'Static camera, a metal ball rolls on a smooth tabletop.',
        videoA: 'videos/kling1.5/kling1.5_00103.mp4',
        videoB: 'videos/minimax/minimax_00103.mp4',
        gold: { OA: 1, VQ: 1, MQ: 0, TA: 2 },
      },
      { id: 'videogen-rewardbench:3', prompt: 'p', videoA: './videos/x.mp4', videoB: 'videos/y.mp4', gold: { OA: 2, VQ: 2, MQ: 0, TA: 1 } },
    ]);
  });

  it('treats an empty per-dimension cell or a missing dimension column as no label, but requires Overall', () => {
    const dir = folder({ 'a.csv': 'path_A,path_B,prompt,Overall,TA\na.mp4,b.mp4,p,same,\n', 'b.csv': 'path_A,path_B,prompt,VQ\na.mp4,b.mp4,p,A\n' });
    expect(loadBenchmark({ bench: 'videogen-rewardbench', dataDir: dir, file: 'a.csv' }).pairs[0]?.gold).toEqual({ OA: 0 });
    const e = thrown(() => loadBenchmark({ bench: 'videogen-rewardbench', dataDir: dir, file: 'b.csv' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('line 2: Overall: missing column');
  });

  it('names file, line, column and value of every bad row', () => {
    const dir = folder({
      'v.jsonl': [
        { path_A: 'a', path_B: 'b', prompt: 'p', Overall: 'C' },
        { path_A: 'a', path_B: '', prompt: 'p', Overall: 'A', VQ: 3 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    });
    const e = thrown(() => loadBenchmark({ bench: 'videogen-rewardbench', dataDir: dir, file: 'v.jsonl' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(`${join(dir, 'v.jsonl')}: line 1: Overall: expected one of "A", "B", "same", got "C"`);
    expect(e.message).toContain('line 2: path_B: expected a non-empty string, got ""');
    expect(e.message).toContain('line 2: VQ: expected one of "A", "B", "same", got 3');
  });

  it('says where it looked when the data folder has no annotation file', () => {
    const e = thrown(() => loadBenchmark({ bench: 'videogen-rewardbench', dataDir: folder({}) }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/no annotation file found \(looked for .*videogen-rewardbench\.csv/);
  });
});

describe('GenAI-Bench video_generation rows', () => {
  it('maps the votes (leftvote → 1, rightvote → 2, tievote and bothbad_vote → tie) and URL videos to the video folder by file name', () => {
    const rows = [
      {
        prompt: 'a cute dog is playing a ball',
        left_model: 'm1',
        left_video: 'https://huggingface.co/datasets/org/videos/blob/main/dir/79e4e5.mp4',
        right_model: 'm2',
        right_video: 'clips/r1.mp4',
        vote_type: 'leftvote',
      },
      { prompt: 'p2', left_video: 'http://example.com/v/a%20b.mp4?download=1', right_video: 'clips/r2.mp4', vote_type: 'rightvote' },
      { prompt: 'p3', left_video: 'l3.mp4', right_video: 'r3.mp4', vote_type: 'tievote' },
      { prompt: 'p4', left_video: 'l4.mp4', right_video: 'r4.mp4', vote_type: 'bothbad_vote' },
    ];
    const dir = folder({ 'video_generation.jsonl': rows.map((r) => JSON.stringify(r)).join('\n') });
    const { pairs } = loadBenchmark({ bench: 'genai-bench', dataDir: dir });
    expect(pairs.map((p) => [p.id, p.videoA, p.videoB, p.gold])).toEqual([
      ['genai-bench:1', 'videos/79e4e5.mp4', 'clips/r1.mp4', { OA: 1 }],
      ['genai-bench:2', 'videos/a b.mp4', 'clips/r2.mp4', { OA: 2 }],
      ['genai-bench:3', 'l3.mp4', 'r3.mp4', { OA: 0 }],
      ['genai-bench:4', 'l4.mp4', 'r4.mp4', { OA: 0 }],
    ]);
    expect(genAiBenchVideoPath('https://x.org/a/b.mp4', 'downloaded')).toBe('downloaded/b.mp4');
    expect(loadBenchmark({ bench: 'genai-bench', dataDir: dir, urlDir: 'dl' }).pairs[0]?.videoA).toBe('dl/79e4e5.mp4');
  });

  it('reads the same rows from CSV, and refuses an unknown vote', () => {
    const dir = folder({
      'video_generation.csv': 'prompt,left_model,left_video,right_model,right_video,vote_type\n"a, b",m1,l.mp4,m2,r.mp4,rightvote\n',
      'bad.csv': 'prompt,left_video,right_video,vote_type\np,l.mp4,r.mp4,upvote\n',
    });
    expect(loadBenchmark({ bench: 'genai-bench', dataDir: dir }).pairs).toEqual([
      { id: 'genai-bench:2', prompt: 'a, b', videoA: 'l.mp4', videoB: 'r.mp4', gold: { OA: 2 } },
    ]);
    const e = thrown(() => loadBenchmark({ bench: 'genai-bench', dataDir: dir, file: 'bad.csv' }));
    expect(e.message).toContain('line 2: vote_type: expected one of "leftvote", "rightvote", "tievote", "bothbad_vote", got "upvote"');
  });
});

describe('video paths under the data folder', () => {
  const root = folder({ 'in.mp4': 'x' });
  const outside = folder({ 'secret.mp4': 'x' });
  mkdirSync(join(root, 'sub'));
  symlinkSync(join(outside, 'secret.mp4'), join(root, 'link-out.mp4'));
  symlinkSync(join(root, 'in.mp4'), join(root, 'sub', 'link-in.mp4'));
  symlinkSync(outside, join(root, 'dir-out'));

  it('resolves files inside (also through symlinks that stay inside) and reports missing ones', () => {
    expect(resolveVideo(root, 'in.mp4', 'p')).toEqual({ kind: 'file', path: join(root, 'in.mp4') });
    expect(resolveVideo(root, './sub/../in.mp4', 'p')).toEqual({ kind: 'file', path: join(root, 'in.mp4') });
    expect(resolveVideo(root, 'sub/link-in.mp4', 'p')).toEqual({ kind: 'file', path: join(root, 'in.mp4') });
    expect(resolveVideo(root, 'sub/none.mp4', 'p')).toEqual({ kind: 'missing', path: join(root, 'sub', 'none.mp4') });
  });

  it('refuses paths that leave the folder, lexically or through a symlink, with FORBIDDEN_PATH', () => {
    for (const ref of ['../x.mp4', join(outside, 'secret.mp4'), 'sub/../../x.mp4', 'link-out.mp4', 'dir-out/secret.mp4', '.']) {
      const e = thrown(() => resolveVideo(root, ref, 'videogen-rewardbench:7 video 1'));
      expect(e.code, ref).toBe('FORBIDDEN_PATH');
      expect(e.message).toContain('videogen-rewardbench:7 video 1');
    }
  });

  it('checks every pair before anything is judged, and refuses a data folder that does not exist', () => {
    const pairs = [
      { id: 'b:2', prompt: 'p', videoA: 'in.mp4', videoB: 'none.mp4', gold: { OA: 1 as const } },
      { id: 'b:3', prompt: 'p', videoA: 'in.mp4', videoB: 'link-out.mp4', gold: { OA: 1 as const } },
    ];
    expect(resolvePairs(root, pairs.slice(0, 1))[0]?.videos.map((v) => v.kind)).toEqual(['file', 'missing']);
    expect(thrown(() => resolvePairs(root, pairs)).message).toContain('b:3 video 2');
    expect(thrown(() => realDataDir(join(base, 'no-such-folder'))).code).toBe('INVALID_ARGUMENT');
  });
});
