import { describe, expect, it } from 'vitest';
import { formatRelative, fromDateTimeLocal, timeAxisLabels, toDateTimeLocal, utcOffsetLabel } from './time';

describe('formatRelative', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['2026-03-01T12:00:00Z', 'just now'],
    ['2026-03-01T11:59:58Z', 'just now'],
    ['2026-03-01T11:59:48Z', '12 s ago'],
    ['2026-03-01T11:55:00Z', '5 min ago'],
    ['2026-03-01T09:00:00Z', '3 h ago'],
    ['2026-02-25T12:00:00Z', '4 d ago'],
    ['2026-03-01T12:10:00Z', 'in 10 min'],
  ])('%s reads "%s"', (t, text) => {
    expect(formatRelative(t, now)).toBe(text);
  });
});

describe('utcOffsetLabel', () => {
  it('names the offset in hours and minutes', () => {
    expect(utcOffsetLabel(new Date())).toMatch(/^UTC[+-]\d{2}:\d{2}$/);
  });
});

describe('datetime-local values', () => {
  it('round-trips to the minute in the local zone', () => {
    const t = new Date(2026, 2, 1, 14, 7).getTime();
    expect(toDateTimeLocal(t)).toBe('2026-03-01T14:07');
    expect(fromDateTimeLocal(toDateTimeLocal(t))).toBe(t);
    expect(fromDateTimeLocal('')).toBeNaN();
  });
});

describe('timeAxisLabels', () => {
  const at = (h: number, m = 0, day = 1) => new Date(2026, 2, day, h, m).getTime() / 1000;
  it('puts the date under the first tick of each day', () => {
    const labels = timeAxisLabels([at(22), at(23), at(0, 0, 2), at(1, 0, 2)], 3600);
    expect(labels[0]).toContain('\n');
    expect(labels[1]).not.toContain('\n');
    expect(labels[2]).toContain('\n');
    expect(labels[3]).not.toContain('\n');
  });
  it('shows only dates when ticks are days apart', () => {
    const labels = timeAxisLabels([at(0, 0, 1), at(0, 0, 2)], 86_400);
    expect(labels.every((l) => !l.includes(':'))).toBe(true);
  });
});
