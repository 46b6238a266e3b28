import { describe, expect, it } from 'vitest';
import { assessDevice, type GapSeries } from './early-warning.js';

const T0 = Date.UTC(2026, 0, 1);

/** A series from gaps alone: the first gap ends at T0 + gaps[0]; now is `openS` after the last beat. */
function series(gapsS: number[], { openS = 1, expectedIntervalS = null as number | null } = {}): GapSeries {
  const atMs: number[] = [];
  let t = T0;
  for (const g of gapsS) atMs.push((t += g * 1000));
  return { deviceId: 'd1', gapsS, atMs, nowMs: t + openS * 1000, expectedIntervalS };
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const steady = (n: number, s = 60) => Array.from({ length: n }, () => s);

describe('assessDevice', () => {
  it('judges nobody without a baseline: too few gaps and no expected interval', () => {
    expect(assessDevice(series([]))).toBeNull();
    const growing = Array.from({ length: 40 }, (_, i) => 60 + i * 20);
    expect(assessDevice(series(growing))).toBeNull(); // 10 older gaps < minBaselineGaps
    // With the interval it is configured for, the same gaps are judged, and flagged.
    expect(assessDevice(series(growing, { expectedIntervalS: 60 }))).not.toBeNull();
  });

  it('leaves a steady device alone, and one with a single missed beat or two', () => {
    expect(assessDevice(series(steady(150)))).toBeNull();
    const gaps = steady(150);
    gaps[140] = 120;
    gaps[146] = 180;
    expect(assessDevice(series(gaps))).toBeNull();
    // Silent for a while but nothing else wrong: one signal alone never flags.
    expect(assessDevice(series(steady(150), { openS: 3600 }))).toBeNull();
  });

  it('never flags noisy-but-healthy sensors: log-normal jitter around a stable mean, missed beats now and then', () => {
    const random = seeded(16);
    let flagged = 0;
    let looked = 0;
    for (let d = 0; d < 200; d++) {
      const base = [30, 60, 300][d % 3]!;
      const gaps = Array.from({ length: 600 }, () => base * Math.exp(normal(random) * 0.3) * (random() < 0.04 ? 2 : 1));
      for (let end = 150; end <= 600; end += 15) {
        const w = gaps.slice(end - 150, end);
        looked += 1;
        if (assessDevice(series(w, { openS: random() * base }))) flagged += 1;
      }
    }
    expect(looked).toBe(6200);
    expect(flagged).toBe(0);
  });

  it('flags gaps that grow, with the reason and when it began, before the device goes silent', () => {
    // 100 healthy minutes, then gaps growing from 60 s to about 300 s.
    const gaps = [...steady(100), ...Array.from({ length: 50 }, (_, i) => 60 + i * 5)];
    const s = series(gaps);
    const w = assessDevice(s);
    expect(w).not.toBeNull();
    expect(w!.deviceId).toBe('d1');
    expect(w!.score).toBeGreaterThanOrEqual(0.5);
    expect(w!.score).toBeLessThanOrEqual(1);
    expect(w!.reasons.join('; ')).toMatch(/gaps grew from 60 s to [45] min over [\d.]+ h \(EWMA [\d.]+× baseline 60 s\)/);
    expect(w!.reasons.join('; ')).toMatch(/of the last 30 heartbeats late/);
    const onsetMs = s.atMs[100]!;
    expect(w!.since).toBeGreaterThan(onsetMs);
    expect(w!.since).toBeLessThan(s.nowMs);
    // The input is left as it was (the medians work on a copy).
    expect(s.gapsS).toEqual(gaps);
  });

  it('flags irregular beats with a long open gap, and says how long it has been silent', () => {
    const random = seeded(3);
    const gaps = [...steady(120), ...Array.from({ length: 30 }, () => (random() < 0.5 ? 60 : 150))];
    const w = assessDevice(series(gaps, { openS: 600 }));
    expect(w).not.toBeNull();
    expect(w!.reasons.join('; ')).toMatch(/silent for 10 min \(10\.0× the usual 60 s\)/);
    // The same beats, just sent: less evidence, no warning.
    expect(assessDevice(series(gaps, { openS: 1 }))?.score ?? 0).toBeLessThan(w!.score);
  });

  it('survives junk: NaN, negative and zero gaps, arrays of different lengths', () => {
    const gaps = [...steady(140), NaN, -5, 0, 60, 60, Infinity, 60, 60, 60, 60];
    expect(() => assessDevice(series(gaps))).not.toThrow();
    expect(assessDevice({ ...series(steady(150)), atMs: [T0] })).toBeNull(); // one gap is no history
    expect(assessDevice(series(steady(150), { expectedIntervalS: 0 }))).toBeNull(); // 0: not configured, own baseline
    expect(assessDevice(series([NaN, NaN, ...steady(60).map(() => NaN)]))).toBeNull();
  });

  it('takes the threshold from the options', () => {
    const gaps = [...steady(120), ...Array.from({ length: 30 }, (_, i) => 60 + i * 3)];
    const w = assessDevice(series(gaps), { threshold: 0.1 });
    expect(w).not.toBeNull();
    expect(assessDevice(series(gaps), { threshold: Math.min(1, w!.score + 0.01) })).toBeNull();
  });
});
