/**
 * Headless Chromium through playwright-core, for the dashboard's screenshot and its browser test. The executable is
 * found by `resolveChromium` (option → `CHROMIUM_PATH` → a system browser on `PATH` → the npm-shipped one); nothing
 * is downloaded. Each launch gets a fresh profile directory, removed when the browser closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { VrGrpoError } from '../errors/index.js';
import { resolveChromium, type ChromiumSource } from './chromium-executable.js';

/** Flags for a quiet, sandbox-free headless run in a container: no GPU, no network chatter of the browser's own. */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

export interface Chromium {
  readonly context: BrowserContext;
  /** The executable that runs, and where it was found. */
  readonly executable: { readonly path: string; readonly source: ChromiumSource };
  /** Closes the browser and removes its profile directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile. Rejects with `BROWSER_NOT_FOUND` when no executable can be found
 * (see `resolveChromium`).
 */
export async function launchChromium(
  options: { executablePath?: string; viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<Chromium> {
  const executable = await resolveChromium(options.executablePath === undefined ? {} : { executablePath: options.executablePath });
  const profile = mkdtempSync(path.join(tmpdir(), 'vrgrpo-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable.path,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1400, height: 1000 },
      deviceScaleFactor: options.deviceScaleFactor ?? 1,
      // A fixed locale: without it Chromium derives one from LANG/LC_ALL, and a POSIX form such as "en_US@posix"
      // becomes a language tag that Intl rejects (the page's number formatting then throws).
      locale: 'en-US',
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    context,
    executable,
    close: () => {
      closing ??= (async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}

/**
 * Polls `expression` (JavaScript evaluated in the page) until it is truthy, every `intervalMs`, for at most
 * `timeoutMs`; rejects with BROWSER_TIMEOUT naming the expression and the last error on timeout. Unlike
 * `page.waitForFunction`, evaluation goes through the DevTools protocol, so it works on pages whose
 * Content-Security-Policy forbids `eval`.
 */
export async function pollPage(page: Page, expression: string, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if ((await page.evaluate(expression)) === true) return;
      last = null;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new VrGrpoError('BROWSER_TIMEOUT', `page condition not met within ${timeoutMs} ms: ${expression}${why}`, { details: { expression, timeoutMs } });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
