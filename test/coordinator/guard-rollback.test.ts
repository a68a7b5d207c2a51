/**
 * The guard's action in the real coordinator (embedded generator, fake judge, pipelined rollouts): a monitor confirms a
 * hacking signal at step 5; the coordinator saves the evidence, rolls the policy back to the checkpoint with the best
 * auditor score (step 2, whose policy made the videos the auditors scored best; not the later step 4), lowers the
 * learning rate, drops the rollout it had prefetched from the old policy, and trains on to the last step.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/logger.js';
import type { GuardRequest, TrainingAudit } from '../../src/coordinator/audit-monitor.js';
import { Coordinator, type JudgedStep, type MonitorStart, type ObservedStep, type StepMonitor } from '../../src/coordinator/coordinator.js';
import { EmbeddedGenerator, constantTrainerOptionsFrom } from '../../src/generator/index.js';
import { worldRun } from '../../src/job/index.js';
import { chooseTensorBackend } from '../../src/tensor/index.js';
import { FakeJudge } from '../../src/testing/fake-judge.js';
import { expectDeclaredStepRecords } from '../metrics/helpers.js';
import { v1Config } from '../world-v1.js';

const root = mkdtempSync(join(tmpdir(), 'vrgrpo-guard-'));
beforeAll(async () => {
  await chooseTensorBackend('auto');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Records the policy digest after each update and before each update; asks for a rollback at step 5 with `action`.
 * With `conservative` or `switch-to-auditors`, from then on it offers an auditor for training that ranks each group in
 * reverse.
 */
class ScriptedGuard implements StepMonitor {
  readonly afterUpdate = new Map<number, string>();
  readonly beforeUpdates = new Map<number, string>();
  /** The training rewards of each step's groups (what the reversed auditor reverses). */
  readonly rewards = new Map<number, readonly (readonly number[])[]>();
  constructor(
    private readonly generator: EmbeddedGenerator,
    private readonly action: GuardRequest['action'] = 'lower-lr',
  ) {}
  start(_context: MonitorStart): Promise<void> {
    return Promise.resolve();
  }
  async beforeUpdate(s: JudgedStep): Promise<void> {
    this.beforeUpdates.set(s.step, await this.generator.policyDigest());
    this.rewards.set(
      s.step,
      s.groups.map((g) => g.rewards),
    );
  }
  trainingAudit(step: number): TrainingAudit | null {
    const rewards = this.rewards.get(step);
    const rule = this.action === 'conservative' ? 'worst-case' : this.action === 'switch-to-auditors' ? 'held-out' : null;
    if (rule === null || !this.#asked || rewards === undefined) return null;
    return { step, rule, judges: ['reversed'], groups: rewards.map((r) => [r.map((x) => 1 - x)]) };
  }
  async observeStep(s: ObservedStep): Promise<Record<string, unknown>> {
    this.afterUpdate.set(s.step, await this.generator.policyDigest());
    return {};
  }
  #asked = false;
  guardDecision(): GuardRequest | null {
    if (this.#asked || !this.afterUpdate.has(5)) return null;
    this.#asked = true;
    return {
      step: 5,
      detector: 'proxy_auditor_divergence',
      mode: 'act',
      action: this.action,
      factor: 0.5,
      value: 4.2,
      firingSteps: 2,
      // Audits of steps 3–4 (the videos of checkpoint 2's policy and the next) score high, step 5 (checkpoint 4's) low.
      scores: new Map([
        [3, 0.9],
        [4, 0.9],
        [5, 0.6],
      ]),
      evidence: [{ step: 4, gap: 0.3 }],
    };
  }
  checkpointState(): unknown {
    return null;
  }
}

/** The in-process generator with the run's trainer settings. */
function embeddedGenerator(c: ReturnType<typeof v1Config>): Promise<EmbeddedGenerator> {
  return EmbeddedGenerator.create({
    config: c,
    trainer: constantTrainerOptionsFrom(c),
  });
}

describe('the guard in the coordinator', () => {
  it('rolls back to the best checkpoint by auditor score, lowers the learning rate and trains on', async () => {
    const { c, runDir, monitor, guard } = await guardedRun('lower-lr');
    const t = c.training;
    expect(guard).toHaveLength(1);
    expect(guard[0]).toMatchObject({
      step: 5,
      mode: 'act',
      action: 'lower-lr',
      rolledBackTo: 2,
      training: { learningRate: t.learningRate * 0.5, beta: t.beta },
    });
    // The policy the next step trained from is the one of step 2's checkpoint, not the step-5 policy.
    expect(monitor.afterUpdate.get(2)).toBeDefined();
    expect(monitor.beforeUpdates.get(6)).toBe(monitor.afterUpdate.get(2));
    expect(monitor.beforeUpdates.get(6)).not.toBe(monitor.afterUpdate.get(5));
    // Evidence on disk; the run went on to its last step, each step once, and the step line says what the guard did.
    const evidence = JSON.parse(readFileSync(join(runDir, 'guard', 'step-000005.json'), 'utf8')) as { groups: unknown[]; audits: unknown[] };
    expect(evidence.groups).toHaveLength(2);
    expect(evidence.audits).toEqual([{ step: 4, gap: 0.3 }]);
    const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; guard?: { rolledBackTo: number } });
    expect(steps.map((s) => s.step).filter((s) => s > 0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(steps.find((s) => s.step === 5)?.guard?.rolledBackTo).toBe(2);
    expectDeclaredStepRecords(steps);
    expect(existsSync(join(runDir, 'checkpoints', 'step-000006'))).toBe(true);
  }, 120_000);

  /** A 7-step run whose scripted guard acts at step 5 with `action`; what each update trained on. */
  async function guardedRun(action: GuardRequest['action']) {
    const c = v1Config({
      reward: { mode: 'pointwise' },
      training: { groupSize: 4, promptsPerStep: 2, steps: 7, evalEvery: 0, checkpointEvery: 2, videosEvery: 0, tracesEvery: 0, pipelineStaleness: 1 },
    });
    const generator = await embeddedGenerator(c);
    // What each update was asked to train on (the coordinator's advantages, flat in group order).
    const updates: (number | null)[][] = [];
    const update = generator.update.bind(generator);
    generator.update = (batch) => {
      updates.push([...(batch[0]?.advantages ?? [])]);
      return update(batch);
    };
    const runDir = join(root, `run-${action}`);
    const monitor = new ScriptedGuard(generator, action);
    try {
      const coordinator = await Coordinator.create({
        config: c,
        runDir,
        generator,
        ...worldRun(c, generator),
        judge: new FakeJudge(),
        log: silentLogger(),
        steps: 7,
        monitor,
      });
      await coordinator.runLoop();
    } finally {
      await generator.close();
    }
    const guard = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.event === 'guard');
    const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; auditTraining?: { rule: string; judges: string[]; videos: number; lowered: number } });
    expectDeclaredStepRecords(steps);
    // Per step and group: whether the video the training judge paid most got the largest advantage.
    const leads = (step: number): boolean[] =>
      (monitor.rewards.get(step) ?? []).map((rewards, g) => {
        const advantages = (updates[step - 1] ?? []).slice(g * 4, g * 4 + 4).map((a) => a ?? -Infinity);
        const favourite = rewards.indexOf(Math.max(...rewards));
        return advantages[favourite] === Math.max(...advantages) && new Set(rewards).size > 1;
      });
    /** Per step and group: whether the training judge's favourite got the smallest advantage. */
    const trails = (step: number): boolean[] =>
      (monitor.rewards.get(step) ?? []).map((rewards, g) => {
        const advantages = (updates[step - 1] ?? []).slice(g * 4, g * 4 + 4).map((a) => a ?? Infinity);
        const favourite = rewards.indexOf(Math.max(...rewards));
        return advantages[favourite] === Math.min(...advantages) && new Set(rewards).size > 1;
      });
    return { c, runDir, monitor, guard, steps, leads, trails };
  }

