/**
 * A resource probe of untrusted ONNX bytes, out of the server's process: a child process loads the model and runs it
 * on zeros (dynamic dimensions set to `batch`) while this process — whose event loop stays free (onnxruntime-node runs
 * a session synchronously on the thread that calls it, so in-process it would block) — watches the child's resident
 * memory and keeps time. A load or run beyond its budget is refused at once and the child killed, so a hostile model
 * (one that allocates gigabytes per run, never finishes loading, or crashes the runtime) costs the server neither a
 * blocked event loop nor its memory. The child reports the model's signature too. (A worker thread was tried first:
 * terminating it inside a native onnxruntime call aborts the whole process.)
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { VrGrpoError } from '../errors/index.js';
import type { ModelSignature, TensorSignature } from './session.js';

/** Budgets and shape of one probe. */
export interface ProbeOptions {
  /** Value of every dynamic dimension of the inputs. Default 64. */
  readonly batch?: number;
  /** Runs on zeros after loading. Default 2. */
  readonly runs?: number;
  /** ms the whole probe (load and runs) may take. Default 30000. */
  readonly timeoutMs?: number;
  /** Peak resident-memory growth allowed, bytes; null = none. Default 512 MiB. */
  readonly maxRssGrowthBytes?: number | null;
  /** ms one run may take; null = none. Default 20000. */
  readonly maxRunMs?: number | null;
  /** Label for messages. */
  readonly label?: string;
}

/** What a probe measured. */
export interface ProbeResult {
  readonly signature: ModelSignature;
  readonly loadMs: number;
  readonly runMs: readonly number[];
  /** Peak resident-memory growth of the process while the probe ran, bytes. */
  readonly rssGrowthBytes: number;
}

/** Messages of the probe process (parsed at the edge: the process is ours, the model it runs is not). */
type ProbeMessage =
  | { readonly type: 'ready'; readonly rss: number }
  | {
      readonly type: 'loaded';
      readonly ms: number;
      readonly hwm: number;
      readonly inputs: readonly TensorSignature[];
      readonly outputs: readonly TensorSignature[];
    }
  | { readonly type: 'ran'; readonly ms: number; readonly hwm: number }
  | { readonly type: 'done'; readonly hwm: number }
  | { readonly type: 'error'; readonly message: string };

function isSigList(v: unknown): v is TensorSignature[] {
  return (
    Array.isArray(v) &&
    v.every((s: unknown) => {
      if (s === null || typeof s !== 'object') return false;
      const o = s as { name?: unknown; dims?: unknown };
      return typeof o.name === 'string' && Array.isArray(o.dims) && o.dims.every((d) => typeof d === 'number');
    })
  );
}

