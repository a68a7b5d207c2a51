/**
 * The coordinator killed with SIGKILL mid-run, then `vr-grpo train --resume`: the run continues from its last
 * checkpoint with no missing and no duplicated step in metrics.jsonl, and every step's numbers equal those of an
 * uninterrupted run with the same seed (rewards, gold accuracy, KL, gradient norm), and the killed run's local reward
 * servers exit on their own. Real child processes throughout: each `train` starts its own local reward servers.
 */
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { CliChildren, jsonLines, until } from '../cli/child.js';

const STEPS = 10;
const base = realpathSync(mkdtempSync(join(tmpdir(), 'vr-grpo-coord-kill-')));
const children = new CliChildren();

afterAll(async () => {
  await children.killAll();
  rmSync(base, { recursive: true, force: true });
});

const config = join(base, 'train.yaml');
writeFileSync(
  config,
  [
    'world: { version: 1, frames: 24 }', // world v1 (24 frames) and its base, with pointwise rewards, as when this test was written
    `generator: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'generator-base'))} }`,
    `judge: { checkpoint: ${JSON.stringify(join(PROJECT_ROOT, 'models', 'rm-v2'))} }`,
    'reward: { mode: pointwise }',
    `training: { steps: ${STEPS}, promptsPerStep: 4, groupSize: 4, evalEvery: 0, evalPrompts: 8, checkpointEvery: 3, videosEvery: 0, tracesEvery: 0, pipelineStaleness: 1 }`,
    'monitoring: { http: { enabled: false }, drift: { anchors: { every: 4, prompts: 1, groupSize: 2 } } }',
    '',
  ].join('\n'),
);

const train = (args: readonly string[]): ReturnType<CliChildren['start']> => children.start(['train', '--config', config, ...args]);

/** The numbers of a step that must not depend on the interruption. */
const numbers = (r: Record<string, unknown>): Record<string, unknown> => ({
  step: r.step,
  reward: r.reward,
  goldAccuracy: r.goldAccuracy,
  kl: r.kl,
  gradNorm: r.gradNorm,
  drift: r.drift,
});

describe('the coordinator killed with SIGKILL, then --resume', () => {
  it('continues from the last checkpoint: every step once, the same numbers as an uninterrupted run', async () => {
    const straightDir = join(base, 'straight');
    const straight = train(['--run-dir', straightDir]);

    const runDir = join(base, 'killed');
    const first = train(['--run-dir', runDir]);
    // Kill it after step 5 was written (a checkpoint exists at step 3; steps 4-5 must be redone, not duplicated).
    for (let i = 0; i < 2400 && jsonLines(join(runDir, 'metrics.jsonl')).filter((r) => (r.step as number) >= 5).length === 0; i++) {
      if (first.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(first.child.exitCode, first.output()).toBeNull();
    first.child.kill('SIGKILL');
    await first.exited;
    // Its local reward servers notice (their stdin closed) and drain: no process is left behind.
    const orphans = (): number[] =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--artifact-root\u0000${runDir}\u0000`);
          } catch {
            return false; // exited while we looked
          }
        })
        .map(Number);
    expect(orphans().length).toBeGreaterThan(0);
    await until("the killed run's reward servers to exit", 30_000, () => (orphans().length === 0 ? true : null));
    const beforeResume = jsonLines(join(runDir, 'metrics.jsonl')).map((r) => r.step as number);
    expect(beforeResume.at(-1)).toBeLessThan(STEPS);

    const resumed = train(['--resume', runDir]);
    expect(await resumed.exited, resumed.output()).toBe(0);
    expect(await straight.exited, straight.output()).toBe(0);

    const got = jsonLines(join(runDir, 'metrics.jsonl'));
    const want = jsonLines(join(straightDir, 'metrics.jsonl'));
    expect(got.map((r) => r.step)).toEqual(Array.from({ length: STEPS + 1 }, (_, i) => i)); // step 0 = held-out before
    expect(got.map(numbers)).toEqual(want.map(numbers));
    const events = jsonLines(join(runDir, 'events.jsonl'));
    const resume = events.find((e) => e.event === 'resume');
    expect([4, 7]).toContain(resume?.fromStep); // the step after a checkpoint (every 3 steps)
  }, 600_000);
});
