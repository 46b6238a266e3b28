import { describe, expect, it } from 'vitest';
import { downtimeS, histogramQuantile, kaplanMeier, medianSurvival, snapThreshold } from './health-stats.js';
import { GAP_BUCKETS, HEARTBEAT_GAP_BOUNDS } from './health.repository.js';

const hist = (entries: Record<number, number>) => Array.from({ length: GAP_BUCKETS }, (_, i) => entries[i] ?? 0);

describe('Kaplan–Meier', () => {
  it('matches a hand-computed example with censoring and ties', () => {
    // Lifespans (days), + censored: 1, 2+, 3, 3, 4+, 5.
    // t=1: 6 at risk, 1 ends → 5/6. 2+ leaves. t=3: 4 at risk, 2 end → 5/6·2/4 = 5/12. 4+ leaves. t=5: 1 at risk, 1 ends → 0.
    const curve = kaplanMeier([
      { days: 1, ended: true },
      { days: 2, ended: false },
      { days: 3, ended: true },
      { days: 3, ended: true },
      { days: 4, ended: false },
      { days: 5, ended: true },
    ]);
    expect(curve.map((p) => [p.days, p.atRisk, p.ended])).toEqual([
      [0, 6, 0],
      [1, 6, 1],
      [3, 4, 2],
      [5, 1, 1],
    ]);
    expect(curve.map((p) => p.survival)).toEqual([1, expect.closeTo(5 / 6, 12), expect.closeTo(5 / 12, 12), 0]);
    expect(medianSurvival(curve)).toBe(3);
  });

  it('never drops while every device is censored', () => {
    const curve = kaplanMeier([
      { days: 1, ended: false },
      { days: 2, ended: false },
    ]);
    expect(curve).toEqual([{ days: 0, survival: 1, atRisk: 2, ended: 0, censored: 0 }]);
    expect(medianSurvival(curve)).toBeNull();
  });
});

describe('histogram quantiles', () => {
  it('falls in the bucket of the rank and never above the largest gap', () => {
    const i60 = HEARTBEAT_GAP_BOUNDS.indexOf(60) + 1; // [60, 90)
    const h = hist({ [i60]: 90, [i60 + 3]: 10 }); // 90 gaps in [60, 90), 10 in [180, 300)
    const median = histogramQuantile(h, 0.5, 200)!;
    expect(median).toBeGreaterThanOrEqual(60);
    expect(median).toBeLessThan(90);
    expect(histogramQuantile(h, 0.95, 200)).toBeLessThanOrEqual(200);
    expect(histogramQuantile(h, 0.95, 200)).toBeGreaterThanOrEqual(180);
    expect(histogramQuantile(hist({}), 0.5, null)).toBeNull();
  });
});

describe('uptime', () => {
  it('counts the part of long gaps beyond the threshold, and of the open gap', () => {
    expect(snapThreshold(100)).toBe(120);
    const i600 = HEARTBEAT_GAP_BOUNDS.indexOf(600) + 1; // [600, 900)
    const h = hist({ [i600]: 2 });
    const sums = Array.from({ length: GAP_BUCKETS }, (_, i) => (i === i600 ? 1500 : 0)); // gaps of 700 and 800 s
    expect(downtimeS(h, sums, 600, 0)).toBe(100 + 200);
    expect(downtimeS(h, sums, 600, 1000)).toBe(300 + 400);
    expect(downtimeS(h, sums, 900, 0)).toBe(0);
  });
});
