import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import { defaultConfig } from '../../src/config/index.js';
import { Coordinator, type SampledGroup } from '../../src/coordinator/coordinator.js';
import { launchChromium, pollPage, type Chromium } from '../../src/dashboard/browser.js';
import { MonitorServer } from '../../src/dashboard/index.js';
import { EmbeddedGenerator } from '../../src/generator/index.js';
import { Media } from '../../src/media/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../coordinator/fake-judge.js';

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

/** A number read from the page (DevTools evaluation: the page's CSP forbids eval, not this). */
const pageNumber = async (page: Page, expression: string): Promise<number> => Number(await page.evaluate(expression));
const chartPoints = (id: string): string => `Number(document.querySelector('[data-chart="${id}"]').dataset.points)`;

describe('the dashboard in Chromium during a real run', () => {
  it('plots curves, advances the step counter live, plays the group videos and shows verdict traces', async () => {
    const runDir = join(root, 'run');
    const config = defaultConfig({
      reward: { mode: 'pairwise' },
      training: { groupSize: 4, promptsPerStep: 2, steps: STEPS, evalEvery: 2, evalPrompts: 8, checkpointEvery: 100, videosEvery: 1, tracesEvery: 1, pipelineStaleness: 0 },
    });
    const t = config.training;
    const generator = await EmbeddedGenerator.create({
      config,
      trainer: { learningRate: t.learningRate, clipRange: t.clipRange, beta: t.beta, timestepFraction: t.timestepFraction, maxGradNorm: t.maxGradNorm, innerEpochs: t.innerEpochs },
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
    const coordinator = new Coordinator({
      config,
      runDir,
      generator,
      embedded: generator,
      judge: new FakeJudge(),
      log: silentLogger(),
      media,
      onStep: (m) => s.publishStep(m),
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
    await pollPage(page, `document.querySelectorAll('#group-videos video').length === 4 && [...document.querySelectorAll('#group-videos video')].every((v) => v.readyState >= 1)`, 15_000);
    const video = await page.evaluate<{ src: string; duration: number; width: number }>(
      `(() => { const v = document.querySelector('#group-videos video'); return { src: v.getAttribute('src'), duration: v.duration, width: v.videoWidth }; })()`,
    );
    expect(video.src).toMatch(/^runs\/videos\/step-000004\/.+\.mp4$/);
    expect(video.duration).toBeGreaterThan(0);
    expect(video.width).toBe(config.world.width);
    const cards = await page.locator('.video-card .reward').allTextContents();
    expect(cards).toHaveLength(4);
    expect(cards.every((c) => /^\d\.\d{3}$/.test(c) || c === 'masked')).toBe(true);

    // Reasoning traces: the fake judge writes none, so send the last group again with a traced verdict.
    const group = lastGroup as SampledGroup | null;
    if (group === null) throw new Error('no sampled group');
    const [first] = group.verdicts;
    if (first === undefined) throw new Error('no verdicts');
    const trace = '<think>Frame 3 of video 2 is blurred; frame 7 confirms.</think><answer> TA = 1, MQ = 1, VQ = 1, OA = 1, CF = 1 </answer>';
    s.publishGroup({ ...group, verdicts: [{ ...first, turns: [{ index: 0, role: 'assistant', text: trace, framesShown: [1, 2, 3] }] }, ...group.verdicts.slice(1)] });
    await pollPage(page, `[...document.querySelectorAll('#group-verdicts .trace')].some((p) => p.textContent.includes('frame 7 confirms'))`, 5_000);

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
