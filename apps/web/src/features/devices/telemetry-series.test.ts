import { describe, expect, it } from 'vitest';
import { lastValue, mergePoints, seriesFromHistory, toNumber, trimBefore, yRangeWithin } from './telemetry-series';

const iso = (s: number) => new Date(s * 1000).toISOString();

describe('telemetry series', () => {
  it('charts numbers and booleans, not text', () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber(true)).toBe(1);
    expect(toNumber('1.5')).toBeNull();
    const s = seriesFromHistory({
      temperature: [
        { ts: iso(10), value: 20 },
        { ts: iso(20), value: 21 },
      ],
      state: [{ ts: iso(10), value: 'idle' }],
      empty: [],
    });
    expect([...s.keys()]).toEqual(['temperature', 'empty']);
    expect(s.get('temperature')).toEqual({ key: 'temperature', xs: [10, 20], ys: [20, 21] });
  });

  it('merges live points in order, replacing a duplicate, and adds new keys', () => {
    const s = seriesFromHistory({
      t: [
        { ts: iso(10), value: 1 },
        { ts: iso(30), value: 3 },
      ],
    });
    const changed = mergePoints(s, [
      { key: 't', ts: iso(40), value: 4 },
      { key: 't', ts: iso(20), value: 2 },
      { key: 't', ts: iso(30), value: 33 },
      { key: 'h', ts: iso(40), value: 50 },
      { key: 'note', ts: iso(40), value: 'text' },
    ]);
    expect(changed.sort()).toEqual(['h', 't']);
    expect(s.get('t')).toEqual({ key: 't', xs: [10, 20, 30, 40], ys: [1, 2, 33, 4] });
    expect(s.get('h')!.xs).toEqual([40]);
    expect(lastValue(s.get('t')!)).toEqual({ x: 40, y: 4 });
  });

  it('drops points that slid out of the window', () => {
    const s = seriesFromHistory({ t: [10, 20, 30].map((x) => ({ ts: iso(x), value: x })) });
    trimBefore(s, 20);
    expect(s.get('t')).toEqual({ key: 't', xs: [20, 30], ys: [20, 30] });
  });
});

describe('yRangeWithin', () => {
  it('shows the display range, widened to readings outside it', () => {
    expect(yRangeWithin({ min: 0, max: 10 }, 2, 3)).toEqual([0, 10]);
    expect(yRangeWithin({ min: 0, max: 10 }, -1, 12.5)).toEqual([-1, 12.5]);
    expect(yRangeWithin({ min: 0, max: 10 }, null, null)).toEqual([0, 10]);
  });
  it('takes the other end from the data when the template names one end', () => {
    expect(yRangeWithin({ max: 100 }, 20, 30)).toEqual([20, 100]);
    expect(yRangeWithin({ max: 100 }, null, null)).toEqual([0, 100]);
    expect(yRangeWithin({ min: 5 }, 6, 9)).toEqual([5, 9]);
    expect(yRangeWithin({ min: 5 }, null, null)).toEqual([5, 6]);
  });
});
