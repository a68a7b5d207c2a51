/**
 * Calibrated RM swaps (src/coordinator/reward-calibrator.ts): the map fitted on the anchor set and the recent groups
 * judged by the old and the new version brings the new version's rewards onto the old scale (per prompt for the recent
 * groups' prompts), fades to the identity, and survives a checkpoint.
 */
import { describe, expect, it } from 'vitest';
import type { ShadowGroup } from '../../src/coordinator/recent-groups.js';
import { RewardCalibrator, type AnchorRejudge } from '../../src/coordinator/reward-calibrator.js';
import type { AnchorPass } from '../../src/metrics/drift/index.js';

const pass = (step: number, version: string, combined: readonly number[]): AnchorPass => ({
  step,
  rmVersions: [version],
  videoIds: combined.map((_, i) => `a${i}`),
  scores: { combined },
  means: { combined: combined.reduce((s, x) => s + x, 0) / combined.length },
  judgments: combined.length,
  failedJudgments: 0,
});

// The new version scores the same 16 anchors at 0.5·old + 0.2: a compressed, shifted scale.
const OLD = Array.from({ length: 16 }, (_, i) => 0.3 + i * 0.04);
const NEW = OLD.map((x) => 0.5 * x + 0.2);
const SWAP: AnchorRejudge = { before: pass(25, 'rm-v2', OLD), after: pass(30, 'rm-v1', NEW) };

