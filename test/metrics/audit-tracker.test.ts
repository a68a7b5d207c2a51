/**
 * The judge-gap detector (src/metrics/audit/audit-tracker.ts) on planted traces: the gap between the training judge and
 * the auditors on the same videos, flat with noise (a healthy run, however the policy's quality moves), then widening
 * (a policy exploiting the training judge).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/common/rng.js';
import { AuditTracker, type AuditObservation, type AuditTrackerOptions } from '../../src/metrics/audit/index.js';

const OPTIONS: AuditTrackerOptions = { window: 10, tThreshold: 3, minGapRise: 0.1 };

/** An audited step whose auditors score `auditor` and whose training judge scores `proxy` on the same videos. */
const obs = (step: number, proxy: number | null, auditor: number): AuditObservation => ({
  step,
  groups: 2,
  auditors: { 'rm-v1': { score: auditor, agreement: 0.8, videos: 16, rmVersions: ['rm-v1'] } },
  fullView: null,
  proxy,
});

describe('AuditTracker (judge gap)', () => {
  it('stays quiet while both judges move together, however much the policy changes', () => {
    const rng = Rng.fromSeed(3);
    const t = new AuditTracker(OPTIONS);
    for (let step = 1; step <= 60; step++) {
      // Quality climbs 0.5 → 1.1 and both judges see it; they differ by a constant 0.06 plus noise.
      const quality = 0.5 + step * 0.01 + rng.normal() * 0.05;
      const r = t.observe(obs(step, quality + 0.06 + rng.normal() * 0.02, quality));
      expect(r.trips).toEqual([]);
      expect(r.divergence.value === null).toBe(step < OPTIONS.window);
    }
  });

  it('trips once when the training judge pays more and more than the auditors, and re-arms after', () => {
    const rng = Rng.fromSeed(4);
    const t = new AuditTracker(OPTIONS);
    const trips: number[] = [];
    const gapAt = (step: number): number => (step <= 15 ? 0.05 : step <= 30 ? 0.05 + (step - 15) * 0.03 : 0.5);
    for (let step = 1; step <= 60; step++) {
      const auditor = 0.8 + rng.normal() * 0.05;
      const r = t.observe(obs(step, auditor + gapAt(step) + rng.normal() * 0.02, auditor));
      expect(r.auditorScore).toBeCloseTo(auditor, 12);
      if (r.trips.length > 0) trips.push(step);
    }
    // The gap starts to widen after step 15: tripped within the window, once for the episode.
    expect(trips).toHaveLength(1);
    expect(trips[0]).toBeGreaterThan(15);
    expect(trips[0]).toBeLessThanOrEqual(25);
  });

  it('needs the minimum rise as well as the t-statistic', () => {
    const t = new AuditTracker({ ...OPTIONS, minGapRise: 1 });
    const reports = Array.from({ length: 20 }, (_, i) => t.observe(obs(i + 1, 0.9 + i * 0.02, 0.8)));
    expect(Math.max(...reports.map((r) => r.divergence.value ?? 0))).toBeGreaterThan(OPTIONS.tThreshold);
    expect(reports.flatMap((r) => r.trips)).toEqual([]);
  });

  it('skips steps without a proxy or an auditor score, and continues from its state', () => {
    const a = new AuditTracker(OPTIONS);
    const b0 = new AuditTracker(OPTIONS);
    for (let step = 1; step <= 8; step++) {
      a.observe(obs(step, 0.9 + step * 0.03, 0.8));
      b0.observe(obs(step, 0.9 + step * 0.03, 0.8));
    }
    expect(a.observe(obs(9, null, 0.8)).divergence.gap).toBeNull();
    const b = new AuditTracker(OPTIONS, JSON.parse(JSON.stringify(b0.state())) as ReturnType<AuditTracker['state']>);
    for (let step = 10; step <= 14; step++) expect(b.observe(obs(step, 0.9 + step * 0.03, 0.8))).toEqual(a.observe(obs(step, 0.9 + step * 0.03, 0.8)));
  });

  it('refuses bad options with INVALID_ARGUMENT', () => {
    expect(() => new AuditTracker({ ...OPTIONS, window: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new AuditTracker({ ...OPTIONS, tThreshold: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new AuditTracker({ ...OPTIONS, fullViewMinGap: -0.1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('AuditTracker (full-view gap)', () => {
  const FV: AuditTrackerOptions = { ...OPTIONS, fullViewMinGap: 0.05 };
  /** The training judge (thinking) scores `proxy`; the same judge shown every frame scores `full`; no auditors. */
  const fvObs = (step: number, proxy: number, full: number | null): AuditObservation => ({
    step,
    groups: 2,
    auditors: {},
    fullView: full === null ? null : { score: full, agreement: 0.8, videos: 16, rmVersions: ['rm-v3'] },
    proxy,
  });

  it('trips once when the thinking verdicts pay steadily more than the full view of the same videos, not before', () => {
    const rng = Rng.fromSeed(5);
    const t = new AuditTracker(FV);
    const trips: { step: number; detector: string }[] = [];
    for (let step = 1; step <= 40; step++) {
      // Quality wanders; the two views agree (±0.01) until step 12, then the thinking verdicts pay 0.1 more.
      const quality = 0.7 + rng.normal() * 0.1;
      const r = t.observe(fvObs(step, quality + (step > 12 ? 0.1 : 0) + rng.normal() * 0.01, quality));
      expect(r.fullViewGap.value === null).toBe(step < FV.window);
      trips.push(...r.trips.map((x) => ({ step: x.step, detector: x.detector })));
    }
    expect(trips).toHaveLength(1);
    expect(trips[0]?.detector).toBe('proxy_fullview_gap');
    expect(trips[0]?.step).toBeGreaterThan(12);
    expect(trips[0]?.step).toBeLessThanOrEqual(22);
  });

  it('stays quiet on a steady gap below the minimum, a gap within noise, or when off', () => {
    const rng = Rng.fromSeed(6);
    const small = new AuditTracker(FV);
    const noisy = new AuditTracker(FV);
    const off = new AuditTracker(OPTIONS);
    for (let step = 1; step <= 40; step++) {
      const q = 0.7 + rng.normal() * 0.1;
      expect(small.observe(fvObs(step, q + 0.03, q)).trips).toEqual([]);
      // Mean 0.06 but swinging ±0.5: never 2.5 standard errors above 0 over 10 steps.
      expect(noisy.observe(fvObs(step, q + 0.06 + (step % 2 === 0 ? 0.5 : -0.5), q)).trips).toEqual([]);
      const r = off.observe(fvObs(step, q + 0.2, q));
      expect(r.trips).toEqual([]);
      expect(r.fullViewGap.value).toBeNull();
    }
  });

  it('continues from its state, and reads a checkpoint from before it', () => {
    const a = new AuditTracker(FV);
    const b0 = new AuditTracker(FV);
    for (let step = 1; step <= 8; step++) {
      a.observe(fvObs(step, 0.8 + (step % 3) * 0.01, 0.7));
      b0.observe(fvObs(step, 0.8 + (step % 3) * 0.01, 0.7));
    }
    const b = new AuditTracker(FV, JSON.parse(JSON.stringify(b0.state())) as ReturnType<AuditTracker['state']>);
    for (let step = 9; step <= 14; step++) expect(b.observe(fvObs(step, 0.8, 0.7))).toEqual(a.observe(fvObs(step, 0.8, 0.7)));
    const old = new AuditTracker(FV, { points: [], armed: true });
    expect(old.observe(fvObs(1, 0.8, 0.7)).fullViewGap.gap).toBeCloseTo(0.1, 12);
  });
});