function parseMessage(raw: unknown): ProbeMessage | null {
  if (raw === null || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  if (m.type === 'ready' && typeof m.rss === 'number') return { type: 'ready', rss: m.rss };
  if (m.type === 'loaded' && typeof m.ms === 'number' && typeof m.hwm === 'number' && isSigList(m.inputs) && isSigList(m.outputs))
    return { type: 'loaded', ms: m.ms, hwm: m.hwm, inputs: m.inputs, outputs: m.outputs };
  if (m.type === 'ran' && typeof m.ms === 'number' && typeof m.hwm === 'number') return { type: 'ran', ms: m.ms, hwm: m.hwm };
  if (m.type === 'done' && typeof m.hwm === 'number') return { type: 'done', hwm: m.hwm };
  if (m.type === 'error' && typeof m.message === 'string') return { type: 'error', message: m.message };
  return null;
}

/** The probe process: plain CommonJS (no TypeScript loader), onnxruntime-node resolved by the parent. */
const CHILD_SOURCE = `
const ort = require(process.env.VRGRPO_ORT_PATH);
const hwm = () => process.resourceUsage().maxRSS * 1024;
const sig = (metas) => metas.map((m) => ({ name: m.name, dims: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [] }));
process.once('message', async (job) => {
  try {
    let t = performance.now();
    const session = await ort.InferenceSession.create(job.bytes, {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3,
    });
    const inputs = sig(session.inputMetadata);
    process.send({ type: 'loaded', ms: performance.now() - t, hwm: hwm(), inputs, outputs: sig(session.outputMetadata) });
    const feeds = {};
    for (const input of inputs) {
      const dims = input.dims.map((d) => (d < 0 ? job.batch : d));
      feeds[input.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
    for (let i = 0; i < job.runs; i++) {
      t = performance.now();
      await session.run(feeds);
      process.send({ type: 'ran', ms: performance.now() - t, hwm: hwm() });
    }
    await session.release();
    process.send({ type: 'done', hwm: hwm() }, () => process.exit(0));
  } catch (e) {
    process.send({ type: 'error', message: String((e && e.message) || e).split('\\n')[0] }, () => process.exit(0));
  }
});
process.send({ type: 'ready', rss: process.memoryUsage.rss() });
`;

/** Resident-set high-water mark of another process (Linux /proc), bytes; null where unavailable. */
async function hwmOf(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/**
 * Loads `bytes` in a separate process, runs it `runs` times on zeros, and measures that process (its resident-set
 * high-water mark over what it had before loading the model, polled every 10 ms from /proc and reported after each
 * run). Rejects with MODEL_INVALID when the bytes do not load, a run fails or the process dies, and CANARY_FAILED
 * (details.reason `memory`, `time` or `timeout`) when the model is beyond a budget; the process is killed at once
 * (SIGKILL: safe whatever it is doing, unlike terminating a thread inside a native call), so neither the memory nor
 * the time of a hostile model is ever the server's.
 */
export function probeModel(bytes: Uint8Array, options: ProbeOptions = {}): Promise<ProbeResult> {
  const label = options.label ?? `<${bytes.length} bytes>`;
  const batch = options.batch ?? 64;
  const runs = options.runs ?? 2;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRss = options.maxRssGrowthBytes === undefined ? 512 * 1024 * 1024 : options.maxRssGrowthBytes;
  const maxRunMs = options.maxRunMs === undefined ? 20_000 : options.maxRunMs;
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  return new Promise<ProbeResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
      env: { PATH: process.env.PATH ?? '', VRGRPO_ORT_PATH: ortPath },
    });
    let settled = false;
    let baseline: number | null = null;
    let peak = 0;
    let signature: ModelSignature | null = null;
    let loadMs = 0;
    const runMs: number[] = [];
    const finish = (outcome: { ok: ProbeResult } | { error: VrGrpoError }): void => {
      if (settled) return;
      settled = true;
      clearInterval(poller);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };
    const budget = (reason: 'memory' | 'time' | 'timeout', message: string, details: Record<string, unknown>): void =>
      finish({ error: new VrGrpoError('CANARY_FAILED', `model probe of ${label}: ${message}`, { details: { model: label, reason, ...details } }) });
    const observe = (hwm: number | null): number => {
      if (hwm !== null) peak = Math.max(peak, hwm);
      const growth = baseline === null ? 0 : Math.max(0, peak - baseline);
      if (maxRss !== null && growth > maxRss) {
        const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
        budget('memory', `resident memory grew by ${mib(growth)}, over the budget of ${mib(maxRss)}`, { rssGrowthBytes: growth, maxRssGrowthBytes: maxRss });
      }
      return growth;
    };
    let polling = false;
    const poller = setInterval(() => {
      if (polling || baseline === null || child.pid === undefined) return;
      polling = true;
      void hwmOf(child.pid).then((hwm) => {
        polling = false;
        if (!settled) observe(hwm);
      });
    }, 10);
    const timer = setTimeout(() => budget('timeout', `not finished within ${timeoutMs} ms`, { timeoutMs }), timeoutMs);
    child.on('message', (raw: unknown) => {
      if (settled) return;
      const m = parseMessage(raw);
      if (m === null) return finish({ error: new VrGrpoError('INVALID_STATE', `model probe of ${label}: unexpected message`) });
      if (m.type === 'ready') {
        baseline = m.rss;
        peak = m.rss;
        // A copy: the caller keeps its bytes.
        child.send({ bytes: Uint8Array.from(bytes), batch, runs });
      } else if (m.type === 'loaded') {
        signature = Object.freeze({ inputs: m.inputs, outputs: m.outputs });
        loadMs = m.ms;
        observe(m.hwm);
      } else if (m.type === 'ran') {
        runMs.push(m.ms);
        observe(m.hwm);
        if (maxRunMs !== null && m.ms > maxRunMs)
          budget('time', `a run took ${Math.round(m.ms)} ms, over the budget of ${maxRunMs} ms`, { ms: m.ms, maxRunMs });
      } else if (m.type === 'error') {
        finish({ error: new VrGrpoError('MODEL_INVALID', `${label} is not a loadable, runnable ONNX model: ${m.message}`, { details: { model: label } }) });
      } else {
        const growth = observe(m.hwm);
        if (signature === null) return finish({ error: new VrGrpoError('INVALID_STATE', `model probe of ${label}: no signature`) });
        finish({ ok: { signature, loadMs, runMs, rssGrowthBytes: growth } });
      }
      return undefined;
    });
    child.on('error', (e: Error) =>
      finish({ error: new VrGrpoError('MODEL_INVALID', `model probe of ${label} failed: ${e.message}`, { details: { model: label } }) }),
    );
    child.on('exit', (code, signal) =>
      finish({
        error: new VrGrpoError('MODEL_INVALID', `model probe of ${label}: the probe process ended early (${signal ?? `exit ${String(code)}`})`, {
          details: { model: label },
        }),
      }),
    );
  });
}
