import { describe, expect, it } from 'vitest';
import { resolveRange } from '../../lib/telemetry-range';
import { MAX_TRACK, trackBucket, trackQuery } from './track-range';

describe('track ranges', () => {
  it('reads every fix up to an hour, then at most MAX_TRACK buckets', () => {
    expect(trackBucket(3_600_000)).toBeNull();
    expect(trackBucket(86_400_000)).toBe(60);
    expect(trackBucket(7 * 86_400_000)).toBe(900);
    expect(trackBucket(3650 * 86_400_000)).toBe(86_400);
    for (const days of [1, 2, 7, 30, 90, 365]) expect((days * 86_400) / trackBucket(days * 86_400_000)!).toBeLessThanOrEqual(MAX_TRACK);
  });

  it('asks a custom window with both ends, a live one open-ended', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(trackQuery(resolveRange({ kind: 'preset', preset: '24h' }, now))).toEqual({ from: '2026-02-28T12:00:00.000Z', limit: MAX_TRACK, interval: '1m' });
    expect(trackQuery(resolveRange({ kind: 'custom', from: now - 600_000, to: now }, now))).toEqual({
      from: '2026-03-01T11:50:00.000Z',
      to: '2026-03-01T12:00:00.000Z',
      limit: MAX_TRACK,
    });
  });
});
