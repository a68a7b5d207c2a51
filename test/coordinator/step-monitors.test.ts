/** Several step monitors as one: hooks in order, merged metrics-line fields, states kept by name across a checkpoint. */
import { describe, expect, it } from 'vitest';
import type { JudgedStep, MonitorStart, ObservedStep, StepMonitor } from '../../src/coordinator/coordinator.js';
import { combineMonitors } from '../../src/coordinator/step-monitors.js';

class Recorder implements StepMonitor {
  readonly calls: string[] = [];
  restored: unknown = 'unset';
  constructor(
    private readonly name: string,
    private readonly state: unknown,
  ) {}
  start(context: MonitorStart): Promise<void> {
    this.restored = context.restored;
    this.calls.push('start');
    return Promise.resolve();
  }
  beforeUpdate(step: JudgedStep): Promise<void> {
    this.calls.push(`before ${step.step}`);
    return Promise.resolve();
  }
  observeStep(step: ObservedStep): Promise<Record<string, unknown>> {
    this.calls.push(`observe ${step.step}`);
    return Promise.resolve({ [this.name]: step.step });
  }
  checkpointState(): unknown {
    return this.state;
  }
}

const context = (restored: unknown): MonitorStart => ({ firstStep: 1, restored, event: () => undefined });
const observed = (step: number): ObservedStep => ({ step, metrics: { step }, rewardsByDimension: {}, rmVersions: [] });

describe('combineMonitors', () => {
  it('runs every hook on every monitor, merges their fields and keeps their states by name', async () => {
    const run = new Recorder('run', { windows: 1 });
    const audit = new Recorder('audit', { points: [] });
    const both = combineMonitors([
      ['run', run],
      ['audit', audit],
    ]);
    expect(both).toBeDefined();
    if (both === undefined) return;
    await both.start(context(null));
    await both.beforeUpdate?.({ step: 3, prompts: [], videos: [], groups: [] });
    expect(await both.observeStep(observed(3))).toEqual({ run: 3, audit: 3 });
    expect(run.calls).toEqual(['start', 'before 3', 'observe 3']);
    expect(audit.calls).toEqual(['start', 'before 3', 'observe 3']);
    const saved = both.checkpointState();
    expect(saved).toEqual({ monitors: { run: { windows: 1 }, audit: { points: [] } } });

    // Resumed: each gets its own state back; a monitor added since gets none.
    const run2 = new Recorder('run', null);
    const audit2 = new Recorder('audit', null);
    const extra = new Recorder('extra', null);
    await combineMonitors([
      ['run', run2],
      ['audit', audit2],
      ['extra', extra],
    ])?.start(context(saved));
    expect([run2.restored, audit2.restored, extra.restored]).toEqual([{ windows: 1 }, { points: [] }, null]);
  });

  it('restores a checkpoint written by a single monitor into the first one', async () => {
    const run = new Recorder('run', null);
    const audit = new Recorder('audit', null);
    await combineMonitors([
      ['run', run],
      ['audit', audit],
    ])?.start(context({ drift: null, lastVersions: ['rm-v2'] }));
    expect(run.restored).toEqual({ drift: null, lastVersions: ['rm-v2'] });
    expect(audit.restored).toBeNull();
  });

  it('is the monitor itself for one, and nothing for none', () => {
    const run = new Recorder('run', null);
    expect(combineMonitors([['run', run]])).toBe(run);
    expect(combineMonitors([])).toBeUndefined();
  });
});
