/**
 * A PNG of the live dashboard (for docs/img/dashboard.png): opens the page in headless Chromium, waits until the
 * reward chart has data points (and the group's videos their metadata, when there are any), then captures it.
 */
import { launchChromium, pollPage } from './browser.js';

export interface ScreenshotOptions {
  /** Browser viewport, in CSS pixels. Default: 1400 × 1000. */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Capture the whole page, not just the viewport. Default: true. */
  readonly fullPage?: boolean;
  /** Device pixel ratio. Default: 1. */
  readonly deviceScaleFactor?: number;
  /** How long to wait for the page to show data, in milliseconds. Default: 20000. */
  readonly timeoutMs?: number;
  /** Chromium executable. Default: `CHROMIUM_PATH`, else a system chromium on `PATH`, else the npm-shipped one. */
  readonly executablePath?: string;
}

/** Captures the dashboard at `url` (e.g. `server.url`) to `outPng`. Rejects when the page shows no data in time. */
export async function screenshotPage(url: string, outPng: string, opts: ScreenshotOptions = {}): Promise<void> {
  const viewport = opts.viewport ?? { width: 1400, height: 1000 };
  const timeout = opts.timeoutMs ?? 20_000;
  const browser = await launchChromium({
    viewport,
    deviceScaleFactor: opts.deviceScaleFactor ?? 1,
    ...(opts.executablePath === undefined ? {} : { executablePath: opts.executablePath }),
  });
  try {
    const page = await browser.context.newPage();
    await page.goto(url, { waitUntil: 'load', timeout });
    // Conditions run in the page (as strings: this file is compiled without the DOM library).
    await pollPage(page, `Number(document.querySelector('[data-chart="reward"]')?.dataset.points ?? 0) > 0`, timeout);
    await pollPage(page, `[...document.querySelectorAll('video')].every((v) => v.readyState >= 2)`, timeout);
    // A still picture: the videos paused where they are, without their control bars.
    await page.evaluate(`document.querySelectorAll('video').forEach((v) => { v.pause(); v.controls = false; })`);
    await page.waitForTimeout(200);
    await page.screenshot({ path: outPng, fullPage: opts.fullPage ?? true });
  } finally {
    await browser.close();
  }
}
