import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { Coordinator, type SampledGroup, type StepMetrics } from '../../src/coordinator/coordinator.js';
import { worldRun } from '../../src/job/index.js';
import { judgeGoldAgreement } from '../../src/coordinator/judge-gold.js';
import type { JudgeClient } from '../../src/coordinator/reward-collector.js';
import { launchChromium, pollPage, type Chromium } from '../../src/dashboard/browser.js';
import { MonitorServer } from '../../src/dashboard/index.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { Media } from '../../src/media/index.js';
import type { PoolJudgeRequest, PooledVerdict } from '../../src/reward-client/pool.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { v1Config } from '../world-v1.js';

// The dashboard in a real browser during a short real run: the embedded generator, the fake judge of the coordinator
// tests, real MP4s through ffmpeg, Chromium driven by playwright-core: a system chromium when there is one, else the
// one shipped in the @sparticuz/chromium npm package — so this test runs on every machine that ran `npm install`.
const STEPS = 4;
const root = mkdtempSync(join(tmpdir(), 'vrgrpo-dash-browser-'));
let browser: Chromium | null = null;
let server: MonitorServer | null = null;

beforeAll(async () => {
  await chooseTensorBackend('auto');
  browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  console.info(`dashboard browser test: Chromium from ${browser.executable.source} (${browser.executable.path})`);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/**
 * The fake judge of the coordinator tests, made to think: each judgment views the first and last frame of each video
 * plus a few that depend on the call, makes 1–3 tool calls and carries its turns, so timelines and thumbnails differ.
 */
class ThinkingJudge implements JudgeClient {
  readonly #inner = new FakeJudge();

  async judge(request: PoolJudgeRequest): Promise<PooledVerdict> {
    const out = await this.#inner.judge(request);
    const call = this.#inner.calls - 1;
    const framesViewed = request.videos.map((v, k) =>
      [...new Set([0, (7 * call + 5 * k + 3) % v.frameCount, (3 * call + k) % v.frameCount, v.frameCount - 1])].sort((a, b) => a - b),
    );
    const toolCalls = 1 + (call % 3);
    const turns = [
      {
        index: 0,
        role: 'assistant' as const,
        text: `<think>call ${call}: need a closer look</think><tool_call>{"name":"select_frames"}</tool_call>`,
        framesShown: [1, 2],
      },
      { index: 1, role: 'tool' as const, text: 'Here are the selected frames.', framesShown: [3] },
    ];
    return { ...out, verdict: { ...out.verdict, framesViewed, toolCalls, turns } };
  }
}

interface RenderedTimeline {
  readonly video: string;
  readonly count: number;
  readonly ticks: readonly { readonly frame: number; readonly left: string }[];
  readonly thumbs: readonly {
    readonly frame: number;
    readonly left: string;
    readonly src: string | null;
    readonly tile: number;
    readonly imgLeft: string | null;
    readonly naturalWidth: number;
  }[];
}
interface RenderedVerdict {
  readonly first: number;
  readonly second: number;
  readonly toolCalls: number;
  readonly framesViewed: number;
  readonly credit: string;
  readonly summary: string;
  readonly timelines: readonly RenderedTimeline[];
}

/** What the page shows of each verdict entry (`selector` picks them) in the group panel. */
const renderedVerdicts = (page: Page, selector: string): Promise<RenderedVerdict[]> =>
  page.evaluate<RenderedVerdict[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((d) => ({
    first: Number(d.dataset.first), second: Number(d.dataset.second), toolCalls: Number(d.dataset.toolCalls),
    framesViewed: Number(d.dataset.framesViewed), credit: d.dataset.credit ?? '', summary: d.querySelector('summary').textContent,
    timelines: [...d.querySelectorAll('.timeline')].map((t) => ({
      video: t.dataset.video, count: Number(t.dataset.frameCount),
      ticks: [...t.querySelectorAll('.tick')].map((x) => ({ frame: Number(x.dataset.frame), left: x.style.left })),
      thumbs: [...t.querySelectorAll('.thumb')].map((x) => {
        const img = x.querySelector('img');
        return { frame: Number(x.dataset.frame), left: x.style.left, src: img === null ? null : img.getAttribute('src'), tile: img === null ? -1 : Number(img.dataset.tile),
          imgLeft: img === null ? null : img.style.left, naturalWidth: img === null ? 0 : img.naturalWidth };
      }),
    })),
  }))`);

/** Checks one rendered timeline against the frames a verdict viewed of `video` (ticks and thumbnails at f/(n−1)). */
function expectTimeline(t: RenderedTimeline | undefined, video: SampledGroup['videos'][number] | undefined, frames: readonly number[], where: string): void {
  if (t === undefined || video === undefined) throw new Error(`${where}: no timeline or video`);
  expect(t.video, where).toBe(video.id);
  expect(t.count, where).toBe(video.frameCount);
  const want = [...new Set(frames)].sort((a, b) => a - b);
  const at = (f: number): number => (f / (video.frameCount - 1)) * 100;
  expect(
    t.ticks.map((x) => x.frame),
    where,
  ).toEqual(want);
  t.ticks.forEach((x) => expect(Number.parseFloat(x.left), `${where} tick ${x.frame}`).toBeCloseTo(at(x.frame), 3));
  expect(
    t.thumbs.map((x) => x.frame),
    where,
  ).toEqual(want);
  const strip = video.thumbnails;
  if (strip === null) throw new Error(`${where}: no thumbnails`);
  for (const x of t.thumbs) {
    const tile = strip.frames.indexOf(x.frame);
    expect(tile, `${where} frame ${x.frame} in the strip`).toBeGreaterThanOrEqual(0);
    expect(Number.parseFloat(x.left), `${where} thumb ${x.frame}`).toBeCloseTo(at(x.frame), 3);
    expect(x.src).toBe(`runs/${strip.src}`);
    expect(x.tile).toBe(tile);
    expect(x.imgLeft).toBe(`${-tile * strip.tileWidth}px`);
    expect(x.naturalWidth, `${where} thumb ${x.frame} loaded`).toBe(strip.frames.length * strip.tileWidth);
  }
}

/** A number read from the page (DevTools evaluation: the page's CSP forbids eval, not this). */
const pageNumber = async (page: Page, expression: string): Promise<number> => Number(await page.evaluate(expression));
const chartPoints = (id: string): string => `Number(document.querySelector('[data-chart="${id}"]').dataset.points)`;

describe('the dashboard in Chromium during a real run', () => {
  it('plots curves, advances the step counter live, plays the group videos and shows verdict traces', async () => {
    const runDir = join(root, 'run');
    const config = v1Config({
      reward: { mode: 'pairwise' },
      training: {
        groupSize: 4,
        promptsPerStep: 2,
        steps: STEPS,
        evalEvery: 2,
        evalPrompts: 8,
        checkpointEvery: 100,
        videosEvery: 1,
        tracesEvery: 1,
        pipelineStaleness: 0,
      },
    });
    const generator = await EmbeddedGenerator.create({
      config,
      trainer: constantTrainerOptionsFrom(config),
    });
    const s = await MonitorServer.start({ port: 0, runDir });
    server = s;
    const media = await Media.create();
    if (browser === null) throw new Error('no browser');
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    await page.goto(s.url);
    await pollPage(page, `document.getElementById('feed-status').dataset.status === 'live'`, 10_000);
    expect(await pageNumber(page, `document.getElementById('step').dataset.step`)).toBe(0);
    await page.evaluate('window.__sameDocument = true');

    let lastGroup: SampledGroup | null = null;
    const records: StepMetrics[] = [];
    const coordinator = await Coordinator.create({
      config,
      runDir,
      generator,
      ...worldRun(config, generator),
      judge: new ThinkingJudge(),
      log: silentLogger(),
      media,
      onStep: (m) => {
        records.push(m);
        s.publishStep(m);
      },
      onEvent: (e) => s.publishEvent(e),
      onSampledGroup: (g) => {
        lastGroup = g;
        s.publishGroup(g);
      },
    });
    const started = performance.now();
    const running = coordinator.runLoop();
    let summary: Awaited<typeof running>;
    try {
      // Mid-run: the counter moved off 0 while the loop is still going (ffmpeg's I/O lets the server and this test in).
      const seen: number[] = [];
      let midRun = false;
      for (let i = 0; i < 600 && !midRun; i++) {
        const shown = await pageNumber(page, `Number(document.getElementById('step').dataset.step)`);
        seen.push(shown);
        midRun = shown >= 1 && shown < STEPS && coordinator.lifecycle === 'running';
        if (!midRun) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(midRun, `page steps seen during the run: ${seen.join(',')}`).toBe(true);
    } finally {
      summary = await running;
      await generator.close();
    }
    const runSeconds = (performance.now() - started) / 1000;
    expect(summary.steps).toBe(STEPS);

    await pollPage(page, `Number(document.getElementById('step').dataset.step) === ${STEPS}`, 10_000);
    expect(await page.evaluate('window.__sameDocument === true')).toBe(true); // updated live, never reloaded
    expect(await pageNumber(page, 'window.vrgrpoDashboard.state.live')).toBeGreaterThanOrEqual(STEPS);
    expect(await page.textContent('#step-total')).toBe(`/ ${STEPS}`);

    // Curves: every step's rewards (combined + 4 dimensions), gold accuracy per step, KL; drawn on the canvas.
    await pollPage(page, `${chartPoints('reward')} === ${STEPS * 5}`, 5_000);
    expect(await pageNumber(page, chartPoints('gold'))).toBeGreaterThanOrEqual(STEPS + 1); // + held-out at step 2 and the end
    expect(await pageNumber(page, chartPoints('kl'))).toBeGreaterThanOrEqual(STEPS);
    expect(await pageNumber(page, `window.vrgrpoDashboard.charts.get('reward').plot.data[0].length`)).toBe(STEPS);
    const inked = await pageNumber(
      page,
      `(() => { const c = document.querySelector('[data-chart="reward"] canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`,
    );
    expect(inked).toBeGreaterThan(500);

    // The latest group: its four MP4s loaded their metadata through /runs/ (range requests), with rewards.
    await pollPage(page, `document.getElementById('group').dataset.step === '${STEPS}'`, 5_000);
    await pollPage(
      page,
      `document.querySelectorAll('#group-videos video').length === 4 && [...document.querySelectorAll('#group-videos video')].every((v) => v.readyState >= 1)`,
      15_000,
    );
    const video = await page.evaluate<{ src: string; duration: number; width: number }>(
      `(() => { const v = document.querySelector('#group-videos video'); return { src: v.getAttribute('src'), duration: v.duration, width: v.videoWidth }; })()`,
    );
    expect(video.src).toMatch(/^runs\/videos\/step-000004\/.+\.mp4$/);
    expect(video.duration).toBeGreaterThan(0);
    expect(video.width).toBe(config.world.width);
    const cards = await page.locator('.video-card .reward').allTextContents();
    expect(cards).toHaveLength(4);
    expect(cards.every((c) => /^\d\.\d{3}$/.test(c) || c === 'masked')).toBe(true);

    // Thinking over the run: frames viewed and tool calls per judgment every step; the judge's agreement with gold
    // where a step decided some comparison (OA, the run-so-far line, and TA/MQ/VQ as given).
    await pollPage(page, `${chartPoints('thinking')} === ${STEPS * 2}`, 5_000);
    const agreementPoints = records.reduce((n, r) => {
      if (r.step === 0 || typeof r.judgeGoldAgreement !== 'number') return n;
      return n + 2 + ['TA', 'MQ', 'VQ'].filter((d) => typeof (r.judgeGoldAgreementByDimension as Record<string, unknown> | undefined)?.[d] === 'number').length;
    }, 0);
    expect(agreementPoints).toBeGreaterThan(0);
    expect(await pageNumber(page, chartPoints('judge-gold'))).toBe(agreementPoints);

    // The sampled group's thinking: one entry per pairwise comparison with its tool calls, frames viewed, and the
    // frames it viewed as ticks and thumbnails on each video's timeline.
    const group = lastGroup as SampledGroup | null;
    if (group === null) throw new Error('no sampled group');
    expect(group.comparisons.length).toBe(6); // all pairs of 4
    expect(group.comparisons.map((c) => c.verdict).sort()).toEqual(group.verdicts.map((_, i) => i));
    await pollPage(page, `document.querySelectorAll('#group-verdicts details.comparison').length === ${group.comparisons.length}`, 5_000);
    await pollPage(page, `[...document.querySelectorAll('#group-verdicts .thumb img')].every((i) => i.complete && i.naturalWidth > 0)`, 10_000);
    const shown = await renderedVerdicts(page, '#group-verdicts details.comparison');
    group.comparisons.forEach((c, i) => {
      const v = group.verdicts[c.verdict];
      const r = shown[i];
      if (v === undefined || r === undefined) throw new Error(`comparison ${i}: missing`);
      const [viewedFirst = [], viewedSecond = []] = v.framesViewed;
      expect([r.first, r.second]).toEqual([c.first, c.second]);
      expect(r.toolCalls).toBe(v.toolCalls);
      expect(r.summary).toContain(`${v.toolCalls} tool call${v.toolCalls === 1 ? '' : 's'}`);
      expect(r.framesViewed).toBe(viewedFirst.length + viewedSecond.length);
      expect(r.summary).toContain(`${r.framesViewed} frames viewed`);
      expect(r.credit).toBe(c.gold?.credit.OA === undefined ? '' : String(c.gold.credit.OA));
      expect(r.timelines).toHaveLength(2);
      expectTimeline(r.timelines[0], group.videos[c.first], viewedFirst, `comparison ${i} video 1`);
      expectTimeline(r.timelines[1], group.videos[c.second], viewedSecond, `comparison ${i} video 2`);
    });
    // Each strip holds exactly the frames any comparison viewed of its video, one tile each.
    for (const [k, v] of group.videos.entries()) {
      const viewed = new Set(
        group.comparisons.flatMap((c) => [
          ...(c.first === k ? (group.verdicts[c.verdict]?.framesViewed[0] ?? []) : []),
          ...(c.second === k ? (group.verdicts[c.verdict]?.framesViewed[1] ?? []) : []),
        ]),
      );
      expect(v.thumbnails?.frames).toEqual([...viewed].sort((a, b) => a - b));
      const png = PNG.sync.read(readFileSync(join(runDir, v.thumbnails?.src ?? 'missing')));
      expect([png.width, png.height]).toEqual([viewed.size * (v.thumbnails?.tileWidth ?? 0), v.thumbnails?.tileHeight]);
    }
    // Judge vs gold on the group, as the agreement function computes it from the group's answers and gold scores.
    const recomputed = judgeGoldAgreement(
      group.comparisons.map((c) => ({ first: c.first, second: c.second, answer: group.verdicts[c.verdict]?.answer ?? null })),
      group.videos.map((v) => v.gold),
    ).summary;
    expect(group.judgeGold).toEqual(recomputed);
    const oa = recomputed.byDimension.OA;
    expect(await page.getAttribute('#group-judge-gold', 'data-accuracy')).toBe(oa.accuracy === null ? '' : String(oa.accuracy));
    expect(await page.textContent('#group-judge-gold')).toContain(`over ${oa.decided} decided comparison`);

    // Reasoning traces: send the last group again with a longer traced verdict.
    const [first] = group.verdicts;
    if (first === undefined) throw new Error('no verdicts');
    const trace = '<think>Frame 3 of video 2 is blurred; frame 7 confirms.</think><answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>';
    s.publishGroup({
      ...group,
      verdicts: [{ ...first, turns: [{ index: 0, role: 'assistant', text: trace, framesShown: [1, 2, 3] }] }, ...group.verdicts.slice(1)],
    });
    await pollPage(page, `[...document.querySelectorAll('#group-verdicts .trace')].some((p) => p.textContent.includes('frame 7 confirms'))`, 5_000);

    // Pointwise mode: no comparisons; the verdict is shown as before, with a timeline per video.
    const pointwiseFrames = group.videos.map((v) => (v.thumbnails?.frames ?? []).slice(0, 2));
    s.publishGroup({
      ...group,
      verdicts: [{ ...first, mode: 'pointwise', answer: null, toolCalls: 2, framesViewed: pointwiseFrames }],
      comparisons: [],
      judgeGold: null,
    });
    await pollPage(
      page,
      `document.querySelectorAll('#group-verdicts details.comparison').length === 0 && document.querySelectorAll('#group-verdicts details.verdict').length === 1`,
      5_000,
    );
    const [pointwise] = await renderedVerdicts(page, '#group-verdicts details.verdict');
    expect(pointwise?.summary).toContain('pointwise · 2 tool calls');
    expect(pointwise?.timelines).toHaveLength(group.videos.length);
    group.videos.forEach((v, k) => expectTimeline(pointwise?.timelines[k], v, pointwiseFrames[k] ?? [], `pointwise video ${k}`));
    expect(await page.textContent('#group-verdicts h3')).toBe('Verdicts');

    // A page opened after the fact draws the same from /api/history.
    const late = await browser.context.newPage();
    await late.goto(s.url);
    await pollPage(late, `${chartPoints('reward')} === ${STEPS * 5} && document.getElementById('step').dataset.step === '${STEPS}'`, 10_000);
    await late.close();
    await page.close();
    expect(problems).toEqual([]);
    console.log(`dashboard browser test: ${STEPS} steps in ${runSeconds.toFixed(1)} s`);
  });
});
