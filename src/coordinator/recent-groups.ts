/**
 * The recent groups a calibrated reward-model swap shadow-scores (`reward.onVersionChange.shadowGroups`). After each
 * step the coordinator remembers, per prompt, the newest group's videos and the rewards that entered its statistics;
 * when a new RM version shows up, the new version re-judges these groups before its own rewards reach the advantages.
 * The same videos scored on both scales give the calibration its points and, per prompt, the offset a global map
 * cannot see (two judges rarely disagree by the same amount on every prompt, and the per-prompt statistics are what
 * the advantages are measured against).
 *
 * Only videos held as frames are kept (a video held by reference is released with the update; such groups are
 * skipped). Nothing here rides in checkpoints: after a resume the memory refills from the next step on.
 */
import { Rng } from '../common/rng.js';
import { isVideoFile, type RawVideo, type VideoHandle } from '../media/index.js';
import { collectGroupRewards, type JudgeClient, type RewardSettings } from './reward-collector.js';
import { streamSeed } from './seed-streams.js';

export interface RecentGroup {
  readonly step: number;
  readonly prompt: string;
  readonly videos: readonly RawVideo[];
  /** The rewards as they entered the statistics (on the scale the advantages are measured in). */
  readonly rewards: readonly number[];
  /** The RM versions that judged the group. */
  readonly rmVersions: readonly string[];
}

/** A recent group judged by the old version (its rewards as used) and re-judged by the new one. */
export interface ShadowGroup {
  readonly prompt: string;
  readonly before: readonly number[];
  readonly after: readonly number[];
}

export interface ShadowOutcome {
  readonly groups: readonly ShadowGroup[];
  /** Groups left out: re-judged by a version the swap is not to (a server not swapped yet), or every judgment failed. */
  readonly skipped: number;
  readonly judgments: number;
}

export class RecentGroups {
  /** Insertion order = recency (a prompt seen again moves to the end). */
  readonly #groups = new Map<string, RecentGroup>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#groups.size;
  }

  /** Remembers a judged group (the newest per prompt); a group with a video held by reference is not kept. */
  remember(group: { step: number; prompt: string; videos: readonly VideoHandle[]; rewards: readonly number[]; rmVersions: readonly string[] }): void {
    if (this.capacity === 0 || group.videos.length < 2 || group.videos.some(isVideoFile)) return;
    if (!group.rewards.some(Number.isFinite)) return;
    this.#groups.delete(group.prompt);
    this.#groups.set(group.prompt, {
      step: group.step,
      prompt: group.prompt,
      videos: group.videos.filter((v): v is RawVideo => !isVideoFile(v)),
      rewards: [...group.rewards],
      rmVersions: [...group.rmVersions],
    });
    while (this.#groups.size > this.capacity) {
      const oldest = this.#groups.keys().next();
      if (oldest.done === true) break;
      this.#groups.delete(oldest.value);
    }
  }

  /** The remembered groups none of whose verdicts came from `versions` (the old version's groups), oldest first. */
  judgedWithout(versions: readonly string[]): RecentGroup[] {
    return [...this.#groups.values()].filter((g) => !g.rmVersions.some((v) => versions.includes(v)));
  }

  clear(): void {
    this.#groups.clear();
  }
}

/**
 * Re-judges `groups` through `client` (the reward servers, now serving the new version) with the run's settings and a
 * judging seed of their own. A group answered by any version outside `newVersions` is skipped (not a clean pair).
 */
export async function shadowScore(
  client: JudgeClient,
  groups: readonly RecentGroup[],
  settings: RewardSettings,
  o: { readonly seed: number; readonly step: number; readonly newVersions: readonly string[] },
): Promise<ShadowOutcome> {
  const judged = await Promise.all(
    groups.map((g, i) => collectGroupRewards(client, g.prompt, g.videos, settings, Rng.fromSeed(streamSeed(o.seed, 'shadow', o.step, i)))),
  );
  const out: ShadowGroup[] = [];
  let skipped = 0;
  let judgments = 0;
  judged.forEach((r, i) => {
    const g = groups[i];
    judgments += r.judgments;
    const clean = r.rmVersions.length > 0 && r.rmVersions.every((v) => o.newVersions.includes(v)) && r.rewards.some(Number.isFinite);
    if (g === undefined || !clean) {
      skipped += 1;
      return;
    }
    out.push({ prompt: g.prompt, before: g.rewards, after: r.rewards });
  });
  return { groups: out, skipped, judgments };
}
