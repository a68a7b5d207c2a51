/**
 * Pieces of the VLM backend that need no server: pixel budgets and resampling, encoding with the real encoders (and
 * decoding back), the encoded-frame cache, option validation, the config section, the reply → turn text mapping.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { defaultConfig } from '../../src/config/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { encodeFrame, fitToBudget, resizeRgb, resolveVlmOptions, turnText, vlmOptionsFromConfig, VLM_DEFAULTS } from '../../src/judge/backends/vlm/index.js';
import { EncodedImageCache } from '../../src/judge/backends/vlm/image-cache.js';
import { parseTurn } from '../../src/judge/format.js';
import { decodeImageUrl } from './scripted-chat-server.js';

const Q = 28;

describe('VLM frames: pixel budgets and encoding', () => {
  it('fits frames into [minPixels, maxPixels] with sides multiples of the factor', () => {
    const budget = { minPixels: 4 * Q * Q, maxPixels: 512 * Q * Q, factor: Q };
    expect(fitToBudget(64, 64, budget)).toEqual({ width: 56, height: 56 });
    // Too large: 1920×1080 = 2.07 Mpx into 401 408 px.
    const hd = fitToBudget(1920, 1080, budget);
    expect(hd.width % Q).toBe(0);
    expect(hd.height % Q).toBe(0);
    expect(hd.width * hd.height).toBeLessThanOrEqual(512 * Q * Q);
    expect(hd.width * hd.height).toBeGreaterThan(0.8 * 512 * Q * Q);
    expect(Math.abs(hd.width / hd.height - 16 / 9)).toBeLessThan(0.1);
    // Too small: 16×16 is scaled up to at least 4 patches.
    expect(fitToBudget(16, 16, budget)).toEqual({ width: 56, height: 56 });
    // Factor 1: plain scaling.
    expect(fitToBudget(100, 50, { minPixels: 1, maxPixels: 200, factor: 1 })).toEqual({ width: 20, height: 10 });
  });

  it('resizes with a filter that keeps flat colour flat and averages when shrinking', () => {
    const flat = new Uint8Array(10 * 6 * 3).fill(77);
    expect([...new Set(resizeRgb(flat, 10, 6, 4, 3))]).toEqual([77]);
    expect([...new Set(resizeRgb(flat, 10, 6, 25, 13))]).toEqual([77]);
    // A 2×1 black/white image shrunk to 1×1 is mid grey; the same size is returned unchanged.
    const bw = new Uint8Array([0, 0, 0, 255, 255, 255]);
    expect([...resizeRgb(bw, 2, 1, 1, 1)]).toEqual([128, 128, 128]);
    expect(resizeRgb(bw, 2, 1, 2, 1)).toBe(bw);
  });

  it('encodes PNG losslessly and JPEG closely, as data URLs the real decoders read', () => {
    const rgb = new Uint8Array(8 * 8 * 3);
    for (let i = 0; i < 64; i++) rgb.set([i * 4, 255 - i * 4, 100], i * 3);
    const png = encodeFrame(rgb, 8, 8, { minPixels: 64, maxPixels: 64, factor: 1 }, { type: 'png' });
    expect(png.url.startsWith('data:image/png;base64,')).toBe(true);
    const decoded = PNG.sync.read(Buffer.from(png.url.split(',')[1] ?? '', 'base64'));
    expect([decoded.width, decoded.height]).toEqual([8, 8]);
    for (let i = 0; i < 64; i++) expect([decoded.data[i * 4], decoded.data[i * 4 + 1], decoded.data[i * 4 + 2]]).toEqual([i * 4, 255 - i * 4, 100]);
    const jpg = encodeFrame(
      new Uint8Array(112 * 56 * 3).fill(180),
      112,
      56,
      { minPixels: 784, maxPixels: 56 * 28, factor: Q },
      { type: 'jpeg', jpegQuality: 85 },
    );
    expect(decodeImageUrl(jpg.url)).toMatchObject({ format: 'jpeg', width: 56, height: 28 });
    expect(Math.abs(decodeImageUrl(jpg.url).red - 180)).toBeLessThanOrEqual(2);
    expect(jpg.bytes).toBeGreaterThan(100);
  });

  it('caches encoded frames by content and budget, bounded by bytes (least recently used out first)', () => {
    const cache = new EncodedImageCache(3_000);
    let encodes = 0;
    const enc = (level: number) => () => (
      encodes++,
      encodeFrame(new Uint8Array(8 * 8 * 3).fill(level), 8, 8, { minPixels: 64, maxPixels: 64, factor: 1 }, { type: 'png' })
    );
    const key = (level: number, variant = 'a'): string => EncodedImageCache.key(new Uint8Array(8 * 8 * 3).fill(level), 8, 8, variant);
    const a = cache.getOrEncode(key(1), enc(1));
    expect(cache.getOrEncode(key(1), enc(1))).toBe(a);
    expect(encodes).toBe(1);
    cache.getOrEncode(key(1, 'b'), enc(1));
    expect(encodes).toBe(2);
    // Fill past the byte bound: the oldest entries go.
    for (let l = 2; l < 40; l++) cache.getOrEncode(key(l), enc(l));
    expect(cache.size * a.url.length).toBeLessThanOrEqual(3_000);
    cache.getOrEncode(key(1), enc(1));
    expect(encodes).toBe(41);
    expect(cache.hits).toBe(1);
  });
});

describe('VLM options and turn text', () => {
  it('fills defaults, reads the API key from VRGRPO_VLM_API_KEY, and names bad fields', () => {
    const o = resolveVlmOptions({ baseUrl: 'http://gpu:8000/v1/', model: 'vr-thinker' }, { VRGRPO_VLM_API_KEY: 'k' });
    expect(o).toMatchObject({
      baseUrl: 'http://gpu:8000/v1',
      apiKey: 'k',
      rmVersion: 'vlm:vr-thinker',
      temperature: 0,
      maxImages: 64,
      tokenBudget: 12 * 1024 - 200,
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(resolveVlmOptions({ baseUrl: 'http://gpu:8000/v1', model: 'm', apiKey: 'own' }, { VRGRPO_VLM_API_KEY: 'k' }).apiKey).toBe('own');
    expect(resolveVlmOptions({ baseUrl: 'http://gpu:8000/v1', model: 'm' }, {}).apiKey).toBeNull();
    const bad = (input: Parameters<typeof resolveVlmOptions>[0]): string => {
      try {
        resolveVlmOptions(input, {});
      } catch (e) {
        if (isVrGrpoError(e, 'INVALID_ARGUMENT')) return e.message;
      }
      return 'accepted';
    };
    expect(bad({ baseUrl: 'ftp://x', model: 'm' })).toContain('baseUrl');
    expect(bad({ baseUrl: 'http://x', model: 'm', maxAttempts: 0 })).toContain('maxAttempts');
    expect(bad({ baseUrl: 'http://x', model: 'm', initialMinPixels: 10, initialMaxPixels: 5 })).toContain('initialMinPixels 10 exceeds initialMaxPixels 5');
  });

  it('keeps the config defaults equal to the backend defaults, and requires baseUrl and model for backend vlm', () => {
    const c = defaultConfig().judge;
    expect(c.backend).toBe('embedded');
    const { baseUrl, model, apiKey, rmVersion, extraBody, framesPerVideo, initialFramesAs, promptTemplate, frameLabels, ...rest } = c.vlm;
    expect([baseUrl, model, apiKey, rmVersion, extraBody]).toEqual([null, null, null, null, {}]);
    // Left to the profile (PROFILE_DEFAULTS) or to the shipped template.
    expect([framesPerVideo, initialFramesAs, promptTemplate, frameLabels]).toEqual([null, null, null, null]);
    const { apiKeyEnv, ...defaults } = VLM_DEFAULTS;
    expect(apiKeyEnv).toBe('VRGRPO_VLM_API_KEY');
    expect(rest).toEqual(defaults);
    let caught: unknown;
    try {
      vlmOptionsFromConfig(c.vlm);
    } catch (e) {
      caught = e;
    }
    expect(isVrGrpoError(caught, 'CONFIG_INVALID')).toBe(true);
    expect(vlmOptionsFromConfig({ ...c.vlm, baseUrl: 'http://h:1/v1', model: 'm' })).toMatchObject({ baseUrl: 'http://h:1/v1', model: 'm', maxImages: 64 });
  });

  it('parses what VLM servers return: unclosed tool calls (stop at </tool_call>), end markers, fenced JSON, boxed answers', () => {
    expect(
      parseTurn(
        '<think>t</think><recommend answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 2 </recommend answer>\n<tool_call>\n{"name": "select_frames", "arguments": {"target_frames": [3]}}\n',
        'pairwise',
      ),
    ).toMatchObject({
      kind: 'tool_call',
      recommend: { OA: 1 },
      call: { ok: true, targetFrames: [3] },
    });
    expect(
      parseTurn('<tool_call>```json\n{"name": "select_frames", "arguments": {"target_frames": [5, 6]}}\n```</tool_call><|endoftext|>', 'pairwise'),
    ).toMatchObject({ call: { ok: true, targetFrames: [5, 6] } });
    const boxedRecommend = parseTurn(
      '<synthesis>s</synthesis><think>t</think><recommend answer>\\boxed{1}</recommend answer><tool_call>{"name": "select_frames", "arguments": {"target_frames": [2]}}</tool_call>',
      'pairwise',
    );
    expect(boxedRecommend).toMatchObject({ kind: 'tool_call' });
    if (boxedRecommend.kind === 'tool_call') expect(boxedRecommend.recommend).toEqual({ OA: 1 });
    const boxedAnswer = parseTurn('<think>t</think><answer>\\boxed{2}</answer><|im_end|>', 'pairwise');
    expect(boxedAnswer).toMatchObject({ kind: 'answer' });
    if (boxedAnswer.kind === 'answer') expect(boxedAnswer.answer).toEqual({ OA: 2 });
    expect(parseTurn('<tool_call>\n', 'pairwise').kind).toBe('invalid');
  });

  it('turns a response with structured tool_calls into <tool_call> text the engine parses', () => {
    const t = turnText({
      choices: [
        {
          message: {
            content: '<snapshot>s</snapshot><think>t</think>',
            tool_calls: [{ function: { name: 'select_frames', arguments: '{"target_frames": [4, 8]}' } }],
          },
        },
      ],
    });
    expect(parseTurn(t, 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: true, targetFrames: [4, 8] } });
    const broken = turnText({ choices: [{ message: { content: '', tool_calls: [{ function: { name: 'select_frames', arguments: '{not json' } }] } }] });
    expect(parseTurn(broken, 'pairwise')).toMatchObject({ kind: 'tool_call', call: { ok: false } });
    expect(turnText({ choices: [{ message: { content: '<answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>' } }] })).toBe(
      '<answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>',
    );
  });
});
