/**
 * Headless Chromium through playwright-core, for the dashboard's screenshot and its browser test. Uses the system
 * browser (Debian's `chromium` package at /usr/bin/chromium, or `CHROMIUM_PATH`); nothing is downloaded. Each launch
 * gets a fresh profile directory, removed when the browser closes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { VrGrpoError } from '../errors/index.js';

/** Where Debian's `chromium` package installs the browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

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

/** `CHROMIUM_PATH`, else /usr/bin/chromium. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CHROMIUM_PATH;
}

export interface Chromium {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile. Rejects with INVALID_ARGUMENT (`details.reason: 'chromium missing'`)
 * when the executable does not exist — install Debian's `chromium` or set `CHROMIUM_PATH`.
 */
export async function launchChromium(
  options: { executablePath?: string; viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<Chromium> {
  const executablePath = options.executablePath ?? chromiumPath();
  if (!existsSync(executablePath)) {
    throw new VrGrpoError('INVALID_ARGUMENT', `no Chromium at ${executablePath}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`, {
      details: { field: 'executablePath', reason: 'chromium missing', path: executablePath },
    });
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'vrgrpo-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1400, height: 1000 },
      deviceScaleFactor: options.deviceScaleFactor ?? 1,
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    context,
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
 * `timeoutMs`; rejects with the expression and the last error on timeout. Unlike `page.waitForFunction`, evaluation
 * goes through the DevTools protocol, so it works on pages whose Content-Security-Policy forbids `eval`.
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
      throw new VrGrpoError('INVALID_ARGUMENT', `page condition not met within ${timeoutMs} ms: ${expression}${why}`, { details: { expression, timeoutMs } });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
