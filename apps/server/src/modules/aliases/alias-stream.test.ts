import { describe, expect, it } from 'vitest';
import { combineBucket, slicesOf } from './alias-stream.js';

const taps = [
  { startsAt: 100, deviceId: 'a', key: 't' },
  { startsAt: 200, deviceId: 'b', key: 't' },
  { startsAt: 300, deviceId: null, key: 't' },
  { startsAt: 400, deviceId: 'c', key: 'u' },
];

describe('slicesOf', () => {
  it('gives each tap the range up to the next start (excluded), the last one up to `to` (included)', () => {
    expect(slicesOf(taps, 0, 1000)).toEqual([
      { deviceId: 'a', key: 't', from: 100, to: 200, toInclusive: false },
      { deviceId: 'b', key: 't', from: 200, to: 300, toInclusive: false },
      { deviceId: 'c', key: 'u', from: 400, to: 1000, toInclusive: true },
    ]);
  });

  it('cuts the slices to the range, and a range ending on a start includes that instant in the new tap only', () => {
    expect(slicesOf(taps, 150, 200)).toEqual([
      { deviceId: 'a', key: 't', from: 150, to: 200, toInclusive: false },
      { deviceId: 'b', key: 't', from: 200, to: 200, toInclusive: true },
    ]);
    expect(slicesOf(taps, 250, 260)).toEqual([{ deviceId: 'b', key: 't', from: 250, to: 260, toInclusive: true }]);
    // Before the first tap, and in a deleted device's stretch, nothing.
    expect(slicesOf(taps, 0, 99)).toEqual([]);
    expect(slicesOf(taps, 300, 399)).toEqual([]);
  });
});

describe('combineBucket', () => {
  const parts = [
    { ts: 'x', value: 10, count: 1 },
    { ts: 'x', value: 40, count: 3 },
  ];
  it('adds sums and counts, compares min and max, takes the newest last, weighs avg by points', () => {
    expect(combineBucket('sum', parts)).toBe(50);
    expect(combineBucket('count', parts)).toBe(50);
    expect(combineBucket('min', parts)).toBe(10);
    expect(combineBucket('max', parts)).toBe(40);
    expect(combineBucket('last', parts)).toBe(40);
    expect(combineBucket('avg', parts)).toBe((10 + 120) / 4);
  });

  it('skips parts without a number', () => {
    const some = [
      { ts: 'x', value: 7, count: 2 },
      { ts: 'x', value: null },
    ];
    expect(combineBucket('avg', some)).toBe(7);
    expect(combineBucket('last', some)).toBe(7);
    expect(combineBucket('max', [{ ts: 'x', value: null }])).toBeNull();
  });
});
