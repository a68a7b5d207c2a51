/**
 * The layout of a run folder (`runs/<id>/`), in one place: the coordinator's run directory writes it, the dashboard
 * serves from it, the anchor set and resume read it. Paths are relative to the run folder.
 */
import { join } from 'node:path';

export const RUN_LAYOUT = Object.freeze({
  /** The resolved config of the run. */
  config: 'config.json',
  /** One step record per line (src/metrics/step-record.ts). */
  metrics: 'metrics.jsonl',
  /** Start, resume, checkpoints, failures, swaps, drift trips… */
  events: 'events.jsonl',
  /** Sampled verdicts with their reasoning. */
  traces: 'traces.jsonl',
  /** `step-NNNNNN/` folders of checkpoints, and `latest.json` pointing at the newest. */
  checkpoints: 'checkpoints',
  /** `step-NNNNNN/` folders of the sampled groups' MP4s and frame strips. */
  videos: 'videos',
  /** The anchor set (`anchors.json` + its videos). */
  anchors: 'anchors',
  /** The guard's evidence: `step-NNNNNN.json` per confirmed hacking signal. */
  guard: 'guard',
});

/** A run's jsonl logs. */
export type RunLog = 'metrics.jsonl' | 'events.jsonl' | 'traces.jsonl';

/** `step-000025`: the folder name of a step's checkpoint or videos. */
export function stepFolder(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** `checkpoints/latest.json`. */
export const LATEST_CHECKPOINT = join(RUN_LAYOUT.checkpoints, 'latest.json');

/** The coordinator's state file inside a checkpoint folder; the policy's adapters go to `policy/` beside it. */
export const CHECKPOINT_STATE = 'coordinator.json';
export const CHECKPOINT_POLICY = 'policy';

/** A sampled group's file of a step: `videos/step-NNNNNN/<videoId><suffix>` (`.mp4`, `.frames.png`). */
export function stepVideoFile(step: number, videoId: string, suffix: '.mp4' | '.judge.mp4' | '.frames.png'): string {
  return join(RUN_LAYOUT.videos, stepFolder(step), `${videoId}${suffix}`);
}
