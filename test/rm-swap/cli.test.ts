/**
 * `vr-grpo rm` end to end: a spawned `vr-grpo serve-reward` (rm-v1, admin token from VRGRPO_ADMIN_TOKEN, a watched
 * folder) and the CLI as child processes: `rm swap` switches it to rm-v2 (exit 0, JSON on stdout) while a swap without
 * the admin token is refused (exit 1, `error [ADMIN_FORBIDDEN]` on stderr); a connected client hears
 * `version_changed`; `rm rollback` and `rm status`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { RewardServerClient, type VersionChange } from '../../src/reward-client/index.js';
import { within } from './helpers.js';

const BIN = join(PROJECT_ROOT, 'bin', 'vr-grpo.js');
const TOKEN = 'cli-judge-token';
const ADMIN = 'cli-admin-token';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-rm-cli-')));
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(base, { recursive: true, force: true });
});

/** Environment of the children: the judge token, quiet logs, and no admin token unless given. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { VRGRPO_ADMIN_TOKEN: _admin, ...rest } = process.env;
  return { ...rest, VRGRPO_TOKEN: TOKEN, VRGRPO_LOG_LEVEL: 'warn', ...extra };
}

/** Runs `vr-grpo <args>` to its end (bounded): exit code, stdout, stderr. */
function run(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return within(done, `vr-grpo ${args.join(' ')}`, 60_000).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
}

/** Starts `vr-grpo serve-reward` and resolves with its URL once it prints its listening line. */
async function serveReward(args: readonly string[], extraEnv: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'serve-reward', ...args], { cwd: PROJECT_ROOT, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await within(exited, 'serve-reward to exit', 20_000).catch(() => child.kill('SIGKILL'));
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return within(
    new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^listening (ws:\/\/\S+)$/m.exec(stdout);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`serve-reward exited before listening: ${stderr.slice(-2000)}`)));
    }),
    'serve-reward to listen',
    90_000,
  );
}

describe('vr-grpo rm', () => {
  it('swaps a running serve-reward from rm-v1 to rm-v2, refuses a swap without the admin token, rolls back, reports status', async () => {
    const watchDir = join(base, 'incoming');
    const url = await serveReward(
      ['--port', '0', '--checkpoint', 'models/rm-v1', '--artifact-root', join(base, 'artifacts'), '--watch-checkpoints', watchDir],
      { VRGRPO_ADMIN_TOKEN: ADMIN },
    );
    const changes: VersionChange[] = [];
    const client = await RewardServerClient.connect(url, { token: TOKEN, onVersionChange: (c) => changes.push(c) });
    cleanups.push(() => client.close());
    expect(client.rmVersion).toBe('rm-v1');

    const [swap, refused] = await Promise.all([
      run(['judge-checkpoint', 'swap', '--server', url, '--checkpoint', 'models/rm-v2'], { VRGRPO_ADMIN_TOKEN: ADMIN }),
      run(['rm', 'swap', '--server', url, '--checkpoint', 'models/rm-v2']),
    ]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/^error \[ADMIN_FORBIDDEN\]: load_checkpoint: this command needs the admin token/m);
    expect(refused.stdout).toBe('');
    expect(swap.code, swap.stderr).toBe(0);
    expect(JSON.parse(swap.stdout)).toMatchObject({
      type: 'checkpoint_swapped',
      action: 'load',
      rmVersion: 'rm-v2',
      previousVersion: 'rm-v1',
      canary: { judgments: 6 },
    });
    expect(changes).toMatchObject([{ rmVersion: 'rm-v2', previousVersion: 'rm-v1', reason: 'load' }]);
    expect((await client.status()).rmVersion).toBe('rm-v2');

    // Rollback and status side by side (each CLI run costs a Node start): status sees the server before or after the rollback.
    const [rollback, status] = await Promise.all([
      run(['judge-checkpoint', 'rollback', '--server', url, '--admin-token', ADMIN]),
      run(['rm', 'status', '--server', url, '--admin-token', ADMIN]),
    ]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({
      type: 'checkpoint_swapped',
      action: 'rollback',
      rmVersion: 'rm-v1',
      previousVersion: 'rm-v2',
      canary: null,
    });
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { current: { rmVersion: string } };
    expect(shown).toMatchObject({
      type: 'checkpoint_status',
      state: 'serving',
      swaps: 1,
      rejections: 0,
      lastRejection: null,
      watch: { dir: watchDir, pending: [] },
    });
    expect(['rm-v1', 'rm-v2']).toContain(shown.current.rmVersion);

    expect(await client.checkpointStatus({ adminToken: ADMIN })).toMatchObject({
      current: { rmVersion: 'rm-v1', origin: 'initial', source: join(PROJECT_ROOT, 'models', 'rm-v1') },
      previous: null,
      swaps: 1,
      rollbacks: 1,
    });
    expect(changes.map((c) => `${c.reason}:${c.rmVersion}`)).toEqual(['load:rm-v2', 'rollback:rm-v1']);
  });
});
