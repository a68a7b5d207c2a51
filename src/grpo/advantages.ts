/**
 * Group-relative advantages (GRPO): A = (r − mean)/(std + ε), with the std taken over the group, the whole batch, or
 * not at all (Dr. GRPO: centring only), optionally from a per-prompt stat tracker, then clipped. Masked videos (failed
 * judgments) carry NaN rewards: they get no advantage and do not enter the statistics; a group with fewer than
 * `minValid` valid videos is dropped.
 */

export type StdScope = 'group' | 'batch' | 'none';

export interface AdvantageOptions {
  /** Where the std comes from. Default 'group'. */
  readonly std: StdScope;
  /** Added to the std. Default 1e-4. */
  readonly epsilon: number;
  /** Advantages are clamped to ±clip. Default 5. */
  readonly clip: number;
  /** Groups with fewer valid rewards are dropped. Default 2. */
  readonly minValid: number;
}

export const DEFAULT_ADVANTAGE_OPTIONS: AdvantageOptions = Object.freeze({ std: 'group', epsilon: 1e-4, clip: 5, minValid: 2 });

export interface GroupAdvantages {
  /** Per group, per member: the advantage, or null when masked or the group was dropped. */
  readonly advantages: readonly (readonly (number | null)[])[];
  /** Indices of groups dropped for too few valid rewards. */
  readonly droppedGroups: readonly number[];
  /** Groups (kept) whose rewards were all equal: their advantages are 0. */
  readonly zeroStdGroups: number;
  readonly maskedVideos: number;
}

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
/** Population standard deviation. */
export const std = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

const valid = (r: number): boolean => Number.isFinite(r);

export function groupAdvantages(rewards: readonly (readonly number[])[], options: Partial<AdvantageOptions> = {}): GroupAdvantages {
  const o = { ...DEFAULT_ADVANTAGE_OPTIONS, ...options };
  const dropped: number[] = [];
  let masked = 0;
  const kept = rewards.map((g, i) => {
    const v = g.filter(valid);
    masked += g.length - v.length;
    if (v.length < o.minValid) dropped.push(i);
    return v.length >= o.minValid;
  });
  const batchValues = rewards.flatMap((g, i) => (kept[i] === true ? g.filter(valid) : []));
  const batchStd = std(batchValues);
  let zeroStd = 0;
  const advantages = rewards.map((g, i) => {
    if (kept[i] !== true) return g.map(() => null);
    const v = g.filter(valid);
    const m = mean(v);
    const s = std(v);
    if (s === 0) zeroStd += 1;
    const scale = o.std === 'group' ? s + o.epsilon : o.std === 'batch' ? batchStd + o.epsilon : 1;
    return g.map((r) => (valid(r) ? Math.max(-o.clip, Math.min(o.clip, (r - m) / scale)) : null));
  });
  return { advantages, droppedGroups: dropped, zeroStdGroups: zeroStd, maskedVideos: masked };
}
