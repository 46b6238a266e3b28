import { describe, expect, it } from 'vitest';
import { bucketLabel, formatDays, formatDuration, formatShare, formatSpan, trimHistogram } from './health';

describe('bucketLabel', () => {
  it.each([
    [{ fromS: 0, toS: 1 }, 'under 1 s'],
    [{ fromS: 5, toS: 10 }, '5–10 s'],
    [{ fromS: 45, toS: 60 }, '45 s–1 min'],
    [{ fromS: 60, toS: 90 }, '1–1.5 min'],
    [{ fromS: 60, toS: 120 }, '1–2 min'],
    [{ fromS: 300, toS: 450 }, '5–7.5 min'],
    [{ fromS: 2700, toS: 3600 }, '45 min–1 h'],
    [{ fromS: 14400, toS: 43200 }, '4–12 h'],
    [{ fromS: 43200, toS: 86400 }, '12 h–1 d'],
    [{ fromS: 86400, toS: null }, 'over 1 d'],
  ])('%o reads "%s"', (b, text) => {
    expect(bucketLabel(b)).toBe(text);
  });
});

describe('formatting', () => {
  it('gives durations a unit that keeps the number short', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(62.34)).toBe('62.3 s');
    expect(formatDuration(246)).toBe('4.1 min');
    expect(formatDuration(12_600)).toBe('3.5 h');
    expect(formatDuration(3 * 86400)).toBe('3 d');
    expect(formatSpan(450)).toBe('7.5 min');
  });
  it('gives lifespans in days, hours under a day', () => {
    expect(formatDays(12.53)).toBe('12.5 days');
    expect(formatDays(1)).toBe('1 day');
    expect(formatDays(0.25)).toBe('6 h');
    expect(formatDays(null)).toBe('—');
  });
  it('gives shares as percentages, a dash with nothing counted', () => {
    expect(formatShare(0.125)).toBe('12.5 %');
    expect(formatShare(0)).toBe('0 %');
    expect(formatShare(null)).toBe('—');
  });
});

describe('trimHistogram', () => {
  it('drops the empty buckets at both ends and keeps the empty ones between', () => {
    const h = [
      { fromS: 0, toS: 1, count: 0 },
      { fromS: 1, toS: 2, count: 3 },
      { fromS: 2, toS: 5, count: 0 },
      { fromS: 5, toS: 10, count: 1 },
      { fromS: 10, toS: null, count: 0 },
    ];
    expect(trimHistogram(h).map((b) => b.fromS)).toEqual([1, 2, 5]);
    expect(trimHistogram(h.map((b) => ({ ...b, count: 0 })))).toEqual([]);
  });
});