describe('RewardCalibrator', () => {
  for (const method of ['quantile', 'affine'] as const) {
    it(`${method}: maps the new version's rewards onto the old scale, then fades to the identity`, () => {
      const c = new RewardCalibrator({ method, decayJudgments: 100, promptFits: true });
      const outcome = c.swapped(SWAP);
      expect(outcome).toMatchObject({ applied: true, anchors: 16 });
      expect(c.active).toBe(true);
      // Inside the anchors' range the map inverts the new scale; NaN (masked) stays NaN and is not counted.
      const mapped = c.map([0.5 * 0.5 + 0.2, Number.NaN, 0.5 * 0.7 + 0.2]);
      expect(mapped[0]).toBeCloseTo(0.5, 6);
      expect(mapped[1]).toBeNaN();
      expect(mapped[2]).toBeCloseTo(0.7, 6);
      // 2 judged so far; after 100 the map is gone.
      const half = c.map(Array.from({ length: 48 }, () => 0.45));
      expect(half[0]).toBeGreaterThan(0.45);
      c.map(Array.from({ length: 50 }, () => 0.45));
      expect(c.active).toBe(false);
      expect(c.map([0.45])[0]).toBeCloseTo(0.45, 12);
    });
  }

  it('maps only the groups judged by the version it was fitted for (a swap landing mid-step leaves old-version groups alone)', () => {
    const c = new RewardCalibrator({ method: 'quantile', decayJudgments: 100, promptFits: true });
    c.swapped(SWAP, ['rm-v1']);
    expect(c.appliesTo(['rm-v1'])).toBe(true);
    expect(c.appliesTo(['rm-v2'])).toBe(false);
    const restored = new RewardCalibrator({ method: 'quantile', decayJudgments: 100, promptFits: true }, JSON.parse(JSON.stringify(c.state())) as unknown);
    expect(restored.appliesTo(['rm-v2'])).toBe(false);
    expect(restored.appliesTo(['rm-v1'])).toBe(true);
  });

  it('does not calibrate without both passes or on degenerate anchors, and says why', () => {
    const c = new RewardCalibrator({ method: 'quantile', decayJudgments: 100, promptFits: true });
    expect(c.swapped(null)).toMatchObject({ applied: false });
    expect(c.active).toBe(false);
    expect(c.map([0.3])).toEqual([0.3]);
    const few = c.swapped({ before: pass(1, 'rm-v2', [0.1, 0.2]), after: pass(2, 'rm-v1', [0.3, 0.4]) });
    expect(few.applied).toBe(false);
    if (!few.applied) expect(few.reason).toMatch(/pairs|points/);
  });

  it('continues from a saved state (a retried step, a resumed run)', () => {
    const a = new RewardCalibrator({ method: 'quantile', decayJudgments: 100, promptFits: true });
    a.swapped(SWAP);
    a.map(Array.from({ length: 30 }, () => 0.5));
    const saved = JSON.parse(JSON.stringify(a.state())) as unknown;
    const b = new RewardCalibrator({ method: 'quantile', decayJudgments: 100, promptFits: true }, saved);
    const probe = [0.35, 0.42, 0.49];
    expect(b.map(probe)).toEqual(a.map(probe));
    b.restore(null);
    expect(b.active).toBe(false);
    expect(() => b.restore({ calibration: {}, judged: -1 })).toThrow();
  });

  it("fits per prompt what the global map leaves: each recent group's prompt gets its old level and spread back", () => {
    // The new judge is 0.1 harsher on prompt A and 0.1 kinder on prompt B, and spreads B's videos twice as wide: a
    // global map (pooled over both) cannot see either.
    const oldA = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85];
    const oldB = [0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.54];
    const shadow: ShadowGroup[] = [
      { prompt: 'A', before: oldA, after: oldA.map((x) => x - 0.1) },
      { prompt: 'B', before: oldB, after: oldB.map((x) => 0.47 + 2 * (x - 0.47) + 0.1) },
    ];
    const c = new RewardCalibrator({ method: 'quantile', decayJudgments: 1_000_000, promptFits: true });
    const outcome = c.swapped(null, ['rm-v1'], shadow);
    expect(outcome).toMatchObject({ applied: true, anchors: 0, shadowGroups: 2, shadowVideos: 16, promptFits: 2 });
    const a = c.map([0.6 - 0.1, 0.7 - 0.1], 'A');
    expect(a[0]).toBeCloseTo(0.6, 2);
    expect(a[1]).toBeCloseTo(0.7, 2);
    const b = c.map([0.47 + 2 * (0.44 - 0.47) + 0.1, 0.47 + 2 * (0.52 - 0.47) + 0.1], 'B');
    expect(b[0]).toBeCloseTo(0.44, 2);
    expect(b[1]).toBeCloseTo(0.52, 2);
    // A prompt without a recent group gets the global map only; the fits ride in the saved state.
    const other = c.map([0.6], 'C')[0] ?? NaN;
    expect(Math.abs(other - (c.map([0.6], 'A')[0] ?? NaN))).toBeGreaterThan(0.01);
    const restored = new RewardCalibrator(
      { method: 'quantile', decayJudgments: 1_000_000, promptFits: true },
      JSON.parse(JSON.stringify(c.state())) as unknown,
    );
    expect(restored.map([0.5], 'A')).toEqual(c.map([0.5], 'A'));
    // promptFits off: the same groups only add points to the one global map, the same for every prompt.
    const global = new RewardCalibrator({ method: 'quantile', decayJudgments: 1_000_000, promptFits: false });
    expect(global.swapped(null, ['rm-v1'], shadow)).toMatchObject({ applied: true, shadowGroups: 2, shadowVideos: 16, promptFits: 0 });
    const g = global.map([0.6], 'A')[0] ?? NaN;
    expect(global.map([0.6], 'C')[0]).toBeCloseTo(g, 5); // (the fade moves on by one judgment)
    expect(g).toBeCloseTo(other, 5);
  });

  it('a prompt the old version scored flat (all videos at the top of its scale) maps flat, and the fit survives a checkpoint', () => {
    // The old version gave all eight 1.0 (no differences); the new one sees some. The prompt's fit has scale 0: the
    // new version's differences there do not become advantages against the old, flat history.
    const shadow: ShadowGroup[] = [
      { prompt: 'A', before: Array.from({ length: 8 }, () => 1), after: [0.9, 0.92, 0.95, 0.97, 1, 1, 0.99, 0.98] },
      { prompt: 'B', before: OLD.slice(0, 8), after: NEW.slice(0, 8) },
    ];
    const c = new RewardCalibrator({ method: 'affine', decayJudgments: 1_000_000, promptFits: true });
    expect(c.swapped(null, ['rm-v1'], shadow)).toMatchObject({ applied: true, promptFits: 2 });
    const mapped = c.map([0.88, 0.96, 1], 'A');
    expect(new Set(mapped).size).toBe(1);
    expect(mapped[0]).toBeCloseTo(1, 2);
    const restored = new RewardCalibrator({ method: 'affine', decayJudgments: 1_000_000, promptFits: true }, JSON.parse(JSON.stringify(c.state())) as unknown);
    expect(restored.map([0.88, 0.96], 'A')).toEqual(c.map([0.88, 0.96], 'A'));
  });

  it('pools the anchors and the recent groups, and fits on recent groups alone when there are no anchor passes', () => {
    const c = new RewardCalibrator({ method: 'affine', decayJudgments: 100, promptFits: true });
    const shadow: ShadowGroup[] = [{ prompt: 'A', before: OLD.slice(0, 8), after: NEW.slice(0, 8) }];
    expect(c.swapped(SWAP, ['rm-v1'], shadow)).toMatchObject({ applied: true, anchors: 16, shadowVideos: 8 });
    expect(c.map([0.5 * 0.5 + 0.2])[0]).toBeCloseTo(0.5, 6);
    const none = c.swapped(null, ['rm-v1'], []);
    expect(none.applied).toBe(false);
    if (!none.applied) expect(none.reason).toMatch(/no videos judged by both/);
    expect(c.active).toBe(false);
  });
});
