/**
 * Issue 19, finding 4: checkpoint loading no longer trusts its folder. A spawned `vr-grpo serve-reward` (a real
 * process: a frozen event loop there cannot freeze this test) serving rm-v1 is asked, through the admin swap, to load
 * hostile checkpoints: a manifest whose model file climbs out of the folder, a model file that is a symlink to a file
 * outside, a FIFO, a symlink to /dev/zero, a directory, a sparse file over the size limit, and a model (built with the
 * project's own exporter) whose signature is right but which allocates 400 MB per run (refused by the out-of-process
 * model probe: the server's own memory stays flat). Each is refused with its code
 * while a prober pings the server and GETs /healthz every 25 ms, and the server keeps serving rm-v1; a sound
 * checkpoint still swaps in under the same limits afterwards.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { readPerceptionDir } from '../../src/judge/backends/embedded/perception/index.js';
import { exportGraphToOnnx, readMlpFromOnnx, type GraphInitializer, type GraphNode } from '../../src/onnx/index.js';
import { RewardServerClient } from '../../src/reward-client/index.js';
import { CheckpointRoot, RM_V1, RM_V2 } from './fixtures.js';
import { rejectionCode, within } from './helpers.js';

const BIN = join(PROJECT_ROOT, 'bin', 'vr-grpo.js');
const TOKEN = 'hardening-judge-token';
const ADMIN = 'hardening-admin-token';
/** The canary memory budget of this server (the greedy model allocates 400 MB per run). */
const BUDGET_MIB = 200;
/** Elements of the greedy model's per-run tensor: 1e8 float32 = 400 MB. */
const GREEDY_ELEMENTS = 100_000_000;
/** The bound on ping and /healthz latency while a hostile checkpoint is refused (file checks). */
/** A stall bound, not a latency target (the FIFO froze the old server until it was opened; measured figures: docs/rm-swap.md). */
const LIVE_MS = 1_000;

const root = new CheckpointRoot('vr-grpo-hardening-ck-');
let child: ReturnType<typeof spawn> | null = null;
let exited: Promise<void> = Promise.resolve();
let url = '';
let port = 0;
let client: RewardServerClient;

/** VmRSS and VmHWM of a process, bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** GET /healthz on the server's port: status code and round trip (bounded). */
function healthz(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return within(
    new Promise<{ status: number; ms: number }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      });
      req.on('error', reject);
    }),
    '/healthz',
    10_000,
  );
}

