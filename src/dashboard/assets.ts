/**
 * The page's static files, read once at start and served from memory: the page itself and its script and styles
 * (src/dashboard/static/, plain browser JavaScript, no build step) and uPlot from node_modules — no CDN.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { VrGrpoError } from '../errors/index.js';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator for conditional requests. */
  readonly etag: string;
}

/** URL path (below the page) → file, as served. */
const OWN_FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  'index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'static/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'static/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
const UPLOT_FILES: Readonly<Record<string, { readonly module: string; readonly type: string }>> = {
  'static/uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'static/uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

function asset(body: Buffer, contentType: string): Asset {
  return Object.freeze({ body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
}

/** Reads every asset; ASSET_MISSING naming the file when one is missing (a broken install). */
export async function loadAssets(): Promise<ReadonlyMap<string, Asset>> {
  const require = createRequire(import.meta.url);
  const staticDir = fileURLToPath(new URL('./static/', import.meta.url));
  const sources: [string, string, string][] = [
    ...Object.entries(OWN_FILES).map(([route, f]): [string, string, string] => [route, `${staticDir}${f.file}`, f.type]),
    ...Object.entries(UPLOT_FILES).map(([route, f]): [string, string, string] => [route, f.module, f.type]),
  ];
  const out = new Map<string, Asset>();
  for (const [route, source, type] of sources) {
    try {
      const file = source.startsWith(staticDir) ? source : require.resolve(source);
      out.set(route, asset(await fs.readFile(file), type));
    } catch (error) {
      throw new VrGrpoError('ASSET_MISSING', `dashboard asset ${route} cannot be read (${source}): ${error instanceof Error ? error.message : String(error)}`, {
        details: { route, source },
        cause: error,
      });
    }
  }
  return out;
}