  it('conservative: after the rollback, trains on the worst case of the training judge and the audit judges', async () => {
    const { guard, steps, leads } = await guardedRun('conservative');
    expect(guard).toEqual([expect.objectContaining({ step: 5, action: 'conservative', rolledBackTo: 2 })]);
    expect(guard[0]?.training).toBeUndefined();
    expect(steps.filter((s) => s.auditTraining !== undefined).map((s) => s.step)).toEqual([6, 7]);
    expect(steps.find((s) => s.step === 6)?.auditTraining).toMatchObject({ rule: 'worst-case', judges: ['reversed'], videos: 8 });
    expect(steps.find((s) => s.step === 6)?.auditTraining?.lowered).toBeGreaterThan(0);
    // Before the action a group's best-paid video gets its largest advantage; after it, with an auditor that ranks in
    // reverse, the worst case pays the middle of the group: the training judge's favourite never leads.
    expect([1, 2, 3, 4].flatMap(leads).some(Boolean)).toBe(true);
    expect([6, 7].flatMap(leads).some(Boolean)).toBe(false);
  }, 120_000);

  it('switch-to-auditors: after the rollback, the audit judges alone order each group', async () => {
    const { guard, steps, leads, trails } = await guardedRun('switch-to-auditors');
    expect(guard).toEqual([expect.objectContaining({ step: 5, action: 'switch-to-auditors', rolledBackTo: 2 })]);
    expect(steps.find((s) => s.step === 7)?.auditTraining).toMatchObject({ rule: 'held-out', judges: ['reversed'], videos: 8 });
    // The reversed auditor alone: the training judge's favourite now gets the group's smallest advantage.
    expect([1, 2, 3, 4].flatMap(leads).some(Boolean)).toBe(true);
    expect([6, 7].flatMap(trails).every(Boolean)).toBe(true);
    expect([6, 7].flatMap(trails)).toHaveLength(4);
  }, 120_000);
});
