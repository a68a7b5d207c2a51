/** `vr-grpo screenshot URL OUT.png`: a PNG of a run's live dashboard in headless Chromium (docs/monitoring.md). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { screenshotPage } from '../../dashboard/screenshot.js';
import { intOption } from '../context.js';

interface ScreenshotFlags {
  width?: string;
  height?: string;
  timeoutMs?: string;
}

export function registerScreenshot(program: Command): void {
  program
    .command('screenshot')
    .description('capture the live dashboard of a run (e.g. http://127.0.0.1:9464/) to a PNG, once its charts have data')
    .argument('<url>', 'the dashboard address that `vr-grpo train` printed')
    .argument('<out>', 'PNG file to write')
    .option('--width <px>', 'viewport width (default 1400)')
    .option('--height <px>', 'viewport height (default 1000)')
    .option('--timeout-ms <ms>', 'how long to wait for data on the page (default 20000)')
    .action(async (url: string, out: string, flags: ScreenshotFlags) => {
      const width = intOption('--width', flags.width, 200) ?? 1400;
      const height = intOption('--height', flags.height, 200) ?? 1000;
      const timeoutMs = intOption('--timeout-ms', flags.timeoutMs, 1);
      await screenshotPage(url, resolve(out), { viewport: { width, height }, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      process.stdout.write(`wrote ${resolve(out)}\n`);
    });
}