/** Pings and GETs /healthz every 25 ms until stopped (bounded by count and time); the worst latencies seen. */
class Prober {
  readonly pings: number[] = [];
  readonly healths: number[] = [];
  readonly failures: string[] = [];
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(probe: RewardServerClient) {
    this.#done = (async () => {
      const deadline = performance.now() + 120_000;
      for (let i = 0; i < 5_000 && !this.#stopped && performance.now() < deadline; i++) {
        const [p, h] = await Promise.allSettled([within(probe.ping(), 'ping', 10_000), healthz()]);
        if (p.status === 'fulfilled') this.pings.push(p.value);
        else this.failures.push(`ping: ${String(p.reason)}`);
        if (h.status === 'fulfilled' && h.value.status === 200) this.healths.push(h.value.ms);
        else this.failures.push(`healthz: ${h.status === 'fulfilled' ? h.value.status : String(h.reason)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
  }

  async stop(): Promise<{ pings: number; maxPingMs: number; maxHealthMs: number; failures: readonly string[] }> {
    this.#stopped = true;
    await within(this.#done, 'the prober to stop', 30_000);
    return { pings: this.pings.length, maxPingMs: Math.max(0, ...this.pings), maxHealthMs: Math.max(0, ...this.healths), failures: this.failures };
  }
}

/** Loads `checkpoint` through the admin swap while probing; the rejection's code and the probe's worst latencies. */
async function refused(checkpoint: string, what: string): Promise<{ code: string; message: string; maxPingMs: number; maxHealthMs: number; pings: number }> {
  const probe = await RewardServerClient.connect(url, { token: TOKEN });
  try {
    const prober = new Prober(probe);
    // Let the prober take a few samples before, and after, the load.
    await new Promise((r) => setTimeout(r, 100));
    const outcome = await rejectionCode(within(client.loadCheckpoint({ checkpoint }, { adminToken: ADMIN }), what, 60_000), what);
    await new Promise((r) => setTimeout(r, 100));
    const live = await prober.stop();
    expect(live.failures).toEqual([]);
    expect(live.pings).toBeGreaterThanOrEqual(2);
    expect((await client.status()).rmVersion).toBe('rm-v1');
    return { ...outcome, maxPingMs: live.maxPingMs, maxHealthMs: live.maxHealthMs, pings: live.pings };
  } finally {
    await probe.close();
  }
}

/**
 * rm-v1's network with a greedy side branch: Shape(crop)[0:1] ∧ 1 (=1) concatenated with 1e8 is the shape of a
 * ConstantOfShape of zeros (400 MB, input-dependent so not folded away), summed (0) and added to every head's logits:
 * the outputs and the signature are rm-v1's, every run allocates 400 MB.
 */
function greedyModel(): Uint8Array {
  const spec = readMlpFromOnnx(readPerceptionDir(RM_V1).bytes);
  const nodes: GraphNode[] = [];
  const inits: GraphInitializer[] = [
    { name: 'g.zero', dims: [1], int64: [0] },
    { name: 'g.one', dims: [1], int64: [1] },
    { name: 'g.big', dims: [1], int64: [GREEDY_ELEMENTS] },
  ];
  nodes.push(
    { opType: 'Shape', inputs: [spec.input.name], outputs: ['g.shape'] },
    { opType: 'Slice', inputs: ['g.shape', 'g.zero', 'g.one'], outputs: ['g.n'] },
    { opType: 'Min', inputs: ['g.n', 'g.one'], outputs: ['g.m'] },
    { opType: 'Concat', inputs: ['g.m', 'g.big'], outputs: ['g.dims'], attributes: [{ name: 'axis', int: 0 }] },
    { opType: 'ConstantOfShape', inputs: ['g.dims'], outputs: ['g.zeros'], attributes: [{ name: 'value', floatTensor: { dims: [1], values: [0] } }] },
    { opType: 'ReduceSum', inputs: ['g.zeros'], outputs: ['g.sum'], attributes: [{ name: 'keepdims', int: 1 }] },
  );
  const gemm = (prefix: string, input: string, output: string, layer: { inSize: number; outSize: number; weights: Float32Array; bias: Float32Array }): void => {
    inits.push(
      { name: `${prefix}.w`, dims: [layer.inSize, layer.outSize], float32: layer.weights },
      { name: `${prefix}.b`, dims: [layer.outSize], float32: layer.bias },
    );
    nodes.push({ opType: 'Gemm', inputs: [input, `${prefix}.w`, `${prefix}.b`], outputs: [output] });
  };
  let current = spec.input.name;
  spec.trunk.forEach((layer, i) => {
    gemm(`t${i}`, current, `t${i}.lin`, layer);
    if ((layer.activation ?? 'relu') === 'relu') {
      nodes.push({ opType: 'Relu', inputs: [`t${i}.lin`], outputs: [`t${i}.out`] });
      current = `t${i}.out`;
    } else current = `t${i}.lin`;
  });
  const outputs = spec.heads.flatMap((h) => {
    gemm(`h_${h.name}`, current, `${h.name}.raw`, h);
    nodes.push(
      { opType: 'Add', inputs: [`${h.name}.raw`, 'g.sum'], outputs: [`${h.name}_logits`] },
      { opType: 'Softmax', inputs: [`${h.name}_logits`], outputs: [`${h.name}_probs`], attributes: [{ name: 'axis', int: -1 }] },
    );
    return [
      { name: `${h.name}_logits`, dims: ['batch', h.outSize] },
      { name: `${h.name}_probs`, dims: ['batch', h.outSize] },
    ];
  });
  return exportGraphToOnnx({ name: 'greedy', inputs: [{ name: spec.input.name, dims: ['batch', spec.input.size] }], outputs, nodes, initializers: inits });
}

beforeAll(async () => {
  const config = join(root.path, 'serve.yaml');
  writeFileSync(
    config,
    [
      'rewardServer:',
      '  checkpoints:',
      '    canaryPairs: 2',
      '    canaryPointwise: 1',
      `    canaryMaxRssGrowthMiB: ${BUDGET_MIB}`,
      '    maxModelBytes: 67108864',
      '    modelReadTimeoutMs: 5000',
      '',
    ].join('\n'),
  );
  const { VRGRPO_ADMIN_TOKEN: _a, ...rest } = process.env;
  const proc = spawn(process.execPath, [BIN, 'serve-reward', '--config', config, '--port', '0', '--checkpoint', RM_V1, '--artifact-root', root.path], {
    cwd: PROJECT_ROOT,
    env: { ...rest, VRGRPO_TOKEN: TOKEN, VRGRPO_ADMIN_TOKEN: ADMIN, VRGRPO_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  url = await within(
    new Promise<string>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^listening (ws:\/\/\S+)$/m.exec(stdout);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`serve-reward exited before listening: ${stderr}`)));
    }),
    'serve-reward to listen',
    90_000,
  );
  port = Number(new URL(url).port);
  client = await RewardServerClient.connect(url, { token: TOKEN });
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  const proc = child;
  if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    await within(exited, 'serve-reward to exit', 20_000).catch(() => proc.kill('SIGKILL'));
  }
  root.remove();
}, 60_000);

describe('checkpoint files are confined to their folder (finding 4)', () => {
  it('refuses a manifest whose model file climbs out of the folder, and a model symlinked outside: FORBIDDEN_PATH', async () => {
    const outside = join(root.path, 'outside');
    mkdirSync(outside, { recursive: true });
    const v2 = readFileSync(join(RM_V2, 'model.onnx'));
    writeFileSync(join(outside, 'x.onnx'), v2);
    const escaping = root.write('escaping', {
      from: RM_V2,
      version: 'rm-escaping',
      model: v2,
      manifest: (m) => ({ ...m, model: { ...(m.model as Record<string, unknown>), file: '../outside/x.onnx' } }),
    });
    const a = await refused(escaping, 'an escaping manifest');
    expect(a.code).toBe('FORBIDDEN_PATH');

    const symlinked = root.write('symlinked', { from: RM_V2, version: 'rm-symlinked', model: v2 });
    rmSync(join(symlinked, 'model.onnx'));
    symlinkSync(join(outside, 'x.onnx'), join(symlinked, 'model.onnx'));
    const b = await refused(symlinked, 'a symlinked model');
    expect(b.code).toBe('FORBIDDEN_PATH');
    expect(Math.max(a.maxPingMs, b.maxPingMs, a.maxHealthMs, b.maxHealthMs)).toBeLessThanOrEqual(LIVE_MS);
  });

  it('refuses a FIFO, a directory and an oversized sparse file as model.onnx with MODEL_INVALID, answering throughout', async () => {
    const fifo = root.write('fifo', { from: RM_V2, version: 'rm-fifo' });
    rmSync(join(fifo, 'model.onnx'));
    execFileSync('mkfifo', [join(fifo, 'model.onnx')]);
    const f = await refused(fifo, 'a FIFO model');
    expect(f.code).toBe('MODEL_INVALID');
    expect(f.message).toMatch(/FIFO/);
    expect(f.maxPingMs).toBeLessThanOrEqual(LIVE_MS);
    expect(f.maxHealthMs).toBeLessThanOrEqual(LIVE_MS);

    const dir = root.write('dir-model', { from: RM_V2, version: 'rm-dir' });
    rmSync(join(dir, 'model.onnx'));
    mkdirSync(join(dir, 'model.onnx'));
    const d = await refused(dir, 'a directory as model');
    expect(d.code).toBe('MODEL_INVALID');
    expect(d.message).toMatch(/directory/);

    // 80 MiB of holes: over this server's 64 MiB limit, costs no disk; refused before a byte is read.
    const big = root.write('big', { from: RM_V2, version: 'rm-big' });
    truncateSync(join(big, 'model.onnx'), 80 * 1024 * 1024);
    const before = memoryOf(child?.pid ?? 0);
    const s = await refused(big, 'an oversized model');
    expect(s.code).toBe('MODEL_INVALID');
    expect(s.message).toMatch(/over the limit/);
    expect(memoryOf(child?.pid ?? 0).rss - before.rss).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a symlink to /dev/zero (FORBIDDEN_PATH) without reading it: RSS stays flat', async () => {
    const zero = root.write('zero', { from: RM_V2, version: 'rm-zero' });
    rmSync(join(zero, 'model.onnx'));
    symlinkSync('/dev/zero', join(zero, 'model.onnx'));
    const before = memoryOf(child?.pid ?? 0);
    const z = await refused(zero, 'a /dev/zero model');
    const after = memoryOf(child?.pid ?? 0);
    expect(z.code).toBe('FORBIDDEN_PATH');
    expect(after.rss - before.rss).toBeLessThan(32 * 1024 * 1024);
    expect(Math.max(z.maxPingMs, z.maxHealthMs)).toBeLessThanOrEqual(LIVE_MS);
  });
});

describe('the canary measures memory (finding 4)', () => {
  it('refuses a model that allocates 400 MB per run with CANARY_FAILED; a sound checkpoint swaps in under the same budget', async () => {
    const greedy = root.write('greedy', { from: RM_V1, version: 'rm-greedy', model: greedyModel() });
    const before = memoryOf(child?.pid ?? 0);
    const g = await refused(greedy, 'the greedy model');
    const after = memoryOf(child?.pid ?? 0);
    expect(g.code).toBe('CANARY_FAILED');
    expect(g.message).toMatch(/resident memory grew by [\d.]+ MiB, over the budget of 200\.0 MiB/);
    // Report the figures (the note).
    console.info(
      `greedy model refused: ${g.message}; server VmHWM ${(before.hwm / 2 ** 20).toFixed(0)} → ${(after.hwm / 2 ** 20).toFixed(0)} MiB, ` +
        `RSS after ${(after.rss / 2 ** 20).toFixed(0)} MiB; worst ping ${g.maxPingMs.toFixed(1)} ms, /healthz ${g.maxHealthMs.toFixed(1)} ms over ${g.pings} probes`,
    );
    expect(g.maxPingMs).toBeLessThanOrEqual(1_000);
    // The 400 MB were allocated by the probe process, never by the server.
    expect(after.hwm - before.hwm).toBeLessThan(100 * 2 ** 20);

    const sound = root.write('sound', { from: RM_V2, version: 'rm-v2-sound' });
    const swapped = await within(client.loadCheckpoint({ checkpoint: sound }, { adminToken: ADMIN }), 'the sound swap', 60_000);
    expect(swapped).toMatchObject({ action: 'load', rmVersion: 'rm-v2-sound', previousVersion: 'rm-v1' });
    const status = await client.checkpointStatus({ adminToken: ADMIN });
    expect(status.rejections).toBeGreaterThanOrEqual(1);
    expect(status.lastRejection?.code).toBe('CANARY_FAILED');
  });
});
