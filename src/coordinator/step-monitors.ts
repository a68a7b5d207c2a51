/**
 * Several step monitors as one (the run monitor and the audit monitor): each hook runs on every monitor in order, the
 * metrics-line fields they return are merged, and their states ride in a checkpoint under their names. A checkpoint
 * written with a single monitor (before monitors were combined) restores into the first one.
 */
import { z } from 'zod';
import type { GuardRequest, TrainingAudit } from './audit-monitor.js';
import type { JudgedStep, MonitorStart, ObservedStep, StepMonitor } from './coordinator.js';
import type { AnchorRejudge } from './reward-calibrator.js';

const combinedState = z.object({ monitors: z.record(z.string(), z.unknown()) });

/** One monitor over `named` (name, monitor) pairs; a single pair is returned as it is. */
export function combineMonitors(named: readonly (readonly [string, StepMonitor])[]): StepMonitor | undefined {
  if (named.length === 0) return undefined;
  if (named.length === 1) return named[0]?.[1];
  return {
    async start(context: MonitorStart): Promise<void> {
      const parsed = context.restored === null ? null : combinedState.safeParse(context.restored);
      for (const [i, [name, m]] of named.entries()) {
        const restored = parsed === null ? null : parsed.success ? (parsed.data.monitors[name] ?? null) : i === 0 ? context.restored : null;
        await m.start({ ...context, restored });
      }
    },
    async beforeUpdate(step: JudgedStep): Promise<void> {
      for (const [, m] of named) await m.beforeUpdate?.(step);
    },
    async observeStep(step: ObservedStep): Promise<Record<string, unknown>> {
      const out: Record<string, unknown> = {};
      for (const [, m] of named) Object.assign(out, await m.observeStep(step));
      return out;
    },
    guardDecision(): GuardRequest | null {
      let found: GuardRequest | null = null;
      for (const [, m] of named) found ??= m.guardDecision?.() ?? null;
      return found;
    },
    trainingAudit(step: number): TrainingAudit | null {
      let found: TrainingAudit | null = null;
      for (const [, m] of named) found ??= m.trainingAudit?.(step) ?? null;
      return found;
    },
    async rewardModelChanged(step: number, versions: readonly string[]): Promise<AnchorRejudge | null> {
      let found: AnchorRejudge | null = null;
      for (const [, m] of named) found ??= (await m.rewardModelChanged?.(step, versions)) ?? null;
      return found;
    },
    checkpointState(): unknown {
      return { monitors: Object.fromEntries(named.map(([name, m]) => [name, m.checkpointState()])) };
    },
  };
}
